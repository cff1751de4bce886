"""Property-based tests of streaming logic with out-of-order, late and duplicate events.

``streamtest.strategies.event_streams()`` makes streams that, by default, always
contain each kind of disorder, so a property test cannot pass by luck on a tidy
stream. ``generate_events(n, seed=...)`` makes the same events on every run, for
example-based and end-to-end tests.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from hypothesis import given, settings

from streamtest import Cluster, Event, generate_events
from streamtest.strategies import event_streams

WINDOW_MS = 10_000
LATENESS_MS = 5_000


def windowed_totals(events: list[Event], allowed_lateness_ms: int) -> dict[tuple[str, int], int]:
    """The code under test: per-key sums over 10 s tumbling windows of event time.

    It drops redelivered events (same ``event_id``) and events behind the
    watermark (the greatest event time seen, minus the allowed lateness), as a
    streaming job with a watermark would.
    """
    totals: dict[tuple[str, int], int] = defaultdict(int)
    seen: set[str] = set()
    watermark: int | None = None
    for e in events:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        if watermark is not None and e.timestamp < watermark - allowed_lateness_ms:
            continue
        watermark = e.timestamp if watermark is None else max(watermark, e.timestamp)
        totals[(e.key, e.timestamp // WINDOW_MS)] += e.amount
    return dict(totals)


@settings(max_examples=50, deadline=None)
@given(event_streams(late=False, allowed_lateness_ms=LATENESS_MS))
def test_arrival_order_and_redelivery_do_not_change_the_totals(stream: list[Event]) -> None:
    # Without late events, the totals are those of the distinct events in any order.
    distinct = {e.event_id: e for e in stream}.values()
    expected: Counter[tuple[str, int]] = Counter()
    for e in distinct:
        expected[(e.key, e.timestamp // WINDOW_MS)] += e.amount
    assert windowed_totals(stream, LATENESS_MS) == dict(expected)


@settings(max_examples=50, deadline=None)
@given(event_streams(allowed_lateness_ms=LATENESS_MS))
def test_late_events_are_dropped_never_double_counted(stream: list[Event]) -> None:
    totals = windowed_totals(stream, LATENESS_MS)
    distinct_sum = sum({e.event_id: e.amount for e in stream}.values())
    assert sum(totals.values()) < distinct_sum  # a late event was dropped


def test_the_same_events_through_kafka(kafka: Cluster, kafka_topic: str) -> None:
    events = generate_events(200, seed=42, out_of_order=0.1, duplicates=0.05)
    kafka.send(kafka_topic, events)  # Events are sent as JSON, with their event time

    received = [Event.from_value(r.value) for r in kafka.records(kafka_topic)]

    assert received == events  # one partition: arrival order is kept
    assert windowed_totals(received, LATENESS_MS) == windowed_totals(events, LATENESS_MS)
