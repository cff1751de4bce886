"""Writing COMMIT and ABORT markers into partitions (KIP-98, "WriteTxnMarkers").

In Kafka the coordinator sends WriteTxnMarkers to each partition leader, which
appends a control batch. Here the coordinator and every leader are one broker, so
the marker is appended directly, synchronously, before EndTxn is answered: a
client never sees the PrepareCommit window in which Kafka answers
CONCURRENT_TRANSACTIONS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...protocol.control import build_marker_batch
from ...protocol.records import parse_header
from ..state.cluster import now_ms

if TYPE_CHECKING:
    from ..core import Broker
    from ..state.log import PartitionLog

#: There is one coordinator and it never moves, so its epoch is always 0.
COORDINATOR_EPOCH = 0


def write_marker(
    broker: Broker, log: PartitionLog, producer_id: int, producer_epoch: int, committed: bool
) -> int:
    """Append a COMMIT or ABORT marker for ``producer_id`` to ``log``.

    The marker closes the producer's open transaction on the partition, which moves
    the last stable offset forward; parked read_committed fetches are woken.

    Returns:
        The marker's offset.
    """
    batch = build_marker_batch(
        committed=committed,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_offset=log.log_end_offset,
        timestamp_ms=now_ms(),
        coordinator_epoch=COORDINATOR_EPOCH,
        partition_leader_epoch=log.leader_epoch,
    )
    header = parse_header(batch)
    log.append(batch, header)
    broker.state.persist_append(log, batch)
    broker.producers.record_marker(log, header, committed, COORDINATOR_EPOCH)
    log.wake_waiters()
    return header.base_offset
