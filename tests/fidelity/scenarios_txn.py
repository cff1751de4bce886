"""Scenarios for transactions and producers: InitProducerId, AddPartitionsToTxn,
AddOffsetsToTxn, EndTxn, TxnOffsetCommit, DescribeProducers,
DescribeTransactions, ListTransactions (see scenarios_data for the conventions).

Requests are sent at versions below KIP-890's transaction version 2 (EndTxn v5,
Produce v12), which streamtest does not advertise, so Kafka runs the classic
protocol: partitions are added explicitly before producing."""

from __future__ import annotations

from typing import Any

from .harness import Side, scenario
from .scenarios_data import batch, list_offsets_request
from .scenarios_groups import fetch_offsets_request, find_coordinator, stable_group

TXN = 1


def init_request(txn: str | None, pid: int = -1, epoch: int = -1, timeout_ms: int = 60000) -> dict:
    return {
        "transactional_id": txn,
        "transaction_timeout": timeout_ms,
        "producer_id": pid,
        "producer_epoch": epoch,
    }


def add_partitions_request(
    txn: str, pid: Any, topic: str, partitions: list[int] | None = None
) -> dict:
    """Valid at every version: v0-v3 name the transaction at the top level, v4+
    batch transactions (KIP-890)."""
    topics = [{"name": topic, "partitions": partitions or [0]}]
    return {
        "v3_and_below_transactional_id": txn,
        "v3_and_below_producer_id": pid.producer_id,
        "v3_and_below_producer_epoch": pid.producer_epoch,
        "v3_and_below_topics": topics,
        "transactions": [
            {
                "transactional_id": txn,
                "producer_id": pid.producer_id,
                "producer_epoch": pid.producer_epoch,
                "verify_only": False,
                "topics": topics,
            }
        ],
    }


def end_request(txn: str, pid: Any, commit: bool) -> dict:
    return {
        "transactional_id": txn,
        "producer_id": pid.producer_id,
        "producer_epoch": pid.producer_epoch,
        "committed": commit,
    }


def open_txn(side: Side, topic: str, value: bytes = b"txn") -> tuple[str, Any]:
    """Start a transaction on ``topic`` partition 0 with one record; return
    ``(transactional_id, InitProducerId response)``."""
    txn = side.name_of("txn")
    pid = side.init_producer(txn)
    side.setup(24, 3, add_partitions_request(txn, pid, topic))
    side.produce(
        topic,
        [
            batch(
                value,
                producer_id=pid.producer_id,
                producer_epoch=pid.producer_epoch,
                base_sequence=0,
                transactional=True,
            )
        ],
        transactional_id=txn,
    )
    return txn, pid


def wait_stable(side: Side, topic: str, end: int) -> None:
    """Return once read_committed sees ``end`` as the last stable offset (Kafka
    writes the transaction markers after EndTxn returns)."""
    side.retry(
        2,
        7,
        list_offsets_request(topic, 0, -1, isolation=1),
        lambda r: r.topics[0].partitions[0].offset == end,
    )


# -- InitProducerId (22) ----------------------------------------------------------------


@scenario(22, "init_producer_id/idempotent", range(0, 6))
def _init(side: Side, v: int) -> None:
    """A non-transactional producer id."""
    side.init_producer()
    side.call(22, v, init_request(None))


@scenario(22, "init_producer_id/transactional", range(0, 6))
def _init_txn(side: Side, v: int) -> None:
    """A transactional id's first producer id; initialising again bumps the epoch."""
    txn = side.name_of("txn")
    side.init_producer(txn)
    first = side.call(22, v, init_request(txn), label="again")
    if v >= 3 and first.producer_id >= 0:  # KIP-360: resume with the current id/epoch
        side.call(22, v, init_request(txn, first.producer_id, first.producer_epoch), label="resume")


