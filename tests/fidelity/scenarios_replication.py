"""Scenarios for the replication APIs a client or admin tool sends to a broker:
OffsetForLeaderEpoch (23), ElectLeaders (43), AlterPartitionReassignments (45) and
ListPartitionReassignments (46). Both sides are one node here, so these pin down
the single-replica answers (ELECTION_NOT_NEEDED, NO_REASSIGNMENT_IN_PROGRESS, the
end offset of epoch 0); the multi-node behaviour is covered by tests/cluster."""

from __future__ import annotations

from typing import Any

from .harness import Side, scenario
from .scenarios_data import batch

PREFERRED, UNCLEAN = 0, 1  # ElectLeaders election_type (KIP-460)


def epoch_request(
    topic: str, partition: int, leader_epoch: int, current_leader_epoch: int = -1
) -> dict[str, Any]:
    """An OffsetForLeaderEpoch request for one partition, as a consumer sends it
    (replica_id -1 from v3: not a follower)."""
    return {
        "replica_id": -1,
        "topics": [
            {
                "topic": topic,
                "partitions": [
                    {
                        "partition": partition,
                        "current_leader_epoch": current_leader_epoch,
                        "leader_epoch": leader_epoch,
                    }
                ],
            }
        ],
    }


def elect_request(topic: str, partitions: list[int], election_type: int = PREFERRED) -> dict:
    """An ElectLeaders request for some partitions of one topic."""
    return {
        "election_type": election_type,
        "topic_partitions": [{"topic": topic, "partitions": partitions}],
        "timeout": 30000,
    }


def reassign_request(topic: str, partition: int, replicas: list[int] | None) -> dict:
    """An AlterPartitionReassignments request (``None`` replicas cancels)."""
    return {
        "timeout": 30000,
        "allow_replication_factor_change": True,
        "topics": [
            {"name": topic, "partitions": [{"partition_index": partition, "replicas": replicas}]}
        ],
    }


# -- OffsetForLeaderEpoch (23) -----------------------------------------------------------


@scenario(23, "offset_for_leader_epoch/current-epoch", range(2, 5))
def _epoch_end(side: Side, v: int) -> None:
    """The end offset of the current epoch (0) is the log end offset; a later epoch
    than any the log has answers the log end offset too (KIP-101)."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"a", b"b", b"c")])
    side.call(23, v, epoch_request(name, 0, 0, current_leader_epoch=0), label="epoch0")
    side.call(23, v, epoch_request(name, 0, 7), label="future-epoch")


@scenario(23, "offset_for_leader_epoch/fenced-and-unknown-epoch")
def _epoch_fenced(side: Side) -> None:
    """A current_leader_epoch above the leader's: UNKNOWN_LEADER_EPOCH (KIP-320)."""
    name = side.create_topic("t")
    side.call(23, 4, epoch_request(name, 0, 0, current_leader_epoch=9), label="ahead")


@scenario(23, "offset_for_leader_epoch/unknown-partition")
def _epoch_unknown(side: Side) -> None:
    """An unknown topic, and partition 5 of a one-partition topic."""
    name = side.create_topic("t")
    side.call(23, 4, epoch_request(side.name_of("missing"), 0, 0), label="topic")
    side.call(23, 4, epoch_request(name, 5, 0), label="partition")


# -- ElectLeaders (43) -------------------------------------------------------------------


@scenario(43, "elect_leaders/preferred-not-needed", range(0, 3))
def _elect_preferred(side: Side, v: int) -> None:
    """The preferred replica already leads: ELECTION_NOT_NEEDED per partition."""
    name = side.create_topic("t", partitions=2)
    side.call(43, v, elect_request(name, [0, 1]))


@scenario(43, "elect_leaders/unclean-not-needed", [1, 2])
def _elect_unclean(side: Side, v: int) -> None:
    """An unclean election where the partition has a leader: ELECTION_NOT_NEEDED."""
    name = side.create_topic("t")
    side.call(43, v, elect_request(name, [0], UNCLEAN))


@scenario(43, "elect_leaders/unknown-partition")
def _elect_unknown(side: Side) -> None:
    """An unknown topic and an unknown partition: UNKNOWN_TOPIC_OR_PARTITION."""
    name = side.create_topic("t")
    side.call(43, 2, elect_request(side.name_of("missing"), [0]), label="topic")
    side.call(43, 2, elect_request(name, [4]), label="partition")


# -- AlterPartitionReassignments (45), ListPartitionReassignments (46) -------------------


@scenario(45, "alter_reassignments/same-replicas", range(0, 2))
def _reassign_same(side: Side, v: int) -> None:
    """Reassigning a partition to the replicas it has completes at once; nothing is
    then listed as ongoing."""
    name = side.create_topic("t")
    side.call(45, v, reassign_request(name, 0, [side.node_id]), label="alter")
    listed = side.ask(
        46, 0, {"timeout": 30000, "topics": [{"name": name, "partition_indexes": [0]}]}
    )
    side.observe("list", listed)


@scenario(45, "alter_reassignments/cancel-none")
def _reassign_cancel(side: Side) -> None:
    """Cancelling (null replicas) where nothing moves: NO_REASSIGNMENT_IN_PROGRESS."""
    name = side.create_topic("t")
    side.call(45, 1, reassign_request(name, 0, None))


@scenario(45, "alter_reassignments/bad-target")
def _reassign_bad(side: Side) -> None:
    """A broker that does not exist, a duplicate replica, an empty list and an
    unknown topic."""
    name = side.create_topic("t")
    side.call(45, 1, reassign_request(name, 0, [side.node_id + 1000]), label="no-such-broker")
    side.call(45, 1, reassign_request(name, 0, [side.node_id, side.node_id]), label="duplicate")
    side.call(45, 1, reassign_request(name, 0, []), label="empty")
    side.call(45, 1, reassign_request(side.name_of("missing"), 0, [side.node_id]), label="topic")


@scenario(46, "list_reassignments/none-ongoing", [0])
def _list_reassignments(side: Side, v: int) -> None:
    """Listing a partition that is not moving, and an unknown topic: both empty."""
    name = side.create_topic("t")
    side.call(
        46, v, {"timeout": 30000, "topics": [{"name": name, "partition_indexes": [0]}]}, label="t"
    )
    side.call(
        46,
        v,
        {"timeout": 30000, "topics": [{"name": side.name_of("missing"), "partition_indexes": [0]}]},
        label="missing",
    )
