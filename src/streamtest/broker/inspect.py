"""Reading and changing a cluster without the wire protocol, for tests and tools.

``EmbeddedKafka`` calls these on the cluster's loop in thread mode, and the child
process calls them for its parent in process mode: the same functions serve both,
so what a test sees cannot differ between the modes. They return plain data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .services.topics import TopicError

if TYPE_CHECKING:
    from .cluster import Cluster


def topic_names(cluster: Cluster) -> list[str]:
    """Return every topic name, sorted."""
    return sorted(cluster.topics.names())


def records(
    cluster: Cluster, topic: str, partition: int | None, read_committed: bool = False
) -> list[dict[str, Any]]:
    """Return the readable records of ``topic`` (or one partition) as dicts with
    ``topic, partition, offset, timestamp, key, value, headers`` (bytes values),
    ordered by partition then offset.

    Raises:
        KeyError: unknown topic or partition.
    """
    t = cluster.topics.get(topic)
    if t is None:
        raise KeyError(f"unknown topic {topic!r}")
    partitions = t.partitions
    if partition is not None:
        if not 0 <= partition < len(partitions):
            raise KeyError(f"topic {topic!r} has no partition {partition}")
        partitions = [partitions[partition]]
    out = []
    for p in partitions:
        if not p.online:
            raise KeyError(f"partition {topic}-{p.index} has no leader (its nodes are down)")
        for r in p.records(read_committed):
            out.append(
                {
                    "topic": topic,
                    "partition": p.index,
                    "offset": r.offset,
                    "timestamp": r.timestamp,
                    "key": r.key,
                    "value": r.value,
                    "headers": list(r.headers),
                }
            )
    return out


def create_topic(
    cluster: Cluster,
    name: str,
    partitions: int | None,
    config: dict[str, str] | None,
    replication_factor: int | None = None,
) -> None:
    """Create a topic without the wire protocol.

    Raises:
        ValueError: the name is illegal, the topic exists, a config is invalid, or
            the replication factor cannot be met (Kafka's message).
    """
    try:
        cluster.create_topic(name, partitions, config, replication_factor)
    except TopicError as exc:
        raise ValueError(exc.message) from None
