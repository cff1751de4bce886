"""Offset-reset planning, with no I/O: scopes, specs, clamping and the CSV format.

The reset is computed in two steps so that the arithmetic can be tested without a
broker: the I/O layer (:mod:`streamtest.ops.offsets`) gathers a
:class:`PartitionState` per partition, then :func:`plan_reset` turns a
:class:`ResetSpec` into new offsets. The rules are those of
``kafka-consumer-groups.sh --reset-offsets``:

* ``--to-current`` keeps the committed offset, or uses the log end offset where
  there is none; ``--shift-by`` refuses partitions without a committed offset.
* ``--to-datetime``/``--by-duration`` pick the first offset whose timestamp is at
  or after the instant, or the log end offset if there is none.
* Every new offset is clamped into ``[log start offset, log end offset]``, with a
  warning worded as Kafka words it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, NamedTuple

from .errors import InvalidInputError


class TP(NamedTuple):
    """A topic partition; sorts by topic, then partition."""

    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}"


@dataclass(frozen=True)
class TopicSelection:
    """One ``--topic T[:P,...]`` argument: a topic and optionally some of its partitions."""

    topic: str
    partitions: tuple[int, ...] | None = None


def parse_partition_list(text: str) -> list[int]:
    """Parse ``0,1,4-6`` into ``[0, 1, 4, 5, 6]``.

    Raises:
        InvalidInputError: an item is not a non-negative number or ``a-b`` range.
    """
    out: list[int] = []
    for item in text.split(","):
        item = item.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
        if m is None:
            raise InvalidInputError(f"invalid partition {item!r} in {text!r}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise InvalidInputError(f"invalid partition range {item!r}")
        out.extend(range(lo, hi + 1))
    return sorted(set(out))


def parse_topic_selection(text: str) -> TopicSelection:
    """Parse ``T`` or ``T:0,1,3-4`` as ``--topic`` takes it.

    Raises:
        InvalidInputError: empty topic name or a bad partition list.
    """
    topic, sep, parts = text.partition(":")
    topic = topic.strip()
    if not topic:
        raise InvalidInputError(f"invalid topic {text!r}: empty name")
    if not sep:
        return TopicSelection(topic)
    return TopicSelection(topic, tuple(parse_partition_list(parts)))


ResetKind = Literal[
    "to-earliest",
    "to-latest",
    "to-current",
    "to-offset",
    "shift-by",
    "to-datetime",
    "by-duration",
    "from-file",
]


@dataclass(frozen=True)
class ResetSpec:
    """Where to move a group's offsets; build with the class methods.

    ``timestamp_ms`` is set for ``to-datetime``; for ``by-duration`` the I/O layer
    resolves ``now - duration`` with :meth:`resolved`, so the plan is pure.
    """

    kind: ResetKind
    offset: int | None = None
    timestamp_ms: int | None = None
    duration: timedelta | None = None
    file_offsets: Mapping[TP, int] | None = field(default=None, compare=False)

    @classmethod
    def to_earliest(cls) -> ResetSpec:
        """Return a spec for the log start offset."""
        return cls("to-earliest")

    @classmethod
    def to_latest(cls) -> ResetSpec:
        """Return a spec for the log end offset."""
        return cls("to-latest")

    @classmethod
    def to_current(cls) -> ResetSpec:
        """Return a spec keeping the committed offset (log end where none)."""
        return cls("to-current")

    @classmethod
    def to_offset(cls, offset: int) -> ResetSpec:
        """Return a spec for one absolute offset on every partition."""
        return cls("to-offset", offset=offset)

    @classmethod
    def shift_by(cls, n: int) -> ResetSpec:
        """Return a spec moving each committed offset by ``n`` (negative rewinds)."""
        return cls("shift-by", offset=n)

    @classmethod
    def to_datetime(cls, timestamp_ms: int) -> ResetSpec:
        """Return a spec for the first offset at or after ``timestamp_ms``."""
        return cls("to-datetime", timestamp_ms=timestamp_ms)

    @classmethod
    def by_duration(cls, duration: timedelta) -> ResetSpec:
        """Return a spec for the first offset at or after ``now - duration``."""
        return cls("by-duration", duration=duration)

    @classmethod
    def from_file(cls, offsets: Mapping[TP, int]) -> ResetSpec:
        """Return a spec taking each partition's offset from a parsed CSV file."""
        return cls("from-file", file_offsets=dict(offsets))

    def resolved(self, now_ms: int) -> ResetSpec:
        """Return this spec with ``by-duration`` turned into its timestamp at ``now_ms``."""
        if self.kind == "by-duration" and self.duration is not None:
            delta_ms = self.duration // timedelta(milliseconds=1)
            return ResetSpec("by-duration", timestamp_ms=now_ms - delta_ms, duration=self.duration)
        return self

    @property
    def needs_timestamp_lookup(self) -> bool:
        """Return whether planning needs offsets looked up by timestamp."""
        return self.kind in ("to-datetime", "by-duration")


@dataclass(frozen=True)
class PartitionState:
    """What the planner knows about one partition.

    ``committed`` is the group's committed offset, ``None`` if it has none.
    ``offset_for_time`` is the first offset at or after the spec's timestamp,
    ``None`` if no record is that recent (or no lookup was made).
    """

    log_start_offset: int
    log_end_offset: int
    committed: int | None = None
    offset_for_time: int | None = None


