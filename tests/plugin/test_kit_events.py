"""Generated events: determinism, the definitions of disorder, and the strategies."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings

from streamtest import Event, generate_events
from streamtest.kit.events import classify
from streamtest.strategies import event_streams, events

LATENESS = 5_000
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_generate_events_is_deterministic_for_a_seed():
    assert generate_events(50, seed=7) == generate_events(50, seed=7)
    assert generate_events(50, seed=7) != generate_events(50, seed=8)
    # Pinned, so a change to the generator (which changes users' test data) is seen.
    assert generate_events(3, seed=1) == [
        Event("evt-000000", "user-2", 1_700_000_000_000, 16),
        Event("evt-000001", "user-3", 1_700_000_000_507, 61),
        Event("evt-000002", "user-3", 1_700_000_001_174, 27),
    ]


def test_generate_events_is_the_same_in_a_fresh_interpreter():
    code = "from streamtest import generate_events as g; print(g(20, seed=3, late=0.2))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(generate_events(20, seed=3, late=0.2))


def test_generate_events_default_is_clean_and_in_order():
    stream = generate_events(500, seed=1)
    assert set(classify(stream, LATENESS)) == {"in_order"}
    assert len({e.event_id for e in stream}) == 500
    assert all(e.key.startswith("user-") and 1 <= e.amount <= 100 for e in stream)


def test_generate_events_makes_each_kind_on_request():
    stream = generate_events(2_000, seed=2, out_of_order=0.2, late=0.1, duplicates=0.1)
    kinds = classify(stream, LATENESS)
    share = {k: kinds.count(k) / len(kinds) for k in set(kinds)}
    assert 0.15 < share["out_of_order"] < 0.25
    assert 0.07 < share["late"] < 0.13
    assert 0.07 < share["duplicate"] < 0.13


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": -1}, "must not be negative"),
        ({"n": 1, "late": 1.5}, r"in \[0, 1\]"),
        ({"n": 1, "late": 0.6, "duplicates": 0.6}, "add up to over 1"),
        ({"n": 1, "out_of_order": 0.1, "allowed_lateness_ms": 0}, "allowed_lateness_ms >= 1"),
        ({"n": 1, "keys": ()}, "keys must not be empty"),
    ],
)
def test_generate_events_validates_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_events(**kwargs)


def test_classify_follows_the_definitions():
    def ev(i: int, ts: int) -> Event:
        return Event(f"e{i}", "k", ts, 1)

    stream = [
        ev(0, 10_000),
        ev(1, 12_000),
        ev(2, 11_000),
        ev(3, 6_000),
        ev(1, 12_000),
        ev(4, 7_000),
    ]
    # max seen 12_000, lateness 5_000: 11_000 is out of order, 6_000 is late (6 s
    # behind), the repeat of e1 is a duplicate, and 7_000 is exactly 5 s behind: not late.
    assert classify(stream, 5_000) == [
        "in_order",
        "in_order",
        "out_of_order",
        "late",
        "duplicate",
        "out_of_order",
    ]


def test_event_round_trips_through_its_value():
    event = generate_events(1, seed=4)[0]
    import json

    assert Event.from_value(json.dumps(event.value).encode()) == event
    assert event.to_message() == (event.key, event.value)


@FAST
@given(event_streams())
def test_default_streams_have_out_of_order_late_and_duplicate_events(stream):
    kinds = classify(stream, LATENESS)
    assert {"out_of_order", "late", "duplicate"} <= set(kinds)
    assert kinds[0] == "in_order"


@FAST
@given(event_streams(out_of_order=False, late=False, duplicates=False, min_size=1))
def test_all_off_gives_clean_in_order_streams(stream):
    assert set(classify(stream, LATENESS)) == {"in_order"}
    assert [e.timestamp for e in stream] == sorted(e.timestamp for e in stream)


def naive_kinds(stream: list[Event], lateness: int) -> set[str]:
    """Disorder judged on every arrival, redeliveries included: what a consumer that
    does not dedupe would see."""
    found, top = set(), None
    for e in stream:
        if top is not None and top - e.timestamp > lateness:
            found.add("late")
        elif top is not None and e.timestamp < top:
            found.add("out_of_order")
        top = e.timestamp if top is None else max(top, e.timestamp)
    return found


@FAST
@given(event_streams(late=False))
def test_late_off_means_nothing_is_behind_the_watermark(stream):
    kinds = classify(stream, LATENESS)
    assert "late" not in naive_kinds(stream, LATENESS)
    assert {"out_of_order", "duplicate"} <= set(kinds)


@FAST
@given(event_streams(out_of_order=False))
def test_out_of_order_off_means_only_late_events_go_backwards(stream):
    kinds = classify(stream, LATENESS)
    assert "out_of_order" not in naive_kinds(stream, LATENESS)
    assert {"late", "duplicate"} <= set(kinds)


@FAST
@given(event_streams(duplicates=False))
def test_duplicates_off_means_unique_ids(stream):
    assert len({e.event_id for e in stream}) == len(stream)


@FAST
@given(events())
def test_single_events_are_in_range(event):
    assert event.key.startswith("user-")
    assert 1_700_000_000_000 <= event.timestamp <= 1_700_003_600_000


def test_event_streams_validates_options():
    with pytest.raises(ValueError, match="max_size=2 is too small"):
        event_streams(max_size=2)
    with pytest.raises(ValueError, match="allowed_lateness_ms >= 1"):
        event_streams(allowed_lateness_ms=0)


def test_import_streamtest_does_not_need_hypothesis_or_confluent_kafka():
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import streamtest\n"
        "assert 'confluent_kafka' not in sys.modules\n"
        "try:\n"
        "    import streamtest.strategies\n"
        "except ImportError as exc:\n"
        "    print('ImportError', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "streamtest.strategies needs Hypothesis" in out.stdout
