"""Datetime, duration and time-spec parsing (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streamtest.ops.errors import InvalidInputError
from streamtest.ops.timeparse import (
    TimeSpec,
    datetime_to_ms,
    format_ms,
    parse_datetime,
    parse_datetime_ms,
    parse_duration,
    parse_time_spec,
)

EPOCH_2026 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("text", "expected_ms"),
    [
        ("2026-01-01T00:00:00", EPOCH_2026),  # no zone means UTC
        ("2026-01-01T00:00:00Z", EPOCH_2026),
        ("2026-01-01T00:00:00.000", EPOCH_2026),
        ("2026-01-01T00:00:00.5", EPOCH_2026 + 500),
        ("2026-01-01T00:00:00.123Z", EPOCH_2026 + 123),
        ("2026-01-01T00:00:00.123456789Z", EPOCH_2026 + 123),  # truncated to ms
        ("2026-01-01T01:00:00+01:00", EPOCH_2026),
        ("2026-01-01T01:00:00+0100", EPOCH_2026),
        ("2026-01-01T01:00:00+01", EPOCH_2026),
        ("2025-12-31T19:00:00-05:00", EPOCH_2026),
        ("2026-01-01T05:30:00.250+05:30", EPOCH_2026 + 250),
        # Seconds may be left out (the README's replay example writes times so).
        ("2026-01-01T00:00", EPOCH_2026),
        ("2026-01-01T00:00Z", EPOCH_2026),
        ("2026-01-01T01:00+01:00", EPOCH_2026),
        ("2026-01-01T06:00Z", EPOCH_2026 + 6 * 3_600_000),
    ],
)
def test_datetime_formats_and_zones_resolve_to_the_same_instant(text, expected_ms):
    assert parse_datetime_ms(text) == expected_ms


@pytest.mark.parametrize(
    "text",
    ["2026-01-01", "2026-01-01 00:00:00", "2026-13-01T00:00:00", "2026-02-30T00:00:00",
     "2026-01-01T24:00:00", "2026-01-01T00:00:00+19:00", "2026-01-01T00:00:00+01:70",
     "yesterday", "", "2026-01-01T00:00:00ZZ", "1700000000000", "2026-01-01T00",
     "2026-01-01T00:00.5", "2026-01-01T00:00:"],
)
def test_bad_datetimes_are_one_line_errors(text):
    with pytest.raises(InvalidInputError) as exc:
        parse_datetime(text)
    assert "\n" not in str(exc.value)
    assert "datetime" in str(exc.value) or "zone" in str(exc.value)


def test_naive_datetimes_are_utc_and_ms_are_exact():
    assert datetime_to_ms(datetime(2026, 1, 1)) == EPOCH_2026
    assert datetime_to_ms(datetime(2026, 1, 1, 0, 0, 0, 999_999, UTC)) == EPOCH_2026 + 999
    assert format_ms(EPOCH_2026 + 7) == "2026-01-01T00:00:00.007Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT1H", timedelta(hours=1)),
        ("P1D", timedelta(days=1)),
        ("P1DT12H30M5S", timedelta(days=1, hours=12, minutes=30, seconds=5)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("pt15m", timedelta(minutes=15)),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P", "PT", "1H", "P1H", "PT1D", "P1DT", "-PT1H", "PT1.5M"])
def test_bad_durations(text):
    with pytest.raises(InvalidInputError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("earliest", TimeSpec("earliest")),
        ("-2", TimeSpec("earliest")),
        ("LATEST", TimeSpec("latest")),
        ("-1", TimeSpec("latest")),
        ("max-timestamp", TimeSpec("max-timestamp")),
        ("-3", TimeSpec("max-timestamp")),
        ("1700000000000", TimeSpec("timestamp", 1_700_000_000_000)),
        ("2026-01-01T00:00:00Z", TimeSpec("timestamp", EPOCH_2026)),
    ],
)
def test_time_specs(text, expected):
    assert parse_time_spec(text) == expected


@pytest.mark.parametrize("text", ["soon", "-4", "2026-01-01", "12ab"])
def test_bad_time_specs(text):
    with pytest.raises(InvalidInputError):
        parse_time_spec(text)
