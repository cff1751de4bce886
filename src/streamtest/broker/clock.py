"""Time for every timer in the broker: the real clock, or a manual one for tests.

Kafka's own tests run brokers on ``MockTime`` so that session timeouts, retention
and delayed operations can be tested without waiting. streamtest does the same:
every component that reads the time or schedules a timer takes a :class:`Clock`
instead of calling ``time`` or ``loop.call_later`` itself.

* :class:`RealClock` reads the system clocks and schedules on the running loop.
* :class:`ManualClock` moves only when :meth:`ManualClock.advance` is called (on
  the broker's loop). Timers that fall due fire in deadline order, each one with
  the clock set to its own deadline, as ``MockTime.sleep`` fires scheduled tasks.

Both run callbacks on the broker's event loop, never on another thread, so the
single-owner rule of the broker (no locks) holds for timers too.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class TimerHandle(Protocol):
    """What ``call_later`` returns: something that can be cancelled."""

    def cancel(self) -> None:
        """Stop the timer from firing; a no-op once it fired."""
        ...


class Clock(Protocol):
    """The time source and timer service of a broker."""

    def now_ms(self) -> int:
        """Return wall-clock milliseconds since the Unix epoch (Kafka timestamps)."""
        ...

    def monotonic(self) -> float:
        """Return a monotonic time in seconds, for durations and deadlines."""
        ...

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run ``fn(*args)`` on the broker's loop after ``delay`` seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...

    async def wait_for(self, aw: Awaitable[T], timeout: float) -> T:
        """Await ``aw`` for at most ``timeout`` seconds of this clock's time.

        Raises:
            TimeoutError: the time ran out first (``aw`` is cancelled).
        """
        ...


class RealClock:
    """The system clocks; timers are the running loop's."""

    manual = False

    def now_ms(self) -> int:
        """Return wall-clock milliseconds since the Unix epoch."""
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        """Schedule ``fn(*args)`` with ``loop.call_later``.

        Raises:
            RuntimeError: called outside a running event loop.
        """
        return asyncio.get_running_loop().call_later(max(delay, 0.0), fn, *args)

    async def sleep(self, seconds: float) -> None:
        """Wait with ``asyncio.sleep``."""
        await asyncio.sleep(max(seconds, 0.0))

    async def wait_for(self, aw: Awaitable[T], timeout: float) -> T:
        """Await with ``asyncio.wait_for``."""
        return await asyncio.wait_for(aw, max(timeout, 0.0))


class _ManualTimer:
    __slots__ = ("deadline", "fn", "args", "cancelled")

    def __init__(self, deadline: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.deadline = deadline
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that only moves when told to (Kafka's ``MockTime``).

    Args:
        start_ms: the wall-clock time to start at; the current time by default, so
            that records produced by real clients look recent.
    """

    manual = True

    def __init__(self, start_ms: int | None = None) -> None:
        self._wall_ms = time.time_ns() // 1_000_000 if start_ms is None else start_ms
        self._mono = 0.0
        self._timers: list[tuple[float, int, _ManualTimer]] = []
        self._seq = itertools.count()

    def now_ms(self) -> int:
        """Return the clock's wall-clock milliseconds."""
        return self._wall_ms + int(self._mono * 1000)

    def monotonic(self) -> float:
        """Return seconds advanced since the clock was made."""
        return self._mono

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        """Fire ``fn(*args)`` once the clock has been advanced by ``delay`` seconds."""
        timer = _ManualTimer(self._mono + max(delay, 0.0), fn, args)
        heapq.heappush(self._timers, (timer.deadline, next(self._seq), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by ``seconds``."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.call_later(seconds, _resolve, fut)
        try:
            await fut
        finally:
            timer.cancel()

    async def wait_for(self, aw: Awaitable[T], timeout: float) -> T:
        """Await ``aw`` until the clock has been advanced by ``timeout``.

        Raises:
            TimeoutError: the clock passed the deadline first.
        """
        task = asyncio.ensure_future(aw)
        expired: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.call_later(timeout, _resolve, expired)
        try:
            await asyncio.wait({task, expired}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if task.done():
            return task.result()
        task.cancel()
        raise TimeoutError

    def advance(self, seconds: float) -> int:
        """Move the clock forward, firing every timer that falls due, in order.

        Call it on the broker's event loop (``EmbeddedKafka.advance`` does).
        Returns how many timers fired.

        Raises:
            ValueError: ``seconds`` is negative (time never goes back).
        """
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        target = self._mono + seconds
        fired = 0
        while self._timers and self._timers[0][0] <= target:
            deadline, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._mono = max(self._mono, deadline)
            fired += 1
            timer.fn(*timer.args)
        self._mono = target
        return fired

    def pending(self) -> int:
        """Return how many timers wait to fire (for tests of the clock itself)."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def make_clock(spec: Clock | str | None) -> Clock:
    """Return a clock from ``"real"``, ``"manual"``, ``None`` (real) or a clock.

    Raises:
        ValueError: an unknown name.
    """
    if spec is None or spec == "real":
        return RealClock()
    if spec == "manual":
        return ManualClock()
    if isinstance(spec, str):
        raise ValueError(f"clock must be 'real' or 'manual', not {spec!r}")
    return spec
