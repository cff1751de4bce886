"""The nodes as clients see them (Metadata and DescribeCluster broker entries)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..cluster import Cluster


def broker_entries(cluster: Cluster) -> list[dict[str, Any]]:
    """Return the registered nodes as ``{node_id, host, port, rack}``, by id: the
    live ones, and those that crashed less than ``broker.session.timeout.ms`` ago.

    KRaft fences a broker that stops heartbeating only when its session expires,
    so clients keep seeing a crashed broker in Metadata for that long (its
    partitions lead elsewhere here at once, a speed-up over Kafka's wait). Dropping
    it at once made librdkafka decommission a broker that still had a request in
    flight, and its transactional producer then stalled for good.
    """
    now = cluster.clock.now_ms()
    timeout = int(cluster.settings["broker.session.timeout.ms"])
    return [
        {"node_id": n.node_id, "host": n.advertised_host, "port": n.port, "rack": n.rack}
        for n in (cluster.nodes[i] for i in sorted(cluster.nodes))
        if n.running or (n.crashed_at_ms is not None and now - n.crashed_at_ms < timeout)
    ]
