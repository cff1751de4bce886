"""``consume``: kcat-style reading of a topic from a chosen position.

Start positions follow kcat's ``-o``: ``beginning``, ``end``, an absolute offset
``N``, ``-N`` (N before the end), ``s@<ms>`` (first record at or after a
timestamp) and ``e@<ms>`` (stop before the first record at or after a
timestamp). Output formats follow kcat's ``-f`` tokens and ``-J`` envelope.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, TopicPartition
from confluent_kafka.admin import OffsetSpec

from ..types import KafkaRecord
from .client import ClientConfig, check_reachable, list_topic_partitions, resolve_partitions
from .errors import InvalidInputError, OpsError
from .groups import list_offsets
from .plan import TP
from .replay import record_from_message

TIMESTAMP_TYPES = {0: "none", 1: "create", 2: "logappend"}


@dataclass(frozen=True)
class StartSpec:
    """Where ``consume`` starts and (optionally) stops, per partition.

    ``kind`` is ``beginning``, ``end``, ``offset`` (absolute ``value``),
    ``relative`` (``value`` before the end) or ``timestamp`` (``value`` in ms).
    ``end_timestamp`` stops each partition before its first record at or after it.
    """

    kind: str = "end"
    value: int = 0
    end_timestamp: int | None = None


def parse_offset_options(values: Sequence[str]) -> StartSpec:
    """Combine kcat ``-o`` values (``e@`` may accompany one start position).

    Raises:
        InvalidInputError: an unknown form, or two start positions.
    """
    start: StartSpec | None = None
    end_ts: int | None = None
    for raw in values:
        text = raw.strip()
        if m := re.fullmatch(r"e@(\d+)", text):
            end_ts = int(m.group(1))
            continue
        if text in ("beginning", "end"):
            spec = StartSpec(text)
        elif m := re.fullmatch(r"s@(\d+)", text):
            spec = StartSpec("timestamp", int(m.group(1)))
        elif re.fullmatch(r"\d+", text):
            spec = StartSpec("offset", int(text))
        elif re.fullmatch(r"-\d+", text):
            spec = StartSpec("relative", -int(text))
        else:
            raise InvalidInputError(
                f"invalid offset {raw!r}: expected beginning, end, N, -N, s@<ms> or e@<ms>"
            )
        if start is not None:
            raise InvalidInputError("only one start offset may be given (plus an e@<ms> end)")
        start = spec
    start = start or StartSpec("end" if end_ts is None else "beginning")
    return StartSpec(start.kind, start.value, end_ts)


def start_offsets(
    config: ClientConfig, topic: str, partitions: list[int] | None, spec: StartSpec
) -> dict[TP, int]:
    """Resolve ``spec`` to a start offset on each selected partition (within the log).

    Raises:
        UnknownTopicError, UnknownPartitionError: nothing real selected.
    """
    check_reachable(config)
    admin = config.admin()
    parts = resolve_partitions(list_topic_partitions(admin, config), topic, partitions)
    tps = [TP(topic, p) for p in parts]
    lows = list_offsets(admin, config, {tp: OffsetSpec.earliest() for tp in tps})
    highs = list_offsets(admin, config, {tp: OffsetSpec.latest() for tp in tps})
    at_time: dict[TP, tuple[int, int]] = {}
    if spec.kind == "timestamp":
        at_time = list_offsets(admin, config, {tp: OffsetSpec.for_timestamp(spec.value)
                                               for tp in tps})
    out = {}
    for tp in tps:
        low, high = lows[tp][0], highs[tp][0]
        if spec.kind == "beginning":
            off = low
        elif spec.kind == "end":
            off = high
        elif spec.kind == "offset":
            off = spec.value
        elif spec.kind == "relative":
            off = high - spec.value
        else:
            found = at_time[tp][0]
            off = found if found >= 0 else high
        out[tp] = min(max(off, low), high)
    return out


def consume(
    config: ClientConfig,
    topic: str,
    partitions: list[int] | None,
    spec: StartSpec,
    on_record: Callable[[KafkaRecord, int], object],
    *,
    count: int | None = None,
    exit_at_end: bool = False,
    idle_timeout: float | None = None,
) -> int:
    """Read ``topic`` from ``spec`` and call ``on_record(record, timestamp_type)``.

    Stops after ``count`` records; with ``exit_at_end`` once every partition is at
    its end; when every partition passed ``spec.end_timestamp``; or after
    ``idle_timeout`` seconds without records. Otherwise it follows the topic until
    interrupted. Never commits. Returns the number of records read.

    Raises:
        OpsError: the consumer reported an error.
    """
    starts = start_offsets(config, topic, partitions, spec)
    consumer = config.consumer()
    live = set(starts)
    at_end: set[TP] = set()
    seen = 0
    try:
        consumer.assign([TopicPartition(tp.topic, tp.partition, off) for tp, off in starts.items()])
        last = time.monotonic()
        while live and (count is None or seen < count):
            if exit_at_end and live <= at_end:
                break
            if idle_timeout is not None and time.monotonic() - last > idle_timeout:
                break
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            tp = TP(msg.topic(), msg.partition())
            if tp not in live:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    at_end.add(tp)
                    continue
                raise OpsError(f"cannot read {tp}: {err.name()}: {err.str()}")
            at_end.discard(tp)
            last = time.monotonic()
            ts_type, ts = msg.timestamp()
            if spec.end_timestamp is not None and ts >= spec.end_timestamp:
                live.discard(tp)
                consumer.incremental_unassign([TopicPartition(tp.topic, tp.partition)])
                continue
            on_record(record_from_message(msg), ts_type)
            seen += 1
    finally:
        consumer.close()
    return seen


# -- output formats ---------------------------------------------------------------------


def _text(b: bytes | None) -> str:
    return "" if b is None else b.decode("utf-8", errors="replace")


def unescape(fmt: str) -> str:
    r"""Expand ``\n``, ``\t``, ``\r``, ``\0`` and ``\\`` as kcat does in ``-f``/``-D``/``-K``."""
    return re.sub(
        r"\\([ntr0\\])",
        lambda m: {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\"}[m.group(1)],
        fmt,
    )


def format_record(
    fmt: str, record: KafkaRecord, timestamp_type: int = 1, *, null: bytes = b""
) -> bytes:
    """Expand kcat ``-f`` tokens into the bytes to write: ``%t`` topic, ``%p``
    partition, ``%o`` offset, ``%k`` key, ``%K`` key length, ``%s`` value, ``%S`` value
    length, ``%T`` timestamp (ms), ``%h`` headers (``k=v,k=v``), ``%%`` a percent sign.

    Keys, values and header values are written as they are stored, byte for byte
    (kcat does the same; nothing is decoded or replaced). A null key or value
    prints as the ``null`` argument (empty; ``NULL`` with kcat's ``-Z``), its
    length as -1.

    Raises:
        InvalidInputError: an unknown token.
    """
    out = bytearray()
    text = unescape(fmt)
    i = 0
    while i < len(text):
        c = text[i]
        if c != "%" or i + 1 >= len(text):
            out += c.encode("utf-8")
            i += 1
            continue
        t = text[i + 1]
        i += 2
        if t == "t":
            out += record.topic.encode("utf-8")
        elif t == "p":
            out += str(record.partition).encode()
        elif t == "o":
            out += str(record.offset).encode()
        elif t == "k":
            out += null if record.key is None else record.key
        elif t == "K":
            out += str(-1 if record.key is None else len(record.key)).encode()
        elif t == "s":
            out += null if record.value is None else record.value
        elif t == "S":
            out += str(-1 if record.value is None else len(record.value)).encode()
        elif t == "T":
            out += str(record.timestamp).encode()
        elif t == "h":
            out += b",".join(
                k.encode("utf-8") + b"=" + (null if v is None else v) for k, v in record.headers
            )
        elif t == "%":
            out += b"%"
        else:
            raise InvalidInputError(f"unknown format token %{t}")
    return bytes(out)


def validate_format(fmt: str) -> None:
    """Raise :class:`InvalidInputError` now if ``fmt`` has an unknown token."""
    format_record(fmt, KafkaRecord("t", 0, 0, 0, None, None, []))


def json_envelope(record: KafkaRecord, timestamp_type: int = 1) -> str:
    """Return kcat's ``-J`` envelope: topic, partition, offset, tstype, ts, headers
    (a flat ``[name, value, ...]`` list), key and payload as UTF-8 text (null if null)."""
    headers: list[str | None] = []
    for k, v in record.headers:
        headers += [k, None if v is None else _text(v)]
    return json.dumps(
        {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "tstype": TIMESTAMP_TYPES.get(timestamp_type, "unknown"),
            "ts": record.timestamp,
            "headers": headers,
            "key": None if record.key is None else _text(record.key),
            "payload": None if record.value is None else _text(record.value),
        },
        ensure_ascii=False,
    )
