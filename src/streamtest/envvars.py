"""The environment variables streamtest reads, in one place.

One name is documented for each setting; the other spelling people type is
accepted too, so ``STREAMTEST_BOOTSTRAP_SERVERS`` (librdkafka's plural, which the
plugin once documented) works wherever ``STREAMTEST_BOOTSTRAP_SERVER`` (the name
of Kafka's ``--bootstrap-server`` option) does. Setting both to different values
is an error rather than a silent choice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: The documented name, after Kafka's ``--bootstrap-server``.
BOOTSTRAP_SERVER = "STREAMTEST_BOOTSTRAP_SERVER"
#: Accepted as well (librdkafka's ``bootstrap.servers``).
BOOTSTRAP_SERVERS = "STREAMTEST_BOOTSTRAP_SERVERS"


def bootstrap_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """Return the bootstrap servers set in the environment, or ``None``.

    Raises:
        ValueError: both spellings are set, to different values.
    """
    env = os.environ if environ is None else environ
    one = (env.get(BOOTSTRAP_SERVER) or "").strip()
    other = (env.get(BOOTSTRAP_SERVERS) or "").strip()
    if one and other and one != other:
        raise ValueError(
            f"{BOOTSTRAP_SERVER}={one} and {BOOTSTRAP_SERVERS}={other} disagree; set one"
        )
    return one or other or None
