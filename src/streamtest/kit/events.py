"""Test events: a deterministic generator, and the vocabulary of disorder.

Streams in the wild arrive out of order, late and duplicated. This module defines
those words precisely (see :func:`classify`) and builds streams that contain them on
purpose. :func:`generate_events` draws from a seeded ``random.Random``; the
Hypothesis strategies in :mod:`streamtest.strategies` draw from Hypothesis, through
the same builder, so both mean the same thing by "late".

Definitions, over a stream in *arrival* order, with the watermark at each arrival
being the greatest event time seen so far minus ``allowed_lateness_ms``:

- **duplicate**: an event whose ``event_id`` arrived before (a redelivery);
- **late**: not a duplicate, and its event time is behind the watermark, i.e.
  ``max_seen - timestamp > allowed_lateness_ms``: a windowed job has already closed
  its window;
- **out of order**: neither, but older than an event that arrived before it
  (``timestamp < max_seen``), within the allowed lateness;
- **in order**: everything else.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Kind = Literal["in_order", "out_of_order", "late", "duplicate"]

#: 2023-11-14T22:13:20Z: a fixed, recognisable start so generated timestamps are
#: stable across runs (and plausibly "now" for brokers that check timestamps).
DEFAULT_START_MS = 1_700_000_000_000
DEFAULT_KEYS: tuple[str, ...] = ("user-0", "user-1", "user-2", "user-3", "user-4")


@dataclass(frozen=True, slots=True)
class Event:
    """One keyed test event.

    ``timestamp`` is the event time in milliseconds since the epoch; ``send`` uses it
    as the Kafka record's timestamp. ``amount`` gives aggregations something to sum.
    """

    event_id: str
    key: str
    timestamp: int
    amount: int

    @property
    def value(self) -> dict[str, Any]:
        """Return the JSON-ready value (it repeats the id, key and timestamp, as real
        events do, so a consumer can dedupe and window from the value alone)."""
        return {
            "event_id": self.event_id,
            "key": self.key,
            "timestamp": self.timestamp,
            "amount": self.amount,
        }

    def to_message(self) -> tuple[str, dict[str, Any]]:
        """Return ``(key, value)``, the pair ``Cluster.send`` takes."""
        return self.key, self.value

    @classmethod
    def from_value(cls, value: bytes | str | dict[str, Any]) -> Event:
        """Return the event encoded in a record value (JSON bytes/str, or a dict).

        Raises:
            ValueError, KeyError: ``value`` is not an encoded event.
        """
        import json

        data = value if isinstance(value, dict) else json.loads(value)
        return cls(
            str(data["event_id"]), str(data["key"]), int(data["timestamp"]), int(data["amount"])
        )


def classify(events: Sequence[Event], allowed_lateness_ms: int) -> list[Kind]:
    """Return the kind of each event of ``events`` (in arrival order), as defined in
    this module's docstring."""
    kinds: list[Kind] = []
    seen: set[str] = set()
    max_seen: int | None = None
    for e in events:
        if e.event_id in seen:
            kinds.append("duplicate")
            continue
        seen.add(e.event_id)
        if max_seen is not None and max_seen - e.timestamp > allowed_lateness_ms:
            kinds.append("late")
        elif max_seen is not None and e.timestamp < max_seen:
            kinds.append("out_of_order")
        else:
            kinds.append("in_order")
        max_seen = e.timestamp if max_seen is None else max(max_seen, e.timestamp)
    return kinds


class _Source(Protocol):
    """Where the builder's choices come from: ``random.Random`` or Hypothesis' draw."""

    def integer(self, lo: int, hi: int) -> int:
        """Return an integer in ``[lo, hi]``."""
        ...


class _RandomSource:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


def check_options(
    allowed_lateness_ms: int, max_gap_ms: int, keys: Sequence[str], out_of_order: bool
) -> None:
    """Validate the options shared by the generator and the strategies.

    Raises:
        ValueError: an option is out of range.
    """
    if allowed_lateness_ms < 0 or max_gap_ms < 0:
        raise ValueError("allowed_lateness_ms and max_gap_ms must not be negative")
    if out_of_order and allowed_lateness_ms < 1:
        raise ValueError(
            "out-of-order events need allowed_lateness_ms >= 1: with no allowed "
            "lateness every event older than one seen before is late"
        )
    if not keys:
        raise ValueError("keys must not be empty")


