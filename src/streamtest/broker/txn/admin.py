"""Read-only views of transaction and producer state, for the admin APIs
(DescribeTransactions, ListTransactions, DescribeProducers; KIP-664) and ops tools.

Each function takes the service it reads (the transaction coordinator or the
topic table) and returns plain data in the shape of the response it feeds, so it
can be tested without a socket.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ...protocol.errors import ErrorCode
from .state import TxnState

if TYPE_CHECKING:
    from ..topics import TopicTable
    from .coordinator import TransactionCoordinator

#: Kafka reports offsets staged for a group as the group's __consumer_offsets partition.
CONSUMER_OFFSETS = "__consumer_offsets"


def describe_transaction(txns: TransactionCoordinator, transactional_id: str) -> dict[str, Any]:
    """Describe one transactional id (a DescribeTransactions entry).

    Returns:
        Response data; TRANSACTIONAL_ID_NOT_FOUND for an unknown id, INVALID_REQUEST
        for an empty one. ``transaction_start_time`` is ms since the epoch, -1 when
        no transaction is ongoing.
    """
    out: dict[str, Any] = {
        "error_code": ErrorCode.NONE,
        "transactional_id": transactional_id,
        "transaction_state": "",
        "transaction_timeout": 0,
        "transaction_start_time": -1,
        "producer_id": -1,
        "producer_epoch": -1,
        "topics": [],
    }
    if not transactional_id:
        out["error_code"] = ErrorCode.INVALID_REQUEST
        return out
    meta = txns.transactions.get(transactional_id)
    if meta is None or meta.state == TxnState.DEAD:
        out["error_code"] = ErrorCode.TRANSACTIONAL_ID_NOT_FOUND
        return out
    by_topic: dict[str, list[int]] = {}
    for topic, partition in sorted(meta.partitions):
        by_topic.setdefault(topic, []).append(partition)
    if meta.groups:
        by_topic.setdefault(CONSUMER_OFFSETS, []).append(0)
    out.update(
        transaction_state=meta.state.value,
        transaction_timeout=meta.timeout_ms,
        transaction_start_time=meta.start_ms,
        producer_id=meta.producer_id,
        producer_epoch=meta.producer_epoch,
        topics=[{"topic": t, "partitions": ps} for t, ps in by_topic.items()],
    )
    return out


def list_transactions(
    txns: TransactionCoordinator,
    state_filters: list[str],
    producer_id_filters: list[int],
    duration_filter_ms: int = -1,
    transactional_id_pattern: str | None = None,
) -> dict[str, Any]:
    """List transactional ids matching every given filter (ListTransactions).

    Args:
        state_filters: state names (``"Ongoing"``...); empty means any. Unknown
            names are reported back in ``unknown_state_filters``.
        producer_id_filters: producer ids; empty means any.
        duration_filter_ms: only transactions running at least this long (v1,
            KIP-994); -1 means no filter.
        transactional_id_pattern: a regular expression the whole id must match
            (v2, KIP-1152); ``None`` or empty means any.

    Returns:
        Response data; INVALID_REGULAR_EXPRESSION for a bad pattern.
    """
    known = {s.value for s in TxnState}
    unknown = [s for s in state_filters if s not in known]
    wanted_states = {s for s in state_filters if s in known}
    result: dict[str, Any] = {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "unknown_state_filters": unknown,
        "transaction_states": [],
    }
    pattern = None
    if transactional_id_pattern:
        try:
            pattern = re.compile(transactional_id_pattern)
        except re.error:
            result["error_code"] = ErrorCode.INVALID_REGULAR_EXPRESSION
            return result
    if unknown and not wanted_states:
        return result  # only unknown states asked for: nothing can match
    now = txns.clock.now_ms()
    pids = set(producer_id_filters)
    for txn_id, meta in sorted(txns.transactions.items()):
        if wanted_states and meta.state.value not in wanted_states:
            continue
        if pids and meta.producer_id not in pids:
            continue
        if duration_filter_ms >= 0 and (
            meta.state != TxnState.ONGOING or now - meta.start_ms < duration_filter_ms
        ):
            continue
        if pattern is not None and pattern.fullmatch(txn_id) is None:
            continue
        result["transaction_states"].append(
            {
                "transactional_id": txn_id,
                "producer_id": meta.producer_id,
                "transaction_state": meta.state.value,
            }
        )
    return result


def describe_producers(topics: TopicTable, topic: str, partition: int) -> dict[str, Any]:
    """Describe the active producers of one partition (a DescribeProducers entry).

    Returns:
        Response data for the partition; UNKNOWN_TOPIC_OR_PARTITION if it does not
        exist. ``current_txn_start_offset`` is -1 without an open transaction.
    """
    out: dict[str, Any] = {
        "partition_index": partition,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "active_producers": [],
    }
    found = topics.partition(topic, partition)
    if found is None:
        out["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return out
    for pid, entry in sorted(found.producers.items()):
        out["active_producers"].append(
            {
                "producer_id": pid,
                "producer_epoch": entry.epoch,
                "last_sequence": entry.last_seq,
                "last_timestamp": entry.last_timestamp,
                "coordinator_epoch": entry.coordinator_epoch,
                "current_txn_start_offset": found.open_transactions.get(pid, -1),
            }
        )
    return out
