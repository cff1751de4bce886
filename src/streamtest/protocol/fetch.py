"""Hand-written Fetch response encoder (the hot path).

The response is returned as a list of buffers: small encoded headers interleaved
with the stored record batches themselves, which are never joined into one copy.
The transport writes them with ``writelines``.

Fetch response layout, v4-v16 (v12+ flexible, v13+ topic IDs instead of names)::

    throttle_time_ms INT32, error_code INT16 (v7+), session_id INT32 (v7+),
    responses [topic STRING | topic_id UUID (v13+),
               partitions [partition_index INT32, error_code INT16,
                           high_watermark INT64, last_stable_offset INT64,
                           log_start_offset INT64 (v5+),
                           aborted_transactions [producer_id INT64, first_offset INT64],
                           preferred_read_replica INT32 (v11+),
                           records RECORDS]]
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from .headers import (
    leader_tag,
    node_endpoints_tag,
    write_array_len,
    write_string,
    write_uvarint,
)

_TOP = struct.Struct(">ihi")
_PART = struct.Struct(">ihqq")
_I64 = struct.Struct(">q")
_I32 = struct.Struct(">i")
_ABORTED = struct.Struct(">qq")

Buffer = bytes | bytearray | memoryview


@dataclass(slots=True)
class FetchPartitionData:
    """One partition's part of a Fetch response."""

    partition_index: int
    error_code: int = 0
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1
    aborted_transactions: list[tuple[int, int]] | None = None
    records: Sequence[Buffer] = field(default_factory=list)
    #: ``(leader_id, leader_epoch)`` for NOT_LEADER_OR_FOLLOWER and
    #: FENCED_LEADER_EPOCH (KIP-951, v16+).
    current_leader: tuple[int, int] | None = None
    #: ``(epoch, end_offset)`` where the fetcher's log diverges (KIP-320, v12+).
    diverging_epoch: tuple[int, int] | None = None

    @property
    def records_size(self) -> int:
        """Return the total size of the record batches in bytes."""
        return sum(len(b) for b in self.records)


@dataclass(slots=True)
class FetchTopicData:
    """One topic's part of a Fetch response."""

    name: str
    topic_id: uuid.UUID
    partitions: list[FetchPartitionData]


_EPOCH_END = struct.Struct(">iq")


def _diverging_tag(epoch: int, end_offset: int) -> bytes:
    """Tagged field 0 of a partition: ``EpochEndOffset`` (epoch, end offset)."""
    out = bytearray(b"\x00")
    write_uvarint(out, _EPOCH_END.size + 1)
    out += _EPOCH_END.pack(epoch, end_offset)
    out.append(0)
    return bytes(out)


def encode_fetch_response(
    version: int,
    topics: Sequence[FetchTopicData],
    *,
    error_code: int = 0,
    session_id: int = 0,
    throttle_time_ms: int = 0,
    node_endpoints: list[tuple[int, str, int, str | None]] | None = None,
) -> list[Buffer]:
    """Encode a Fetch response body (4 <= version <= 16) as a list of buffers; from
    v16 with KIP-951's ``current_leader`` and ``node_endpoints`` tagged fields."""
    flexible = version >= 12
    out: list[Buffer] = []
    head = bytearray()
    if version >= 7:
        head += _TOP.pack(throttle_time_ms, error_code, session_id)
    else:
        head += _I32.pack(throttle_time_ms)
    write_array_len(head, len(topics), flexible)
    for topic in topics:
        if version >= 13:
            head += topic.topic_id.bytes
        else:
            write_string(head, topic.name, flexible)
        write_array_len(head, len(topic.partitions), flexible)
        for p in topic.partitions:
            head += _PART.pack(
                p.partition_index, p.error_code, p.high_watermark, p.last_stable_offset
            )
            if version >= 5:
                head += _I64.pack(p.log_start_offset)
            aborted = p.aborted_transactions
            if aborted is None:
                write_array_len(head, -1, flexible)
            else:
                write_array_len(head, len(aborted), flexible)
                for producer_id, first_offset in aborted:
                    head += _ABORTED.pack(producer_id, first_offset)
                    if flexible:
                        head.append(0)
            if version >= 11:
                head += _I32.pack(-1)  # preferred_read_replica: none (KIP-392)
            size = p.records_size
            if flexible:
                write_uvarint(head, size + 1)
            else:
                head += _I32.pack(size)
            if size:
                out.append(bytes(head))
                out.extend(p.records)
                head = bytearray()
            if flexible:
                tags = []
                if p.diverging_epoch is not None:
                    tags.append(_diverging_tag(*p.diverging_epoch))
                if version >= 16 and p.current_leader is not None:
                    tags.append(leader_tag(1, *p.current_leader))
                head.append(len(tags))  # partition tagged fields
                for tag in tags:
                    head += tag
        if flexible:
            head.append(0)  # topic tagged fields
    if flexible:
        if version >= 16 and node_endpoints:
            head.append(1)
            head += node_endpoints_tag(node_endpoints)
        else:
            head.append(0)  # top-level tagged fields
    out.append(bytes(head))
    return out
