"""Log directories as Kafka tools see them (DescribeLogDirs, AlterReplicaLogDirs).

Each node has one log directory: the cluster's data dir, or, for a cluster kept in
memory, a ``memory://`` name that says there is no directory
(:meth:`~..cluster.Cluster.log_dir`). A node describes only its own replicas, as a
Kafka broker does.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..cluster import Cluster
    from ..topics import Partition

#: Kafka's "unknown" for a volume's total or usable bytes (DescribeLogDirs v4).
UNKNOWN_BYTES = -1


def replica_size(partition: Partition, node_id: int) -> int:
    """Return the bytes of ``node_id``'s replica of ``partition`` (its segments'
    sizes, as Kafka's ``UnifiedLog.size``)."""
    return int(partition.logs[node_id].size_bytes)  # type: ignore[attr-defined]


def offset_lag(partition: Partition, node_id: int) -> int:
    """Return how far ``node_id``'s replica is behind the high watermark (Kafka's
    ``getLogEndOffsetLag`` for a current replica: ``max(hw - leo, 0)``)."""
    leo = partition.logs[node_id].log_end_offset
    try:
        hw = partition.high_watermark
    except ValueError:  # no replica in the ISR has a log
        return 0
    return max(hw - leo, 0)


def volume_bytes(cluster: Cluster) -> tuple[int, int]:
    """Return the total and usable bytes of the volume the data dir is on, or
    :data:`UNKNOWN_BYTES` twice for a cluster kept in memory."""
    if cluster.data_dir is None:
        return UNKNOWN_BYTES, UNKNOWN_BYTES
    try:
        usage = shutil.disk_usage(cluster.data_dir)
    except OSError:
        return UNKNOWN_BYTES, UNKNOWN_BYTES
    return usage.total, usage.free
