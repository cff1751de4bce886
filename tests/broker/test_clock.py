"""The injectable clock: the real one, and the manual one (Kafka's MockTime)."""

from __future__ import annotations

import asyncio

import pytest

from streamtest.broker.clock import ManualClock, RealClock, make_clock


def test_manual_clock_fires_due_timers_in_deadline_order_at_their_own_time():
    clock = ManualClock(start_ms=1_000_000)
    seen: list[tuple[str, int]] = []
    clock.call_later(2.0, lambda: seen.append(("b", clock.now_ms())))
    clock.call_later(1.0, lambda: seen.append(("a", clock.now_ms())))
    late = clock.call_later(10.0, lambda: seen.append(("late", clock.now_ms())))
    assert clock.advance(0.5) == 0 and seen == []
    assert clock.advance(2.0) == 2
    assert seen == [("a", 1_001_000), ("b", 1_002_000)]
    assert clock.now_ms() == 1_002_500
    late.cancel()
    assert clock.advance(100) == 0 and clock.pending() == 0


def test_a_timer_scheduled_by_a_timer_fires_in_the_same_advance_when_due():
    clock = ManualClock()
    seen: list[float] = []
    clock.call_later(1, lambda: clock.call_later(1, lambda: seen.append(clock.monotonic())))
    clock.advance(5)
    assert seen == [2.0]


def test_time_never_goes_back():
    with pytest.raises(ValueError, match="cannot go back"):
        ManualClock().advance(-1)


def test_sleep_and_wait_for_follow_the_manual_clock():
    async def main() -> None:
        clock = ManualClock()
        sleeper = asyncio.ensure_future(clock.sleep(3))
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = asyncio.ensure_future(clock.wait_for(never, 1))
        await asyncio.sleep(0)
        clock.advance(0.5)
        await asyncio.sleep(0)
        assert not sleeper.done() and not waiter.done()
        clock.advance(1)
        with pytest.raises(TimeoutError):
            await waiter
        assert never.cancelled()
        clock.advance(2)
        await asyncio.wait_for(sleeper, 1)
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        done.set_result(7)
        assert await clock.wait_for(done, 1) == 7

    asyncio.run(main())


def test_make_clock_names():
    assert isinstance(make_clock(None), RealClock)
    assert isinstance(make_clock("manual"), ManualClock)
    with pytest.raises(ValueError, match="real' or 'manual"):
        make_clock("fast")
