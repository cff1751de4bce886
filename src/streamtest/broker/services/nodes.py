"""The nodes as clients see them (Metadata and DescribeCluster broker entries)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..cluster import Cluster


def broker_entries(cluster: Cluster) -> list[dict[str, Any]]:
    """Return the live nodes as ``{node_id, host, port, rack}``, by id."""
    return [
        {"node_id": n.node_id, "host": n.advertised_host, "port": n.port, "rack": n.rack}
        for n in (cluster.nodes[i] for i in cluster.live_node_ids())
    ]
