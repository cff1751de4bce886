"""The records of ``__consumer_offsets``, in Kafka's key and value schemas.

Kafka's group coordinator keeps committed offsets and group metadata as records
of the compacted ``__consumer_offsets`` topic, and tools read them there (Burrow,
``kafka-console-consumer --formatter OffsetsMessageFormatter``). Each key and value
starts with an INT16 version; a key's version is its record type
(``group-coordinator/src/main/resources/common/message``):

* type 1, ``OffsetCommitKey`` ``{group, topic, partition}`` with
  ``OffsetCommitValue`` v3 ``{offset, leaderEpoch, metadata, commitTimestamp}``, or
  v1 (``..., expireTimestamp``) for commits with an explicit retention (OffsetCommit
  v2-v4); a null value deletes the offset;
* type 2, ``GroupMetadataKey`` ``{group}`` with ``GroupMetadataValue`` v3 (classic
  groups: protocol type, generation, protocol, leader, state time, members);
* type 3, ``ConsumerGroupMetadataKey`` ``{groupId}`` with
  ``ConsumerGroupMetadataValue`` v0 ``{epoch}`` (KIP-848 groups);
* type 11, ``ShareGroupMetadataKey`` ``{groupId}`` with ``ShareGroupMetadataValue``
  v0 ``{epoch, metadataHash}`` (KIP-932 share groups; the hash is written as 0).

The non-flexible versions are written (what Kafka 3.x writes and what older tools
parse); the flexible ones are read as well.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ...protocol.exceptions import InvalidFrame
from ...protocol.fields import FieldReader

OFFSET_COMMIT = 1
GROUP_METADATA = 2
CONSUMER_GROUP_METADATA = 3
SHARE_GROUP_METADATA = 11

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def i16(self, v: int) -> _Writer:
        self.out += _I16.pack(v)
        return self

    def i32(self, v: int) -> _Writer:
        self.out += _I32.pack(v)
        return self

    def i64(self, v: int) -> _Writer:
        self.out += _I64.pack(v)
        return self

    def string(self, s: str | None) -> _Writer:
        if s is None:
            return self.i16(-1)
        data = s.encode()
        return self.i16(len(data)).raw(data)

    def bytes_(self, b: bytes) -> _Writer:
        return self.i32(len(b)).raw(b)

    def raw(self, b: bytes) -> _Writer:
        self.out += b
        return self


# -- keys ----------------------------------------------------------------------------


def offset_key(group: str, topic: str, partition: int) -> bytes:
    """Return the key of a committed offset (type 1)."""
    return bytes(_Writer().i16(OFFSET_COMMIT).string(group).string(topic).i32(partition).out)


def group_key(group: str, record_type: int = GROUP_METADATA) -> bytes:
    """Return the key of a group's metadata (type 2 classic, 3 KIP-848; neither is
    flexible)."""
    return bytes(_Writer().i16(record_type).string(group).out)


@dataclass(frozen=True, slots=True)
class Key:
    """A decoded key: its record type, group, and (offsets) topic and partition."""

    record_type: int
    group: str
    topic: str | None = None
    partition: int | None = None


def decode_key(data: bytes) -> Key | None:
    """Return the decoded key, or ``None`` for a record type this broker does not
    keep (share groups, streams groups, ... written by someone else).

    Raises:
        InvalidFrame: a truncated key.
    """
    r = FieldReader(data, "__consumer_offsets")
    record_type = r.i16()
    if record_type in (0, OFFSET_COMMIT):
        return Key(OFFSET_COMMIT, r.string() or "", r.string() or "", r.i32())
    if record_type == GROUP_METADATA:
        return Key(GROUP_METADATA, r.string() or "")
    if record_type == CONSUMER_GROUP_METADATA:
        return Key(CONSUMER_GROUP_METADATA, r.string() or "")
    if record_type == SHARE_GROUP_METADATA:
        return Key(SHARE_GROUP_METADATA, r.string() or "")
    return None


# -- values --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OffsetValue:
    """``OffsetCommitValue``."""

    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp: int
    expire_timestamp: int | None = None


def offset_value(value: OffsetValue) -> bytes:
    """Encode a committed offset: v1 when it carries an expire timestamp, else v3."""
    w = _Writer()
    if value.expire_timestamp is not None:
        w.i16(1).i64(value.offset).string(value.metadata).i64(value.commit_timestamp)
        return bytes(w.i64(value.expire_timestamp).out)
    w.i16(3).i64(value.offset).i32(value.leader_epoch).string(value.metadata)
    return bytes(w.i64(value.commit_timestamp).out)


def decode_offset_value(data: bytes) -> OffsetValue:
    """Decode ``OffsetCommitValue`` v0-v4.

    Raises:
        InvalidFrame: truncated or of an unknown version.
    """
    r = FieldReader(data, "__consumer_offsets")
    version = r.i16()
    if version not in (0, 1, 2, 3, 4):
        raise InvalidFrame(f"unknown OffsetCommitValue version {version}")
    flexible = version >= 4
    offset = r.i64()
    epoch = r.i32() if version >= 3 else -1
    metadata = r.string(compact=flexible) or ""
    ts = r.i64()
    expire = r.i64() if version == 1 else None
    return OffsetValue(
        offset, epoch, metadata, ts, expire if expire is not None and expire >= 0 else None
    )


@dataclass(frozen=True, slots=True)
class MemberValue:
    """One member of ``GroupMetadataValue``."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout: int
    session_timeout: int
    subscription: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupValue:
    """``GroupMetadataValue`` (classic groups)."""

    protocol_type: str
    generation: int
    protocol: str | None
    leader: str | None
    current_state_timestamp: int
    members: list[MemberValue] = field(default_factory=list)


