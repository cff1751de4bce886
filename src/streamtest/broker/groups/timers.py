"""Timers on the broker's event loop that can all be cancelled at once.

Session timeouts, rebalance timeouts and the offset-expiry sweep are loop
timers (``loop.call_later``). The group coordinator creates them through
:class:`Timers` so that :meth:`Timers.cancel_all` on broker stop leaves nothing
behind that could fire on a closed loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class Timers:
    """Tracks the coordinator's pending timer handles."""

    def __init__(self) -> None:
        self._handles: set[asyncio.TimerHandle] = set()
        self.stopped = False

    def call_later(self, seconds: float, fn: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        """Run ``fn(*args)`` after ``seconds`` on the running loop; return the handle.

        Raises:
            RuntimeError: called outside the broker's event loop.
        """
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._handles.discard(handle)
            if not self.stopped:
                fn(*args)

        handle = loop.call_later(max(seconds, 0.0), fire)
        self._handles.add(handle)
        return handle

    def cancel(self, handle: asyncio.TimerHandle | None) -> None:
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
