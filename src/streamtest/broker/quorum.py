"""The KRaft metadata quorum, as DescribeQuorum (key 55) reports it.

A Kafka 4.x cluster keeps its metadata in the ``__cluster_metadata`` log,
replicated by a Raft quorum of controllers. Every node of a streamtest cluster
reports ``process.roles=broker,controller``, so a Kafka cluster shaped like it
would have every node as a voter (no observers), the active controller as the
quorum leader, and a leader epoch that grows with each election.

streamtest has no Raft log: the nodes share one metadata state in one process. So
this module reports what that state supports, and labels the rest:

* leader: the active controller (the lowest running node, as DescribeCluster and
  Metadata say); its epoch grows by one each time the leader changes;
* high watermark: a position that grows with each metadata change Kafka would
  record (a topic, a partition, each partition change, a deleted topic, a topic or
  broker config change, a node stopping or starting). Kafka's offsets also count
  records streamtest has no equivalent of (periodic no-op records, broker
  heartbeats' registrations, feature levels), so the numbers are not a Kafka
  cluster's; they move when the metadata moves;
* voters: every node. A running node shares the state, so it is caught up by
  construction (its log end offset is the high watermark, fetched now); a stopped
  node keeps the position and time it had when it stopped, as a Kafka voter that
  stopped fetching would;
* directory ids are zero, as in a Kafka quorum of static voters
  (``controller.quorum.voters``, kraft.version 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .topics import Partition, Topic

#: The metadata log's name and partition.
METADATA_TOPIC = "__cluster_metadata"
METADATA_PARTITION = 0


class MetadataQuorum:
    """The quorum's leader, epoch, position and voters (see the module docstring).

    Args:
        now_ms: the cluster clock's wall time in milliseconds.
        node_ids: every node id.
        live_node_ids: the ids of the running nodes.
        partitions: every partition of every topic.
        topic_count: how many topics exist.
    """

    def __init__(
        self,
        now_ms: Callable[[], int],
        node_ids: Callable[[], list[int]],
        live_node_ids: Callable[[], list[int]],
        partitions: Callable[[], Iterable[Partition]],
        topic_count: Callable[[], int],
    ) -> None:
        self._now_ms = now_ms
        self._node_ids = node_ids
        self._live = live_node_ids
        self._partitions = partitions
        self._topic_count = topic_count
        #: Changes counted as they happen (configs, deletions, node changes).
        self._changes = 0
        self.leader_id = -1
        self.leader_epoch = 0
        #: Position and time of each stopped voter when it stopped.
        self._stopped: dict[int, tuple[int, int]] = {}
        self.nodes_changed()

    def record(self, count: int = 1) -> None:
        """Count ``count`` metadata changes (a config change, say)."""
        self._changes += count

    def topic_deleted(self, topic: Topic) -> None:
        """Keep the changes of a deleted topic counted, plus its removal."""
        self._changes += 2 + sum(1 + p.partition_epoch for p in topic.partitions)

    def high_watermark(self) -> int:
        """Return the metadata position (see the module docstring)."""
        partitions = sum(1 + p.partition_epoch for p in self._partitions())
        return self._changes + self._topic_count() + partitions

    def nodes_changed(self) -> None:
        """Note that nodes started or stopped: record it, elect the new leader if
        the active controller changed, and freeze what stopped voters had."""
        live = self._live()
        hw = self.high_watermark()
        now = self._now_ms()
        for node_id in self._node_ids():
            if node_id in live:
                self._stopped.pop(node_id, None)
            elif node_id not in self._stopped:
                self._stopped[node_id] = (hw, now)
        leader = live[0] if live else -1
        if leader != self.leader_id:
            self.leader_id = leader
            if leader >= 0:
                self.leader_epoch += 1
        self.record()

    def voters(self) -> list[dict[str, int]]:
        """Return each voter's replica state for DescribeQuorum."""
        hw = self.high_watermark()
        now = self._now_ms()
        out = []
        for node_id in self._node_ids():
            leo, fetched = self._stopped.get(node_id, (hw, now))
            out.append(
                {
                    "replica_id": node_id,
                    "log_end_offset": leo,
                    "last_fetch_timestamp": fetched,
                    "last_caught_up_timestamp": fetched,
                }
            )
        return out