@dataclass(frozen=True)
class PlannedOffset:
    """One partition's new offset, and the warning if it had to be clamped."""

    tp: TP
    new_offset: int
    requested: int
    warning: str | None = None


@dataclass(frozen=True)
class ResetPlan:
    """The new offsets for one group, in topic/partition order."""

    group: str
    spec: ResetSpec
    offsets: list[PlannedOffset]

    @property
    def warnings(self) -> list[str]:
        """Return the clamping warnings, in partition order."""
        return [p.warning for p in self.offsets if p.warning]

    def as_dict(self) -> dict[TP, int]:
        """Return ``{TP: new offset}``."""
        return {p.tp: p.new_offset for p in self.offsets}


def clamp_offset(tp: TP, requested: int, state: PartitionState) -> PlannedOffset:
    """Clamp ``requested`` into the partition's log range, warning as Kafka does."""
    if requested > state.log_end_offset:
        return PlannedOffset(
            tp,
            state.log_end_offset,
            requested,
            f"New offset ({requested}) is higher than latest offset for topic partition {tp}. "
            f"Value will be set to {state.log_end_offset}",
        )
    if requested < state.log_start_offset:
        return PlannedOffset(
            tp,
            state.log_start_offset,
            requested,
            f"New offset ({requested}) is lower than earliest offset for topic partition {tp}. "
            f"Value will be set to {state.log_start_offset}",
        )
    return PlannedOffset(tp, requested, requested)


def requested_offset(spec: ResetSpec, tp: TP, state: PartitionState) -> int:
    """Return the offset ``spec`` asks for on ``tp``, before clamping.

    Raises:
        InvalidInputError: ``shift-by`` on a partition with no committed offset, or
            ``from-file`` without a row for ``tp``.
    """
    kind = spec.kind
    if kind == "to-earliest":
        return state.log_start_offset
    if kind == "to-latest":
        return state.log_end_offset
    if kind == "to-current":
        return state.committed if state.committed is not None else state.log_end_offset
    if kind == "to-offset":
        assert spec.offset is not None
        return spec.offset
    if kind == "shift-by":
        assert spec.offset is not None
        if state.committed is None:
            raise InvalidInputError(
                f"cannot shift offset for partition {tp} since there is no current committed offset"
            )
        return state.committed + spec.offset
    if kind in ("to-datetime", "by-duration"):
        return state.offset_for_time if state.offset_for_time is not None else state.log_end_offset
    if kind == "from-file":
        assert spec.file_offsets is not None
        if tp not in spec.file_offsets:
            raise InvalidInputError(f"no offset for partition {tp} in the file")
        return spec.file_offsets[tp]
    raise AssertionError(f"unknown reset spec {kind}")


def plan_reset(group: str, spec: ResetSpec, states: Mapping[TP, PartitionState]) -> ResetPlan:
    """Return the clamped new offset for every partition in ``states``.

    Raises:
        InvalidInputError: as :func:`requested_offset`; nothing is planned then.
    """
    planned = [clamp_offset(tp, requested_offset(spec, tp, states[tp]), states[tp])
               for tp in sorted(states)]
    return ResetPlan(group, spec, planned)


# -- the CSV format of --export and --from-file -----------------------------------------


def export_csv(plan: ResetPlan, *, with_group: bool = False) -> str:
    """Return ``topic,partition,offset`` lines (``group,...`` first if ``with_group``),
    the format ``kafka-consumer-groups.sh --export`` writes, with no header row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for p in plan.offsets:
        row: list[object] = [p.tp.topic, p.tp.partition, p.new_offset]
        writer.writerow([plan.group, *row] if with_group else row)
    return buf.getvalue()


def parse_offsets_csv(text: str, group: str | None = None) -> dict[TP, int]:
    """Parse ``topic,partition,offset`` rows, or ``group,topic,partition,offset`` rows
    of which only ``group``'s are kept, as ``--from-file`` reads them.

    Blank lines and ``#`` comments are skipped; so is a header row naming the columns.

    Raises:
        InvalidInputError: a row has the wrong number of fields, a non-numeric or
            negative partition or offset, or a partition appears twice.
    """
    out: dict[TP, int] = {}
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in row]
        if lineno == 1 and fields[-1].lower() == "offset":
            continue
        if len(fields) == 4:
            row_group, *fields = fields
            if group is not None and row_group != group:
                continue
        if len(fields) != 3:
            raise InvalidInputError(
                f"line {lineno}: expected topic,partition,offset but got {','.join(row)!r}"
            )
        topic, partition, offset = fields
        if not topic or not partition.isdigit() or not offset.isdigit():
            raise InvalidInputError(
                f"line {lineno}: expected topic,partition,offset with non-negative numbers, "
                f"got {','.join(row)!r}"
            )
        tp = TP(topic, int(partition))
        if tp in out:
            raise InvalidInputError(f"line {lineno}: partition {tp} appears twice")
        out[tp] = int(offset)
    return out


def select_tps(tps: Iterable[TP], selections: Iterable[TopicSelection]) -> list[TP]:
    """Return the ``tps`` that some selection names (all partitions of a topic when the
    selection names none)."""
    sel = list(selections)
    keep = []
    for tp in tps:
        for s in sel:
            if s.topic == tp.topic and (s.partitions is None or tp.partition in s.partitions):
                keep.append(tp)
                break
    return sorted(keep)
