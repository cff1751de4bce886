"""Parsing of the datetimes, durations and time specs the ops tools accept.

The formats are those of ``kafka-consumer-groups.sh``: ``--to-datetime`` takes
``YYYY-MM-DDTHH:mm:SS[.sss][zone]`` and ``--by-duration`` an ISO-8601 duration
``PnDTnHnMnS`` (``java.time.Duration.parse``). Two deliberate differences: the
seconds may be left out (``2026-11-20T06:00Z``, as people write times), and a
datetime without a zone is UTC here, not the JVM's local zone, so that the same
command means the same instant on every machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

from .errors import InvalidInputError

DATETIME_FORMAT_HELP = "YYYY-MM-DDTHH:mm[:SS[.sss]][zone], e.g. 2026-01-01T00:00Z"

_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})"
    r"(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?$"
)

_DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d{1,9})?)S)?)?$",
    re.IGNORECASE,
)


def parse_zone(text: str) -> timezone:
    """Return the fixed-offset zone for ``Z``, ``±HH``, ``±HHMM`` or ``±HH:MM``.

    Raises:
        InvalidInputError: the offset is out of range (over 18 hours, as in Java).
    """
    if text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if minutes >= 60 or hours * 60 + minutes > 18 * 60:
        raise InvalidInputError(f"invalid zone offset {text!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_datetime(text: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:mm[:SS[.sss]][zone]`` into an aware datetime (UTC if no
    zone; seconds 0 if left out).

    Fractions longer than milliseconds are accepted and truncated to microseconds.

    Raises:
        InvalidInputError: the text does not match the format or names no real instant.
    """
    m = _DATETIME_RE.match(text.strip())
    if m is None:
        raise InvalidInputError(f"invalid datetime {text!r}: expected {DATETIME_FORMAT_HELP}")
    year, month, day, hour, minute, second, frac, zone = m.groups()
    micros = int((frac or "0").ljust(6, "0")[:6])
    try:
        tz = parse_zone(zone) if zone else UTC
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micros, tz
        )
    except ValueError as exc:  # e.g. month 13 or 30 February
        raise InvalidInputError(f"invalid datetime {text!r}: {exc}") from None


def datetime_to_ms(value: datetime) -> int:
    """Return milliseconds since the epoch; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    # Integer arithmetic, because float timestamps lose the last millisecond.
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def parse_datetime_ms(text: str) -> int:
    """Parse a datetime (see :func:`parse_datetime`) into epoch milliseconds.

    Raises:
        InvalidInputError: as :func:`parse_datetime`.
    """
    return datetime_to_ms(parse_datetime(text))


def parse_duration(text: str) -> timedelta:
    """Parse an ISO-8601 duration ``PnDTnHnMnS`` (each part optional, seconds may be
    fractional), as ``java.time.Duration.parse`` does for non-negative durations.

    Raises:
        InvalidInputError: the text is not such a duration, or it has no parts.
    """
    stripped = text.strip()
    m = _DURATION_RE.match(stripped)
    if m is None or not any(m.groupdict().values()) or stripped.upper().endswith("T"):
        raise InvalidInputError(f"invalid duration {text!r}: expected PnDTnHnMnS, e.g. PT1H30M")
    parts = m.groupdict()
    return timedelta(
        days=int(parts["d"] or 0),
        hours=int(parts["h"] or 0),
        minutes=int(parts["m"] or 0),
        seconds=float(parts["s"] or 0),
    )


def format_ms(ms: int) -> str:
    """Return epoch milliseconds as ``YYYY-MM-DDTHH:mm:SS.sssZ``."""
    dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


TimeKind = Literal["earliest", "latest", "max-timestamp", "timestamp"]


@dataclass(frozen=True)
class TimeSpec:
    """What ``offsets query --time`` asks for: a named position or a timestamp."""

    kind: TimeKind
    timestamp_ms: int | None = None


_NAMED: dict[str, TimeKind] = {
    "earliest": "earliest",
    "-2": "earliest",
    "latest": "latest",
    "-1": "latest",
    "max-timestamp": "max-timestamp",
    "-3": "max-timestamp",
}


def parse_time_spec(text: str) -> TimeSpec:
    """Parse ``earliest|latest|max-timestamp`` (or Kafka's -2/-1/-3), epoch milliseconds,
    or a datetime in the ``--to-datetime`` format.

    Raises:
        InvalidInputError: none of those.
    """
    key = text.strip().lower()
    if key in _NAMED:
        return TimeSpec(_NAMED[key])
    if re.fullmatch(r"\d+", key):
        return TimeSpec("timestamp", int(key))
    if re.match(r"\d{4}-\d", key):  # looks like a date: report what is wrong with it
        return TimeSpec("timestamp", parse_datetime_ms(text))
    raise InvalidInputError(
        f"invalid time {text!r}: expected earliest, latest, max-timestamp, "
        f"epoch milliseconds or {DATETIME_FORMAT_HELP}"
    )