@scenario(22, "init_producer_id/timeout-too-large")
def _init_timeout(side: Side) -> None:
    """A transaction timeout over transaction.max.timeout.ms: INVALID_TRANSACTION_TIMEOUT."""
    txn = side.name_of("txn")
    side.coordinator_ready(txn, TXN)
    side.call(22, 4, init_request(txn, timeout_ms=3_600_000))


@scenario(22, "init_producer_id/empty-transactional-id")
def _init_empty(side: Side) -> None:
    """An empty transactional id is treated as none (Kafka: INVALID_REQUEST)."""
    side.call(22, 4, init_request(""))


@scenario(22, "init_producer_id/wrong-epoch-resume")
def _init_wrong_epoch(side: Side) -> None:
    """Resuming with a producer id and epoch that are not current: INVALID_PRODUCER_EPOCH."""
    txn = side.name_of("txn")
    pid = side.init_producer(txn)
    side.call(22, 4, init_request(txn, pid.producer_id, pid.producer_epoch + 3))


# -- AddPartitionsToTxn (24) ------------------------------------------------------------


@scenario(24, "add_partitions_to_txn/basic", range(0, 4))
def _add_partitions(side: Side, v: int) -> None:
    """Add two partitions to a new transaction."""
    topic = side.create_topic("t", partitions=2)
    txn = side.name_of("txn")
    pid = side.init_producer(txn)
    side.call(24, v, add_partitions_request(txn, pid, topic, [0, 1]))


@scenario(24, "add_partitions_to_txn/batched", [4, 5])
def _add_partitions_v4(side: Side, v: int) -> None:
    """v4+ (KIP-890) batches transactions; clients may not send it, brokers may."""
    topic = side.create_topic("t")
    txn = side.name_of("txn")
    pid = side.init_producer(txn)
    side.call(24, v, add_partitions_request(txn, pid, topic))


@scenario(24, "add_partitions_to_txn/errors")
def _add_partitions_errors(side: Side) -> None:
    """An unknown topic, a wrong epoch, an unknown transactional id."""
    topic = side.create_topic("t")
    txn = side.name_of("txn")
    pid = side.init_producer(txn)
    side.call(
        24, 3, add_partitions_request(txn, pid, side.name_of("missing")), label="unknown-topic"
    )

    class Stale:
        producer_id = pid.producer_id
        producer_epoch = pid.producer_epoch + 5

    side.call(24, 3, add_partitions_request(txn, Stale, topic), label="epoch")
    other = side.name_of("other")
    side.coordinator_ready(other, TXN)
    side.call(24, 3, add_partitions_request(other, pid, topic), label="unknown-txn")


# -- AddOffsetsToTxn (25) / TxnOffsetCommit (28) -----------------------------------------


@scenario(25, "add_offsets_to_txn/basic", range(0, 5))
def _add_offsets(side: Side, v: int) -> None:
    """Add a group's offsets to an open transaction."""
    topic = side.create_topic("t")
    txn, pid = open_txn(side, topic)
    group = side.name_of("g")
    find_coordinator(side, group)
    side.call(
        25,
        v,
        {
            "transactional_id": txn,
            "producer_id": pid.producer_id,
            "producer_epoch": pid.producer_epoch,
            "group_id": group,
        },
    )


def txn_commit_request(
    txn: str, pid: Any, group: str, topic: str, offset: int, generation: int = -1, member: str = ""
) -> dict:
    return {
        "transactional_id": txn,
        "group_id": group,
        "producer_id": pid.producer_id,
        "producer_epoch": pid.producer_epoch,
        "generation_id": generation,
        "member_id": member,
        "group_instance_id": None,
        "topics": [
            {
                "name": topic,
                "partitions": [
                    {
                        "partition_index": 0,
                        "committed_offset": offset,
                        "committed_leader_epoch": -1,
                        "committed_metadata": "m",
                    }
                ],
            }
        ],
    }


