"""Timers on the broker's event loop that can all be cancelled at once.

Session timeouts, rebalance timeouts and the offset-expiry sweep are timers of
the cluster's clock (``clock.py``: the loop's, or a manual clock in tests). The
group coordinator creates them through :class:`Timers` so that
:meth:`Timers.cancel_all` on broker stop leaves nothing behind that could fire
on a closed loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..clock import Clock, RealClock, TimerHandle


class Timers:
    """Tracks the coordinator's pending timer handles.

    Args:
        clock: schedules the timers (a real clock by default).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or RealClock()
        self._handles: set[TimerHandle] = set()
        self.stopped = False

    def call_later(self, seconds: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run ``fn(*args)`` after ``seconds`` of the clock; return the handle.

        Raises:
            RuntimeError: called outside the broker's event loop (real clock).
        """
        handle: TimerHandle

        def fire() -> None:
            self._handles.discard(handle)
            if not self.stopped:
                fn(*args)

        handle = self.clock.call_later(max(seconds, 0.0), fire)
        self._handles.add(handle)
        return handle

    def cancel(self, handle: TimerHandle | None) -> None:
        """Cancel ``handle`` (``None`` or an already-fired handle is a no-op)."""
        if handle is not None:
            handle.cancel()
            self._handles.discard(handle)

    def cancel_all(self) -> None:
        """Cancel every pending timer and refuse to fire any more."""
        self.stopped = True
        for handle in list(self._handles):
            handle.cancel()
        self._handles.clear()

    def __len__(self) -> int:
        return len(self._handles)
