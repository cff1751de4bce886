"""Reset planning, clamping, scopes and the CSV format (no broker)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from streamtest.ops.errors import InvalidInputError
from streamtest.ops.plan import (
    TP,
    PartitionState,
    ResetSpec,
    TopicSelection,
    clamp_offset,
    export_csv,
    parse_offsets_csv,
    parse_partition_list,
    parse_topic_selection,
    plan_reset,
    select_tps,
)

A0, A1, B0 = TP("a", 0), TP("a", 1), TP("b", 0)
STATES = {
    # log [10, 100), committed 50, first record at/after the spec's time at 70
    A0: PartitionState(10, 100, committed=50, offset_for_time=70),
    # log [0, 5), nothing committed, no record that recent
    A1: PartitionState(0, 5, committed=None, offset_for_time=None),
    B0: PartitionState(0, 0, committed=0, offset_for_time=None),  # empty partition
}


def new_offsets(spec: ResetSpec, states=STATES) -> dict[TP, int]:
    return plan_reset("g", spec, states).as_dict()


def test_to_earliest_and_to_latest():
    assert new_offsets(ResetSpec.to_earliest()) == {A0: 10, A1: 0, B0: 0}
    assert new_offsets(ResetSpec.to_latest()) == {A0: 100, A1: 5, B0: 0}


def test_to_current_keeps_committed_and_uses_log_end_without_one():
    assert new_offsets(ResetSpec.to_current()) == {A0: 50, A1: 5, B0: 0}


def test_to_offset_clamps_into_each_log_with_kafkas_warnings():
    plan = plan_reset("g", ResetSpec.to_offset(7), STATES)
    assert plan.as_dict() == {A0: 10, A1: 5, B0: 0}
    assert plan.warnings == [
        "New offset (7) is lower than earliest offset for topic partition a-0. "
        "Value will be set to 10",
        "New offset (7) is higher than latest offset for topic partition a-1. "
        "Value will be set to 5",
        "New offset (7) is higher than latest offset for topic partition b-0. "
        "Value will be set to 0",
    ]


def test_shift_by_moves_committed_offsets_and_clamps():
    states = {A0: STATES[A0], B0: STATES[B0]}
    assert new_offsets(ResetSpec.shift_by(-5), states) == {A0: 45, B0: 0}
    assert new_offsets(ResetSpec.shift_by(+1000), states) == {A0: 100, B0: 0}
    assert new_offsets(ResetSpec.shift_by(-1000), states) == {A0: 10, B0: 0}


def test_shift_by_refuses_partitions_without_a_committed_offset():
    with pytest.raises(InvalidInputError, match="no current committed offset"):
        plan_reset("g", ResetSpec.shift_by(1), STATES)


def test_to_datetime_uses_the_lookup_or_the_log_end():
    assert new_offsets(ResetSpec.to_datetime(123)) == {A0: 70, A1: 5, B0: 0}


def test_by_duration_resolves_against_now():
    spec = ResetSpec.by_duration(timedelta(hours=1)).resolved(now_ms=10_000_000)
    assert spec.timestamp_ms == 10_000_000 - 3_600_000
    assert spec.needs_timestamp_lookup
    assert new_offsets(spec) == {A0: 70, A1: 5, B0: 0}


def test_from_file_offsets_are_clamped_too():
    spec = ResetSpec.from_file({A0: 99, A1: 9, B0: 0})
    plan = plan_reset("g", spec, STATES)
    assert plan.as_dict() == {A0: 99, A1: 5, B0: 0}
    assert len(plan.warnings) == 1


def test_clamp_inside_the_range_has_no_warning():
    assert clamp_offset(A0, 10, STATES[A0]).warning is None
    assert clamp_offset(A0, 100, STATES[A0]).warning is None


def test_export_and_from_file_round_trip():
    plan = plan_reset("g", ResetSpec.to_earliest(), STATES)
    text = export_csv(plan)
    assert text == "a,0,10\na,1,0\nb,0,0\n"
    assert parse_offsets_csv(text) == plan.as_dict()
    again = plan_reset("g", ResetSpec.from_file(parse_offsets_csv(text)), STATES)
    assert again.as_dict() == plan.as_dict()


def test_csv_with_group_column_keeps_only_that_groups_rows():
    text = "g,a,0,1\nother,a,0,2\ng,b,0,3\n"
    assert parse_offsets_csv(text, "g") == {A0: 1, B0: 3}
    plan = plan_reset("g", ResetSpec.to_earliest(), STATES)
    assert parse_offsets_csv(export_csv(plan, with_group=True), "g") == plan.as_dict()


def test_csv_skips_header_blank_lines_and_comments():
    assert parse_offsets_csv("topic,partition,offset\n\n# note\na,0,1\n") == {A0: 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,0\n", "line 1: expected topic,partition,offset"),
        ("a,x,1\n", "line 1"),
        ("a,0,-1\n", "line 1"),
        ("a,0,1\na,0,2\n", "line 2: partition a-0 appears twice"),
        ("a,0,1,2,3\n", "line 1"),
    ],
)
def test_bad_csv_rows_name_the_line(text, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_offsets_csv(text)


def test_topic_selections():
    assert parse_topic_selection("orders") == TopicSelection("orders")
    assert parse_topic_selection("orders:0,2") == TopicSelection("orders", (0, 2))
    assert parse_topic_selection("orders:3-5,1") == TopicSelection("orders", (1, 3, 4, 5))
    assert parse_partition_list("2,0,2") == [0, 2]
    for bad in (":0", "orders:x", "orders:3-1", "orders:"):
        with pytest.raises(InvalidInputError):
            parse_topic_selection(bad)


def test_select_tps_filters_by_topic_and_partitions():
    tps = [A0, A1, B0]
    assert select_tps(tps, [TopicSelection("a", (1,))]) == [A1]
    assert select_tps(tps, [TopicSelection("b"), TopicSelection("a", (0,))]) == [A0, B0]
