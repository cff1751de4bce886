"""Hand-written Produce request decoder and response encoder (the hot path).

Produce v3-v11 share one request layout; v9+ is flexible (KIP-482)::

    transactional_id NULLABLE_STRING, acks INT16, timeout_ms INT32,
    topic_data [name STRING, partition_data [index INT32, records RECORDS]]

Record data is returned as ``memoryview`` slices of the request frame: nothing is
copied between the socket buffer and the partition log.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .exceptions import InvalidFrame
from .headers import (
    leader_tag,
    node_endpoints_tag,
    read_uvarint,
    skip_tagged_fields,
    write_array_len,
    write_string,
)

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_ACKS_TIMEOUT = struct.Struct(">hi")
_PART_V0 = struct.Struct(">ihqq")  # index, error_code, base_offset, log_append_time


@dataclass(slots=True)
class ProducePartition:
    """One partition's record set in a Produce request."""

    index: int
    records: memoryview | None


@dataclass(slots=True)
class ProduceTopic:
    """One topic's partitions in a Produce request."""

    name: str
    partitions: list[ProducePartition]


@dataclass(slots=True)
class ProduceRequest:
    """A decoded Produce request."""

    transactional_id: str | None
    acks: int
    timeout_ms: int
    topics: list[ProduceTopic]


def _string(buf: memoryview, pos: int, flexible: bool, nullable: bool) -> tuple[str | None, int]:
    if flexible:
        n, pos = read_uvarint(buf, pos)
        n -= 1
    else:
        (n,) = _I16.unpack_from(buf, pos)
        pos += 2
    if n < 0:
        if not nullable:
            raise InvalidFrame("null string where one is required")
        return None, pos
    end = pos + n
    if end > len(buf):
        raise InvalidFrame("string runs past the end of the frame")
    try:
        return bytes(buf[pos:end]).decode("utf-8"), end
    except UnicodeDecodeError as exc:
        raise InvalidFrame(f"string is not UTF-8: {exc}") from exc


def _array_len(buf: memoryview, pos: int, flexible: bool) -> tuple[int, int]:
    if flexible:
        n, pos = read_uvarint(buf, pos)
        return n - 1, pos
    (n,) = _I32.unpack_from(buf, pos)
    return n, pos + 4


def _count(buf: memoryview, pos: int, flexible: bool, field: str) -> tuple[int, int]:
    """Read the length of a non-nullable array: null or negative is malformed."""
    n, pos = _array_len(buf, pos, flexible)
    if n < 0:
        raise InvalidFrame(f"non-nullable field {field} was serialized as null or negative")
    return n, pos


def decode_produce_request(frame: bytearray, offset: int, version: int) -> ProduceRequest:
    """Decode a Produce request body that starts at ``offset`` in ``frame``.

    Raises:
        InvalidFrame: the body is truncated or malformed.
    """
    flexible = version >= 9
    buf = memoryview(frame)
    try:
        txn_id, pos = _string(buf, offset, flexible, nullable=True)
        acks, timeout_ms = _ACKS_TIMEOUT.unpack_from(buf, pos)
        pos += 6
        n_topics, pos = _count(buf, pos, flexible, "topic_data")
        topics: list[ProduceTopic] = []
        for _ in range(n_topics):
            name, pos = _string(buf, pos, flexible, nullable=False)
            n_parts, pos = _count(buf, pos, flexible, "partition_data")
            parts: list[ProducePartition] = []
            for _p in range(n_parts):
                (index,) = _I32.unpack_from(buf, pos)
                pos += 4
                size, pos = _array_len(buf, pos, flexible)
                records = None
                if size < -1:
                    raise InvalidFrame(f"records have a negative length {size}")
                if size >= 0:
                    if pos + size > len(buf):
                        raise InvalidFrame("record set runs past the end of the frame")
                    records = buf[pos : pos + size]
                    pos += size
                if flexible:
                    pos = skip_tagged_fields(buf, pos)
                parts.append(ProducePartition(index, records))
            if flexible:
                pos = skip_tagged_fields(buf, pos)
            topics.append(ProduceTopic(name or "", parts))
    except struct.error as exc:
        raise InvalidFrame(f"truncated Produce request: {exc}") from exc
    return ProduceRequest(txn_id, acks, timeout_ms, topics)


@dataclass(slots=True)
class PartitionResult:
    """The broker's answer for one partition of a Produce request."""

    index: int
    error_code: int = 0
    base_offset: int = -1
    log_append_time_ms: int = -1
    log_start_offset: int = -1
    error_message: str | None = None
    #: ``(leader_id, leader_epoch)`` for NOT_LEADER_OR_FOLLOWER (KIP-951, v10+).
    current_leader: tuple[int, int] | None = None


def encode_produce_response(
    version: int,
    results: list[tuple[str, list[PartitionResult]]],
    throttle_time_ms: int = 0,
    node_endpoints: list[tuple[int, str, int, str | None]] | None = None,
) -> bytes:
    """Encode a Produce response body for ``version`` (3-11). From v10 a partition's
    ``current_leader`` and the ``node_endpoints`` are sent as tagged fields
    (KIP-951), so a client fails over without a metadata round trip."""
    flexible = version >= 9
    out = bytearray()
    write_array_len(out, len(results), flexible)
    for name, parts in results:
        write_string(out, name, flexible)
        write_array_len(out, len(parts), flexible)
        for p in parts:
            out += _PART_V0.pack(p.index, p.error_code, p.base_offset, p.log_append_time_ms)
            if version >= 5:
                out += struct.pack(">q", p.log_start_offset)
            if version >= 8:
                write_array_len(out, 0, flexible)  # record_errors
                write_string(out, p.error_message, flexible)
            if flexible:
                if version >= 10 and p.current_leader is not None:
                    out.append(1)
                    out += leader_tag(0, *p.current_leader)
                else:
                    out.append(0)
        if flexible:
            out.append(0)
    out += _I32.pack(throttle_time_ms)
    if flexible:
        if version >= 10 and node_endpoints:
            out.append(1)
            out += node_endpoints_tag(node_endpoints)
        else:
            out.append(0)
    return bytes(out)
