"""Plain data types shared by the broker inspection API and the test kit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """One record as stored in a topic partition.

    ``headers`` is a list of ``(key, value)`` pairs, in order, as Kafka allows
    repeated keys. ``timestamp`` is in milliseconds since the epoch.
    """

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)

    @classmethod
    def from_message(cls, msg: Any) -> KafkaRecord:
        """Return a confluent-kafka ``Message`` (one without an error) as a record."""
        _, timestamp = msg.timestamp()
        return cls(
            msg.topic(),
            msg.partition(),
            msg.offset(),
            timestamp,
            msg.key(),
            msg.value(),
            list(msg.headers() or []),
        )

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (bytes as latin-1-safe base64 strings)."""
        import base64

        def b64(b: bytes | None) -> str | None:
            return None if b is None else base64.b64encode(b).decode()

        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp,
            "key": b64(self.key),
            "value": b64(self.value),
            "headers": [[k, b64(v)] for k, v in self.headers],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KafkaRecord:
        """Inverse of :meth:`to_json`."""
        import base64

        def unb64(s: str | None) -> bytes | None:
            return None if s is None else base64.b64decode(s)

        return cls(
            data["topic"],
            data["partition"],
            data["offset"],
            data["timestamp"],
            unb64(data["key"]),
            unb64(data["value"]),
            [(k, unb64(v)) for k, v in data["headers"]],
        )
