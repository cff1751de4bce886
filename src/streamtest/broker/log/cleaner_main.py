"""Entry point of the cleaner process: ``python -m streamtest.broker.log.cleaner_main
<command fd> <result fd>`` (see ``cleaner_worker``). A module of its own, so that
running it does not import the worker module twice."""

from __future__ import annotations

import sys

from .cleaner_worker import main

if __name__ == "__main__":
    main(sys.argv[1:])
