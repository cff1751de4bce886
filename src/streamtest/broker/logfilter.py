"""Rate-limited logging of closed connections.

Every malformed request closes its connection with one WARNING line naming the
problem (``server.py``). A client in a loop, or a fuzzer, can send thousands a
second; the log must stay readable and cheap. :class:`RateLimit` lets the first
``burst`` such lines through in each ``period`` seconds and counts the rest; the
first line let through after a quiet spell says how many were dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

#: The messages that are limited (their format string starts like this).
LIMITED_PREFIXES = ("closing connection",)


class RateLimit(logging.Filter):
    """A logging filter passing at most ``burst`` limited records per ``period``.

    Args:
        burst: records let through per period.
        period: seconds.
        clock: monotonic seconds (for tests).
    """

    def __init__(
        self, burst: int = 10, period: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.period = period
        self.clock = clock
        self._window_start = -float("inf")
        self._passed = 0
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether ``record`` is logged (unlimited messages always are)."""
        if not isinstance(record.msg, str) or not record.msg.startswith(LIMITED_PREFIXES):
            return True
        now = self.clock()
        if now - self._window_start >= self.period:
            self._window_start = now
            self._passed = 0
        if self._passed >= self.burst:
            self.suppressed += 1
            return False
        self._passed += 1
        if self.suppressed:
            record.msg = f"{record.msg} (%d similar lines suppressed)"
            record.args = (*(record.args or ()), self.suppressed)  # type: ignore[misc]
            self.suppressed = 0
        return True


def install(logger_name: str = "streamtest.broker") -> RateLimit:
    """Attach one :class:`RateLimit` to ``logger_name`` (once) and return it."""
    logger = logging.getLogger(logger_name)
    for existing in logger.filters:
        if isinstance(existing, RateLimit):
            return existing
    limit = RateLimit()
    logger.addFilter(limit)
    return limit
