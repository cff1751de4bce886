"""Unit tests of the churn pipeline's pure parts and of the demo's report reading:
no broker, no process, milliseconds each."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from churn.model import THRESHOLD, InvalidRecord, parse_customer, predict
from churn.pipeline import HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION, transform
from churn.publisher import encode_customer, invalid_samples, sample_customers
from churn.sink import PredictionStore, SinkRow, read_predictions
from churn.topics import Topics

from streamtest.demo import ScenarioResult, parse_result_line, read_junit

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_sample_customers_round_trip_through_the_validator() -> None:
    for customer in sample_customers(200, seed=1):
        _, value = encode_customer(customer)
        assert parse_customer(value) == customer


@pytest.mark.parametrize(("error_type", "raw"), invalid_samples())
def test_each_invalid_sample_is_refused_with_its_error_type(error_type: str, raw: bytes) -> None:
    with pytest.raises(InvalidRecord) as info:
        parse_customer(raw)
    assert info.value.error_type == error_type


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, 1e9])
def test_charges_outside_their_range_are_out_of_range(bad: float) -> None:
    data = sample_customers(1)[0].to_json() | {"monthly_charges": bad}
    with pytest.raises(InvalidRecord) as info:
        parse_customer(json.dumps(data).encode())
    assert info.value.error_type == "out_of_range"
    assert info.value.field == "monthly_charges"


def test_null_value_is_an_encoding_error() -> None:
    with pytest.raises(InvalidRecord) as info:
        parse_customer(None)
    assert info.value.error_type == "invalid_encoding"


def test_predictions_are_probabilities_consistent_with_the_threshold() -> None:
    for customer in sample_customers(500, seed=2):
        p = predict(customer)
        assert 0.0 <= p.churn_probability <= 1.0
        assert p.prediction == int(p.churn_probability >= THRESHOLD)


def test_more_support_calls_never_lower_the_churn_probability() -> None:
    base = sample_customers(1, seed=3)[0]
    probabilities = [
        predict(base.__class__(**{**base.to_json(), "support_calls": n})).churn_probability
        for n in range(0, 30)
    ]
    assert probabilities == sorted(probabilities)


def test_an_invalid_record_becomes_a_dead_letter_naming_its_source() -> None:
    outcome = transform(b"{not json", b"k", ("in", 2, 41), Topics(), NOW)
    assert outcome.status == "deadletter"
    assert outcome.topic == Topics().deadletter
    assert outcome.key == b"k"
    headers = dict(outcome.headers)
    assert (headers[HEADER_SOURCE_PARTITION], headers[HEADER_SOURCE_OFFSET]) == (b"2", b"41")
    body = json.loads(outcome.value)
    assert body["error_type"] == "invalid_json"
    assert body["original_message"] == "{not json"
    assert body["event_id"] == "in:2:41"
    assert outcome.row is None


def test_a_non_utf8_record_keeps_its_bytes_in_base64() -> None:
    body = json.loads(transform(b"\xff\x00", None, ("in", 0, 0), Topics(), NOW).value)
    assert (body["original_encoding"], body["original_message"]) == ("base64", "/wA=")


def test_a_valid_record_becomes_a_prediction_keyed_by_customer() -> None:
    customer = sample_customers(1, seed=4, version=7)[0]
    outcome = transform(encode_customer(customer)[1], None, ("in", 1, 9), Topics(), NOW)
    assert outcome.status == "success"
    assert outcome.key == customer.customer_id.encode()
    body = json.loads(outcome.value)
    assert body["version"] == 7 and body["event_id"] == customer.event_id
    assert body["processed_at"] == "2025-01-02T03:04:05.000Z"
    assert outcome.row is not None and outcome.row.source_offset == 9


def _row(customer_id: str, version: int, probability: float = 0.5) -> SinkRow:
    return SinkRow(
        customer_id,
        version,
        probability,
        int(probability >= 0.5),
        "m",
        "2025-01-01T00:00:00Z",
        f"{customer_id}-v{version}",
        0,
        version,
    )


def test_the_sink_keeps_the_newest_version(tmp_path: Path) -> None:
    store = PredictionStore(tmp_path / "s.db")
    try:
        assert store.upsert([_row("a", 2, 0.2), _row("b", 1)]) == 2
        assert store.upsert([_row("a", 1, 0.9)]) == 0  # older: ignored
        assert store.upsert([_row("a", 2, 0.9)]) == 0  # redelivered: ignored
        assert store.upsert([_row("a", 3, 0.7), _row("a", 2, 0.1)]) == 1  # same batch
    finally:
        store.close()
    rows = read_predictions(tmp_path / "s.db")
    assert {k: (r["version"], r["churn_probability"]) for k, r in rows.items()} == {
        "a": (3, 0.7),
        "b": (1, 0.5),
    }


# -- the demo's report reading ----------------------------------------------------------------


def test_scenario_titles_come_from_test_names() -> None:
    r = ScenarioResult("test_11_crash_mid_batch[exactly-once]", "passed", 1.0)
    assert (r.number, r.title) == (11, "crash mid batch (exactly-once)")
    assert ScenarioResult("test_other", "passed", 0).title == "test_other"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "examples/churn/tests/test_churn_flow.py::test_04_end_to_end PASSED        [ 33%]",
            ("test_04_end_to_end", "PASSED"),
        ),
        (
            "[gw1] [ 50%] FAILED examples/churn/tests/test_churn_recovery.py::"
            "test_11_crash_mid_batch[exactly-once] ",
            ("test_11_crash_mid_batch[exactly-once]", "FAILED"),
        ),
        ("collected 12 items", None),
    ],
)
def test_result_lines_of_pytest_verbose_are_recognised(line: str, expected: object) -> None:
    assert parse_result_line(line) == expected


def test_junit_reports_are_read_in_scenario_order(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text("""<?xml version="1.0"?><testsuites><testsuite>
      <testcase classname="a" name="test_10_lag_monitoring" time="0.5"/>
      <testcase classname="a" name="test_02_topic_creation" time="0.1">
        <failure message="assert 1 == 3">trace</failure></testcase>
      <testcase classname="a" name="test_03_batch_publish" time="0.2">
        <skipped message="no"/></testcase>
    </testsuite></testsuites>""")
    results = read_junit(path)
    assert [(r.number, r.outcome, r.message) for r in results] == [
        (2, "failed", "assert 1 == 3"),
        (3, "skipped", "no"),
        (10, "passed", ""),
    ]


def test_demo_reports_never_clears_a_directory_it_did_not_write(tmp_path: Path) -> None:
    import click
    import pytest

    from streamtest.cli.cmd_demo import _clear_reports

    # Directories named like the demo's own (keep, metrics) are still the user's.
    mine = tmp_path / "work"
    (mine / "keep").mkdir(parents=True)
    (mine / "keep" / "notes.txt").write_text("precious")
    (mine / "metrics").mkdir()
    with pytest.raises(click.ClickException, match="holds files the demo did not write"):
        _clear_reports(mine)
    assert (mine / "keep" / "notes.txt").read_text() == "precious"
    assert (mine / "metrics").is_dir()

    # A report of the demo's own (marked, or from before the marker) is cleared.
    old = tmp_path / "reports"
    (old / "pipeline").mkdir(parents=True)
    (old / "pipeline" / "run1.log").write_text("x")
    (old / "pytest.log").write_text("$ python -m pytest tests --churn-reports r\n")
    _clear_reports(old)
    assert sorted(p.name for p in old.iterdir()) == [".streamtest-demo-report"]
    (old / "pipeline").mkdir()
    _clear_reports(old)  # marked now
    assert not (old / "pipeline").exists()
    new = tmp_path / "new" / "dir"
    _clear_reports(new)
    assert (new / ".streamtest-demo-report").is_file()