@scenario(28, "txn_offset_commit/commit", range(0, 5))
def _txn_offset_commit(side: Side, v: int) -> None:
    """Offsets in a transaction: invisible to require_stable fetches until commit."""
    topic = side.create_topic("t")
    txn, pid = open_txn(side, topic)
    group = side.name_of("g")
    find_coordinator(side, group)
    side.setup(
        25,
        3,
        {
            "transactional_id": txn,
            "producer_id": pid.producer_id,
            "producer_epoch": pid.producer_epoch,
            "group_id": group,
        },
    )
    side.call(28, v, txn_commit_request(txn, pid, group, topic, 1))
    side.setup(26, 3, end_request(txn, pid, True))
    wait_stable(side, topic, 2)
    side.retry(
        9,
        8,
        fetch_offsets_request(group, topic) | {"require_stable": True},
        lambda r: r.groups[0].topics[0].partitions[0].committed_offset == 1,
    )
    side.call(9, 7, fetch_offsets_request(group, topic), label="after-commit")


@scenario(28, "txn_offset_commit/without-add-offsets")
def _txn_offset_commit_no_add(side: Side) -> None:
    """TxnOffsetCommit before AddOffsetsToTxn."""
    topic = side.create_topic("t")
    txn, pid = open_txn(side, topic)
    group = side.name_of("g")
    find_coordinator(side, group)
    side.call(28, 3, txn_commit_request(txn, pid, group, topic, 1))


