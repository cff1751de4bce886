"""Writing COMMIT and ABORT markers into partitions (KIP-98, "WriteTxnMarkers").

In Kafka the coordinator sends WriteTxnMarkers to each partition leader, which
appends a control batch. Here the coordinator and every leader share one owner of
state, so the marker is appended directly, synchronously, before EndTxn is
answered: a client sees the PrepareCommit window in which Kafka answers
CONCURRENT_TRANSACTIONS only while a partition without a leader (or a failed
write) makes the coordinator retry its marker.
"""

from __future__ import annotations

from ...protocol.control import build_marker_batch
from ...protocol.records import parse_header
from ..clock import Clock
from ..replication import ReplicaManager
from ..topics import Partition

#: The coordinator's epoch (it never moves yet, so it is always 0).
COORDINATOR_EPOCH = 0


def write_marker(
    replicas: ReplicaManager,
    clock: Clock,
    partition: Partition,
    producer_id: int,
    producer_epoch: int,
    committed: bool,
) -> int:
    """Append a COMMIT or ABORT marker for ``producer_id`` to ``partition``.

    The marker closes the producer's open transaction on the partition, which moves
    the last stable offset forward; parked read_committed fetches are woken.

    Returns:
        The marker's offset.

    Raises:
        OSError: storage refused the marker.
        LookupError: the partition has no leader.
    """
    now = clock.now_ms()
    batch = build_marker_batch(
        committed=committed,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_offset=partition.log_end_offset,
        timestamp_ms=now,
        coordinator_epoch=COORDINATOR_EPOCH,
        partition_leader_epoch=partition.leader_epoch,
    )
    header = parse_header(batch)
    # Every replica's producer state applies the marker as its log takes it.
    replicas.append_to_leader(partition, batch, header, owned=True)
    partition.wake_waiters()
    return header.base_offset
