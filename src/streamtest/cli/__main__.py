"""Allow ``python -m streamtest.cli``."""

from . import main

main()
