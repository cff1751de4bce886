"""The embedded consumer protocol (``protocol_type="consumer"``) of classic groups.

The coordinator treats JoinGroup metadata and SyncGroup assignments as opaque,
except where Kafka itself looks inside: OffsetDelete refuses to delete offsets
of topics a live group subscribes to (GROUP_SUBSCRIBED_TO_TOPIC, KIP-496) and
offset expiry spares subscribed topics. Both need the subscribed topics.

Layouts (Apache Kafka ``ConsumerProtocolSubscription.json`` and
``ConsumerProtocolAssignment.json``, not flexible, int16 version prefix):

* Subscription v0: topics [string], user_data nullable bytes; v1 adds
  owned_partitions [topic string, partitions [int32]]; v2 adds generation_id
  int32; v3 adds rack_id nullable string.
* Assignment v0+: assigned_partitions [topic string, partitions [int32]],
  user_data nullable bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


@dataclass(slots=True)
class Subscription:
    """A decoded ConsumerProtocolSubscription."""

    topics: list[str]
    user_data: bytes | None = None
    owned_partitions: dict[str, list[int]] = field(default_factory=dict)
    generation_id: int = -1
    rack_id: str | None = None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)

    def int16(self) -> int:
        return self._take(">h")

    def int32(self) -> int:
        return self._take(">i")

    def string(self) -> str | None:
        n = self.int16()
        if n < 0:
            return None
        s = self.data[self.pos : self.pos + n]
        if len(s) != n:
            raise ValueError("truncated string")
        self.pos += n
        return s.decode()

    def bytes_(self) -> bytes | None:
        n = self.int32()
        if n < 0:
            return None
        b = self.data[self.pos : self.pos + n]
        if len(b) != n:
            raise ValueError("truncated bytes")
        self.pos += n
        return bytes(b)

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def topic_partitions(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for _ in range(max(self.int32(), 0)):
            topic = self.string() or ""
            out[topic] = [self.int32() for _ in range(max(self.int32(), 0))]
        return out


def decode_subscription(data: bytes) -> Subscription:
    """Decode JoinGroup member metadata of the consumer protocol.

    Raises:
        ValueError: the bytes are not a valid subscription.
    """
    try:
        r = _Reader(data)
        version = r.int16()
        topics = [r.string() or "" for _ in range(max(r.int32(), 0))]
        sub = Subscription(topics, r.bytes_())
        # Newer versions than we know keep the fields we know first (Kafka's rule).
        if version >= 1 and not r.at_end():
            sub.owned_partitions = r.topic_partitions()
        if version >= 2 and not r.at_end():
            sub.generation_id = r.int32()
        if version >= 3 and not r.at_end():
            sub.rack_id = r.string()
        return sub
    except struct.error as exc:
        raise ValueError(f"malformed consumer subscription: {exc}") from exc


def _string(s: str) -> bytes:
    raw = s.encode()
    return struct.pack(">h", len(raw)) + raw


def encode_subscription(topics: list[str], user_data: bytes | None = None) -> bytes:
    """Encode a v0 ConsumerProtocolSubscription (used by tests)."""
    out = struct.pack(">hi", 0, len(topics)) + b"".join(_string(t) for t in topics)
    if user_data is None:
        return out + struct.pack(">i", -1)
    return out + struct.pack(">i", len(user_data)) + user_data


def subscription_version(data: bytes) -> int:
    """Return the version prefix of consumer-protocol metadata (0 if there is none):
    an assignment for that member is written in the same version, as Kafka does."""
    if len(data) < 2:
        return 0
    (version,) = struct.unpack_from(">h", data, 0)
    return max(int(version), 0)


def decode_assignment(data: bytes) -> dict[str, list[int]]:
    """Decode a ConsumerProtocolAssignment's assigned partitions (empty bytes: none).

    Raises:
        ValueError: the bytes are not a valid assignment.
    """
    if not data:
        return {}
    try:
        r = _Reader(data)
        r.int16()
        return r.topic_partitions()
    except struct.error as exc:
        raise ValueError(f"malformed consumer assignment: {exc}") from exc


def encode_assignment(partitions: dict[str, list[int]], version: int = 0) -> bytes:
    """Encode a ConsumerProtocolAssignment (no user data) in ``version``'s layout,
    which is the same for every version Kafka has (v0-v3)."""
    out = struct.pack(">hi", version, len(partitions))
    for topic in sorted(partitions):
        parts = sorted(partitions[topic])
        out += _string(topic) + struct.pack(">i", len(parts))
        out += b"".join(struct.pack(">i", p) for p in parts)
    return out + struct.pack(">i", -1)
