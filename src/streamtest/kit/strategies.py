"""Hypothesis strategies for event streams (public as :mod:`streamtest.strategies`).

Hypothesis is a test-time dependency (the ``dev`` extra), not a runtime one: this
module imports it at import time, and nothing else in streamtest imports this
module eagerly, so ``import streamtest`` works without Hypothesis installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        "streamtest.strategies needs Hypothesis: pip install hypothesis "
        "(or pip install 'streamtest[dev]')"
    ) from exc

from .events import (
    DEFAULT_KEYS,
    DEFAULT_START_MS,
    Event,
    Kind,
    build_stream,
    check_options,
)

__all__ = ["Event", "event_streams", "events"]


class _DrawSource:
    """Feeds the stream builder's choices from Hypothesis, so they shrink."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return int(self.draw(st.integers(lo, hi)))


def events(
    *,
    keys: Sequence[str] = DEFAULT_KEYS,
    start_ms: int = DEFAULT_START_MS,
    span_ms: int = 3_600_000,
) -> st.SearchStrategy[Event]:
    """Return a strategy for single events, with a key from ``keys`` and an event
    time in ``[start_ms, start_ms + span_ms]``."""
    check_options(0, 0, keys, out_of_order=False)
    return st.builds(
        Event,
        event_id=st.uuids().map(lambda u: f"evt-{u.hex[:12]}"),
        key=st.sampled_from(list(keys)),
        timestamp=st.integers(start_ms, start_ms + span_ms),
        amount=st.integers(1, 100),
    )


def event_streams(
    *,
    min_size: int = 0,
    max_size: int = 30,
    keys: Sequence[str] = DEFAULT_KEYS,
    start_ms: int = DEFAULT_START_MS,
    max_gap_ms: int = 1_000,
    allowed_lateness_ms: int = 5_000,
    out_of_order: bool = True,
    late: bool = True,
    duplicates: bool = True,
) -> st.SearchStrategy[list[Event]]:
    """Return a strategy for streams of keyed events, in arrival order.

    By default every stream contains at least one out-of-order, one late and one
    duplicate event (as :func:`streamtest.kit.events.classify` defines them against
    ``allowed_lateness_ms``), so each property test exercises all three, and a
    shrunk counterexample still shows which of them broke the code. Turn any of
    them off and the streams contain none of that kind. Because one of each is
    guaranteed, a stream has at least ``1 + (number of kinds on)`` events.

    Raises:
        ValueError: ``max_size`` is too small for the guaranteed events, or an
            option is out of range.
    """
    check_options(allowed_lateness_ms, max_gap_ms, keys, out_of_order)
    required: list[Kind] = []
    if out_of_order:
        required.append("out_of_order")
    if late:
        required.append("late")
    if duplicates:
        required.append("duplicate")
    smallest = max(min_size, 1 + len(required)) if required else min_size
    if max_size < smallest:
        raise ValueError(
            f"max_size={max_size} is too small: streams with {', '.join(required)} events "
            f"need at least {smallest} events"
        )
    choices: list[Kind] = ["in_order", *required]

    @st.composite
    def streams(draw: Any) -> list[Event]:
        n = draw(st.integers(smallest, max_size))
        if n == 0:
            return []
        kinds: list[Kind] = ["in_order"]
        kinds += draw(st.lists(st.sampled_from(choices), min_size=n - 1, max_size=n - 1))
        # Guarantee one of each required kind: overwrite a slot that is in order or
        # holds a kind that occurs more than once, so no other required kind is lost.
        for kind in required:
            if kind in kinds:
                continue
            spare = [i for i in range(1, n) if kinds[i] == "in_order" or kinds.count(kinds[i]) > 1]
            kinds[draw(st.sampled_from(spare))] = kind
        return build_stream(
            _DrawSource(draw),
            kinds,
            keys=keys,
            start_ms=start_ms,
            max_gap_ms=max_gap_ms,
            allowed_lateness_ms=allowed_lateness_ms,
        )

    return streams()