@scenario(28, "txn_offset_commit/group-member")
def _txn_offset_commit_member(side: Side) -> None:
    """v3+ with a member's generation (KIP-447) and with a stale one."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    member, generation = stable_group(side, group, topic)
    txn, pid = open_txn(side, topic)
    side.setup(
        25,
        3,
        {
            "transactional_id": txn,
            "producer_id": pid.producer_id,
            "producer_epoch": pid.producer_epoch,
            "group_id": group,
        },
    )
    side.call(
        28, 3, txn_commit_request(txn, pid, group, topic, 1, generation, member), label="member"
    )
    side.call(
        28, 3, txn_commit_request(txn, pid, group, topic, 1, generation + 2, member), label="stale"
    )


# -- EndTxn (26) ------------------------------------------------------------------------


@scenario(26, "end_txn/commit", range(0, 5))
def _end_commit(side: Side, v: int) -> None:
    """Commit: the record becomes visible to read_committed after its marker."""
    topic = side.create_topic("t")
    txn, pid = open_txn(side, topic)
    side.call(26, v, end_request(txn, pid, True))
    wait_stable(side, topic, 2)
    side.call(2, 7, list_offsets_request(topic, 0, -1, isolation=1), label="lso")


@scenario(26, "end_txn/abort", [0, 3, 4])
def _end_abort(side: Side, v: int) -> None:
    """Abort: read_committed lists the aborted transaction and the LSO moves past
    the marker. Only data batches are compared: right after the marker is written,
    Kafka's fetch may stop before it (its high watermark's position catches up
    lazily), and consumers skip control batches anyway."""
    from .scenarios_data import fetch_request

    topic = side.create_topic("t")
    txn, pid = open_txn(side, topic)
    side.call(26, v, end_request(txn, pid, False))
    wait_stable(side, topic, 2)
    r = side.ask(1, 12, fetch_request(topic, None, [(0, 0)], isolation_level=1))
    p = r.responses[0].partitions[0]
    side.observe(
        "fetch", [p.error_code, p.high_watermark, p.last_stable_offset, p.aborted_transactions]
    )
    side.observe("data", [b for b in _batches(side, p.records) if not b["attributes"] & 0x20])


def _batches(side: Side, records: bytes | None) -> list:
    from .harness import Normaliser

    return [b for b in Normaliser(set(), side.prefix).records(records) or [] if isinstance(b, dict)]


@scenario(26, "end_txn/misuse")
def _end_misuse(side: Side) -> None:
    """EndTxn with no transaction open, with a stale epoch, for an unknown id."""
    topic = side.create_topic("t")
    txn = side.name_of("txn")
    pid = side.init_producer(txn)
    side.call(26, 3, end_request(txn, pid, True), label="nothing-open")

    class Stale:
        producer_id = pid.producer_id
        producer_epoch = pid.producer_epoch + 4

    side.setup(24, 3, add_partitions_request(txn, pid, topic))
    side.call(26, 3, end_request(txn, Stale, True), label="stale-epoch")
    other = side.name_of("other")
    side.coordinator_ready(other, TXN)
    side.call(26, 3, end_request(other, pid, True), label="unknown-id")


@scenario(26, "end_txn/commit-then-abort")
def _end_twice(side: Side) -> None:
    """Abort right after a commit of the same (now empty) transaction."""
    topic = side.create_topic("t")
    txn, pid = open_txn(side, topic)
    side.setup(26, 3, end_request(txn, pid, True))
    # Until its markers are written Kafka answers CONCURRENT_TRANSACTIONS; compare
    # the settled state.
    side.retry(
        65,
        0,
        {"transactional_ids": [txn]},
        lambda r: r.transaction_states[0].transaction_state == "CompleteCommit",
    )
    side.call(26, 3, end_request(txn, pid, False), label="abort-after-commit")


# -- DescribeProducers (61), DescribeTransactions (65), ListTransactions (66) -------------


@scenario(61, "describe_producers/idempotent", [0])
def _describe_producers(side: Side, v: int) -> None:
    """The producer state of a partition after one idempotent batch."""
    topic = side.create_topic("t")
    pid = side.init_producer()
    side.produce(
        topic,
        [
            batch(
                b"a",
                producer_id=pid.producer_id,
                producer_epoch=pid.producer_epoch,
                base_sequence=0,
            )
        ],
    )
    side.call(61, v, {"topics": [{"name": topic, "partition_indexes": [0, 3]}]})


@scenario(61, "describe_producers/unknown-topic")
def _describe_producers_unknown(side: Side) -> None:
    """An unknown topic: UNKNOWN_TOPIC_OR_PARTITION."""
    side.call(61, 0, {"topics": [{"name": side.name_of("missing"), "partition_indexes": [0]}]})


@scenario(65, "describe_transactions/ongoing", [0])
def _describe_txn(side: Side, v: int) -> None:
    """An open transaction: state, timeout, partitions; an unknown id."""
    topic = side.create_topic("t")
    txn, _ = open_txn(side, topic)
    other = side.name_of("other")
    side.coordinator_ready(other, TXN)
    side.call(65, v, {"transactional_ids": [txn, other]})


@scenario(65, "describe_transactions/committed")
def _describe_txn_done(side: Side) -> None:
    """After commit the state is CompleteCommit (after the markers)."""
    topic = side.create_topic("t")
    txn, pid = open_txn(side, topic)
    side.setup(26, 3, end_request(txn, pid, True))
    side.retry(
        65,
        0,
        {"transactional_ids": [txn]},
        lambda r: r.transaction_states[0].transaction_state == "CompleteCommit",
    )
    side.call(65, 0, {"transactional_ids": [txn]})


@scenario(66, "list_transactions/ours", range(0, 3))
def _list_txn(side: Side, v: int) -> None:
    """Our open transaction is listed (filtered to ours)."""
    topic = side.create_topic("t")
    txn, _ = open_txn(side, topic)
    r = side.ask(
        66,
        v,
        {
            "state_filters": [],
            "producer_id_filters": [],
            "duration_filter": -1,
            "transactional_id_pattern": None,
        },
    )
    side.observe("error", int(r.error_code))
    side.observe("ours", [t for t in r.transaction_states if t.transactional_id == txn])


@scenario(66, "list_transactions/state-filter")
def _list_txn_filter(side: Side) -> None:
    """state_filters=Ongoing shows our open transaction; CompleteAbort does not."""
    topic = side.create_topic("t")
    txn, _ = open_txn(side, topic)
    for state in ("Ongoing", "CompleteAbort"):
        r = side.ask(
            66, 1, {"state_filters": [state], "producer_id_filters": [], "duration_filter": -1}
        )
        side.observe(state, [t for t in r.transaction_states if t.transactional_id == txn])
