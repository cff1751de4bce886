"""Polling with a deadline, instead of sleeping.

``eventually`` is the one way streamtest's tests (and users' tests) wait for an
asynchronous outcome: it re-runs a check until it passes or a deadline expires,
and on failure reports the last error, so a slow system gives a clear assertion
rather than a flaky sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_MISSING: Any = object()


def eventually(
    fn: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    reraise: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``fn`` until it returns a truthy value without raising; return that value.

    ``reraise`` lists exception types that mean waiting longer cannot help (say, the
    streaming query being waited for has failed): they propagate at once.

    Raises:
        AssertionError: ``timeout`` seconds passed. The message carries the last
            exception raised by ``fn`` (chained as ``__cause__``) or its last falsy
            return value.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    last_value: Any = _MISSING
    attempts = 0
    while True:
        attempts += 1
        try:
            value = fn()
        except reraise:
            raise
        except Exception as exc:  # the check is allowed to fail until the deadline
            last_exc, last_value = exc, _MISSING
        else:
            if value:
                return value
            last_exc, last_value = None, value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(interval, remaining))
    what = getattr(fn, "__name__", repr(fn))
    if last_exc is not None:
        raise AssertionError(
            f"{what} still failing after {timeout:g}s ({attempts} attempts): "
            f"{type(last_exc).__name__}: {last_exc}"
        ) from last_exc
    raise AssertionError(
        f"{what} still falsy after {timeout:g}s ({attempts} attempts): last value {last_value!r}"
    )


def assert_eventually(
    fn: Callable[[], Any], expected: Any = True, timeout: float = 10.0, interval: float = 0.05
) -> Any:
    """Wait until ``fn()`` equals ``expected`` (the seeds' signature); return the value.

    Raises:
        AssertionError: the deadline passed; the message shows the last value seen.
    """
    seen: list[Any] = []

    def check() -> bool:
        value = fn()
        seen[:] = [value]
        return bool(value == expected)

    try:
        eventually(check, timeout=timeout, interval=interval)
    except AssertionError as exc:
        last = seen[0] if seen else "<never returned>"
        raise AssertionError(
            f"expected {expected!r} within {timeout:g}s, last value was {last!r}"
        ) from exc
    return seen[0]
