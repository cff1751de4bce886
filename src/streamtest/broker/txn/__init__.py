"""Transactions (KIP-98): the coordinator, its state machine and the markers.

* ``state``: :class:`TransactionMetadata` and Kafka's transaction states, with the
  legal transitions as a table.
* ``coordinator``: :class:`TransactionCoordinator`, serving InitProducerId,
  AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and TxnOffsetCommit, verifying
  transactional Produce, and aborting transactions that time out; it receives
  the ``__transaction_state`` topic as a :class:`TransactionLog`.
* ``markers``: appending COMMIT / ABORT control batches to partitions.
* ``records``: the ``__transaction_state`` records in Kafka's schemas
  (``TransactionLogKey`` / ``TransactionLogValue``), where the coordinator keeps
  its state and from which it rebuilds itself on start.
* ``admin``: the read-only views DescribeTransactions, ListTransactions and
  DescribeProducers answer from.

Idempotence (sequence numbers, duplicate batches) lives in ``producers.py``;
the open-transaction and aborted-transaction bookkeeping that read_committed
fetches use lives in each log's transaction index (``log.PartitionLog``).
"""

from .coordinator import StagedOffsetsJournal, TransactionCoordinator, TransactionLog
from .state import TransactionMetadata, TxnState

__all__ = [
    "StagedOffsetsJournal",
    "TransactionCoordinator",
    "TransactionLog",
    "TransactionMetadata",
    "TxnState",
]