def group_value(value: GroupValue) -> bytes:
    """Encode classic group metadata as ``GroupMetadataValue`` v3."""
    w = _Writer().i16(3).string(value.protocol_type).i32(value.generation)
    w.string(value.protocol).string(value.leader).i64(value.current_state_timestamp)
    w.i32(len(value.members))
    for m in value.members:
        w.string(m.member_id).string(m.group_instance_id).string(m.client_id)
        w.string(m.client_host).i32(m.rebalance_timeout).i32(m.session_timeout)
        w.bytes_(m.subscription).bytes_(m.assignment)
    return bytes(w.out)


def decode_group_value(data: bytes) -> GroupValue:
    """Decode ``GroupMetadataValue`` v0-v4.

    Raises:
        InvalidFrame: truncated or of an unknown version.
    """
    r = FieldReader(data, "__consumer_offsets")
    version = r.i16()
    if version not in (0, 1, 2, 3, 4):
        raise InvalidFrame(f"unknown GroupMetadataValue version {version}")
    c = version >= 4
    protocol_type = r.string(c) or ""
    generation = r.i32()
    protocol = r.string(c)
    leader = r.string(c)
    ts = r.i64() if version >= 2 else -1
    members = []
    for _ in range(max(r.array_len(c), 0)):
        member_id = r.string(c) or ""
        instance = r.string(c) if version >= 3 else None
        client_id = r.string(c) or ""
        client_host = r.string(c) or ""
        rebalance = r.i32() if version >= 1 else -1
        session = r.i32()
        sub = r.bytes_(c)
        assign = r.bytes_(c)
        if c:
            r.skip_tags()
        members.append(
            MemberValue(
                member_id, instance, client_id, client_host, rebalance, session, sub, assign
            )
        )
    return GroupValue(protocol_type, generation, protocol, leader, ts, members)


def consumer_group_value(epoch: int) -> bytes:
    """Encode ``ConsumerGroupMetadataValue`` v0 (flexible: the group epoch, then
    no tagged fields)."""
    return _I16.pack(0) + _I32.pack(epoch) + b"\x00"


def decode_consumer_group_value(data: bytes) -> int:
    """Return the group epoch of a ``ConsumerGroupMetadataValue``.

    Raises:
        InvalidFrame: truncated.
    """
    r = FieldReader(data, "__consumer_offsets")
    r.i16()
    return r.i32()


def share_group_value(epoch: int, metadata_hash: int = 0) -> bytes:
    """Encode ``ShareGroupMetadataValue`` v0 (flexible: the group epoch, the hash of
    the subscribed topics' metadata, then no tagged fields)."""
    return _I16.pack(0) + _I32.pack(epoch) + _I64.pack(metadata_hash) + b"\x00"
