"""Background warm-up of the codec for the API versions clients use most.

kio defines one module per message and version; importing one and building its
reader costs a few milliseconds the first time, and a fresh process pays that on
the first request of each kind: a new consumer's first Fetch took ~25 ms instead of
~1 ms. After the broker starts listening, this task loads those schemas one at a
time, and only while the broker is idle (no request for ``IDLE_SECONDS``): a client
that starts talking at once is never made to wait behind the warm-up, and one that
pauses (a test between steps, librdkafka between its timers) finds the decoders
ready.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ..protocol import codec
from .dispatch import REGISTRY

log = logging.getLogger("streamtest.broker")

#: (api_key, version) pairs seen from librdkafka 2.16, kafka-python 3 and aiokafka
#: 0.12 on a produce/consume/group round (see the closing note of issue 2). Other
#: APIs and versions load on first use, as before; warming all 185 would take
#: ~850 ms of CPU.
# librdkafka's come first, in the order a new consumer sends them.
POPULAR: tuple[tuple[int, int], ...] = (
    # librdkafka 2.16: connect, group (classic and KIP-848), offsets, fetch, admin
    (18, 3), (3, 12), (10, 2), (68, 1), (11, 5), (14, 3), (12, 3), (9, 9), (2, 7),
    (1, 16), (8, 9), (13, 1), (22, 4), (19, 7), (20, 6), (32, 4), (60, 1), (69, 1),
    # kafka-python 3
    (18, 4), (10, 6), (11, 7), (14, 5), (13, 5), (9, 8), (8, 8), (2, 9), (1, 12),
    # aiokafka 0.12
    (18, 0), (3, 1), (3, 0), (10, 1), (9, 1), (8, 2), (2, 1), (1, 4), (19, 4),
)  # fmt: skip


def pairs_to_warm() -> list[tuple[int, int]]:
    """Return the (api_key, version) pairs to load, most used first."""
    wanted = list(POPULAR)
    out: list[tuple[int, int]] = []
    for key, version in wanted:
        spec = REGISTRY.get(key)
        if spec is None or spec.raw or not spec.min_version <= version <= spec.max_version:
            continue
        if (key, version) not in out:
            out.append((key, version))
    return out


#: How long the broker must have seen no request before a warm-up step runs.
IDLE_SECONDS = 0.02


async def warm_up(last_activity: Callable[[], float]) -> None:
    """Load request readers and response builders one by one while idle.

    ``last_activity`` returns the ``time.monotonic()`` of the latest request.
    """
    # Request and response are separate steps: the longer a step, the longer a
    # request that arrives during it waits.
    steps = [(k, v, response) for k, v in pairs_to_warm() for response in (False, True)]
    for key, version, response in steps:
        while (quiet := time.monotonic() - last_activity()) < IDLE_SECONDS:
            await asyncio.sleep(IDLE_SECONDS - quiet)
        try:
            codec.warm(key, version, response)
        except LookupError:
            log.debug("no kio schema for api_key=%s v%s", key, version)
        await asyncio.sleep(0)