def build_stream(
    source: _Source,
    kinds: Sequence[Kind],
    *,
    keys: Sequence[str],
    start_ms: int,
    max_gap_ms: int,
    allowed_lateness_ms: int,
) -> list[Event]:
    """Return events in arrival order whose kinds (per :func:`classify`) are ``kinds``.

    The first event is always in order (nothing came before it). A duplicate repeats
    an earlier event; it is chosen so that it is not itself out of order or late
    unless the stream may contain such events anyway (``kinds`` has some), so that
    turning those off really removes them.
    """
    lateness = allowed_lateness_ms
    may_disorder = any(k == "out_of_order" for k in kinds)
    may_be_late = any(k == "late" for k in kinds)
    events: list[Event] = []
    originals: list[Event] = []
    max_seen: int | None = None
    for kind in kinds:
        if kind == "duplicate" and originals:
            assert max_seen is not None
            candidates = [
                e
                for e in originals
                if (may_disorder or max_seen - e.timestamp <= 0)
                and (may_be_late or max_seen - e.timestamp <= lateness)
            ]
            events.append(candidates[source.integer(0, len(candidates) - 1)])
            continue
        if max_seen is None or kind in ("in_order", "duplicate"):
            ts = start_ms if max_seen is None else max_seen + source.integer(0, max_gap_ms)
        elif kind == "out_of_order":
            ts = max_seen - source.integer(1, lateness)
        else:  # late: behind the watermark by 1..lateness+1 ms more
            ts = max_seen - lateness - source.integer(1, max(1, lateness))
        event = Event(
            event_id=f"evt-{len(originals):06d}",
            key=keys[source.integer(0, len(keys) - 1)],
            timestamp=ts,
            amount=source.integer(1, 100),
        )
        originals.append(event)
        events.append(event)
        max_seen = ts if max_seen is None else max(max_seen, ts)
    return events


def generate_events(
    n: int,
    seed: int = 0,
    *,
    keys: Sequence[str] = DEFAULT_KEYS,
    start_ms: int = DEFAULT_START_MS,
    max_gap_ms: int = 1_000,
    allowed_lateness_ms: int = 5_000,
    out_of_order: float = 0.0,
    late: float = 0.0,
    duplicates: float = 0.0,
) -> list[Event]:
    """Return ``n`` keyed events in arrival order; the same arguments give the same
    events, on every machine and Python version.

    By default events arrive in event-time order, ``0..max_gap_ms`` apart, starting
    at ``start_ms``. ``out_of_order``, ``late`` and ``duplicates`` are the chance
    (0.0 to 1.0) that each event after the first is of that kind (see this module's
    docstring for the definitions).

    Raises:
        ValueError: ``n`` is negative, a chance is outside [0, 1], or an option is
            out of range.
    """
    if n < 0:
        raise ValueError(f"n must not be negative, not {n}")
    chances = {"out_of_order": out_of_order, "late": late, "duplicate": duplicates}
    for name, p in chances.items():
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"the chance of {name} events must be in [0, 1], not {p}")
    if sum(chances.values()) > 1.0:
        raise ValueError("the chances of out_of_order, late and duplicates add up to over 1")
    check_options(allowed_lateness_ms, max_gap_ms, keys, out_of_order > 0)
    rng = random.Random(seed)
    kinds: list[Kind] = []
    for i in range(n):
        roll = rng.random()
        kind: Kind = "in_order"
        if i > 0:
            threshold = 0.0
            for name, p in chances.items():
                threshold += p
                if roll < threshold:
                    kind = name  # type: ignore[assignment]
                    break
        kinds.append(kind)
    return build_stream(
        _RandomSource(rng),
        kinds,
        keys=keys,
        start_ms=start_ms,
        max_gap_ms=max_gap_ms,
        allowed_lateness_ms=allowed_lateness_ms,
    )
