"""The transaction coordinator at the protocol level (KIP-98, KIP-360, KIP-588, KIP-890).

Each test plays a transactional producer by hand over a raw socket: InitProducerId,
AddPartitionsToTxn, a transactional Produce, EndTxn; and checks what the broker
answers and what a read_committed Fetch sees.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from streamtest import EmbeddedKafka
from streamtest.kit.wait import eventually
from streamtest.protocol.control import decode_marker
from streamtest.protocol.errors import ErrorCode
from streamtest.protocol.records import iter_records, split_batches

from .rawclient import RawClient
from .txnwire import (
    READ_COMMITTED,
    READ_UNCOMMITTED,
    add_offsets,
    add_partitions,
    batch,
    end_txn,
    fetch,
    init_pid,
    produce,
    req,
    txn_offset_commit,
)


class Txn:
    """A hand-driven transactional producer on one partition-0 topic."""

    def __init__(self, client: RawClient, topic: str, txn_id: str | None = None, **kw: Any):
        self.client = client
        self.topic = topic
        self.txn_id = txn_id or f"tx-{uuid.uuid4().hex[:8]}"
        resp = init_pid(client, self.txn_id, **kw)
        assert resp.error_code == 0, resp
        self.pid, self.epoch = resp.producer_id, resp.producer_epoch
        self.seq = 0

    def add(self) -> dict[int, int]:
        return add_partitions(self.client, self.txn_id, self.pid, self.epoch, self.topic, [0])

    def send(self, *values: bytes) -> Any:
        records = batch(self.pid, self.epoch, self.seq, list(values), transactional=True)
        resp = produce(self.client, self.topic, records, txn_id=self.txn_id)
        if resp.error_code == 0:
            self.seq += len(values)
        return resp

    def end(self, commit: bool) -> int:
        return end_txn(self.client, self.txn_id, self.pid, self.epoch, commit)


@pytest.fixture
def client(broker, topic_name):
    broker.create_topic(topic_name, 1)
    c = RawClient(broker.bootstrap_servers)
    yield c
    c.close()


def _values(partition_data: Any) -> list[bytes]:
    """Return the record values a consumer would deliver from a fetched partition.

    Applies the read_committed filter of KIP-98 as clients do: a batch of a
    producer listed in ``aborted_transactions`` (from that first offset until the
    producer's ABORT marker) is dropped, and control batches are never delivered.
    """
    aborted = sorted(
        (a.first_offset, a.producer_id) for a in (partition_data.aborted_transactions or ())
    )
    active: set[int] = set()
    out = []
    for header, view in split_batches(memoryview(bytes(partition_data.records or b""))):
        while aborted and aborted[0][0] <= header.base_offset:
            active.add(aborted.pop(0)[1])
        if header.is_control:
            marker = decode_marker(view)
            if marker is not None and not marker.committed:
                active.discard(header.producer_id)
            continue
        if header.is_transactional and header.producer_id in active:
            continue
        out.extend(r.value for r in iter_records(view))
    return out


def _markers(broker: EmbeddedKafka, topic: str) -> list[tuple[int, bool, int]]:
    """Return (offset, committed, epoch) of every marker in partition 0 of ``topic``."""

    def read(b: Any) -> list[tuple[int, bool, int]]:
        partition = b.topics.partition(topic, 0)
        out = []
        for header, raw in partition.iter_batches(0, partition.log_end_offset):
            marker = decode_marker(raw)
            if marker is not None:
                out.append((header.base_offset, marker.committed, header.producer_epoch))
        return out

    return broker.call(read)


# -- InitProducerId ----------------------------------------------------------------


def test_init_producer_id_gives_epoch_zero_then_bumps_it(client, topic_name):
    txn = Txn(client, topic_name)
    assert txn.epoch == 0
    again = init_pid(client, txn.txn_id)
    assert (again.producer_id, again.producer_epoch) == (txn.pid, 1)


def test_a_transaction_timeout_above_the_broker_maximum_is_refused(client):
    resp = init_pid(client, "too-long", timeout_ms=900_001)
    assert resp.error_code == ErrorCode.INVALID_TRANSACTION_TIMEOUT
    assert init_pid(client, "", timeout_ms=1000).error_code == ErrorCode.INVALID_REQUEST


def test_kip360_bump_with_the_current_epoch_and_its_retry(client, topic_name):
    txn = Txn(client, topic_name)
    bumped = init_pid(client, txn.txn_id, pid=txn.pid, epoch=txn.epoch)
    assert (bumped.error_code, bumped.producer_epoch) == (0, txn.epoch + 1)
    retried = init_pid(client, txn.txn_id, pid=txn.pid, epoch=txn.epoch)
    assert (retried.error_code, retried.producer_epoch) == (0, txn.epoch + 1)
    stale = init_pid(client, txn.txn_id, pid=txn.pid, epoch=txn.epoch - 1 if txn.epoch else 7)
    assert stale.error_code == ErrorCode.PRODUCER_FENCED
    old_version = init_pid(client, txn.txn_id, version=3, pid=txn.pid + 99, epoch=0)
    assert old_version.error_code == ErrorCode.INVALID_PRODUCER_EPOCH  # KIP-588 mapping


def test_an_exhausted_epoch_rotates_to_a_new_producer_id(broker, client, topic_name):
    txn = Txn(client, topic_name)

    def exhaust(b: Any) -> None:
        b.transactions.transactions[txn.txn_id].producer_epoch = 2**15 - 2

    broker.call(exhaust)
    resp = init_pid(client, txn.txn_id)
    assert resp.error_code == 0
    assert resp.producer_id != txn.pid and resp.producer_epoch == 0


# -- the transaction itself ---------------------------------------------------------------


def test_committed_records_are_held_back_from_read_committed_until_the_commit(
    broker, client, topic_name
):
    txn = Txn(client, topic_name)
    assert txn.add() == {0: 0}
    assert txn.send(b"a", b"b").error_code == 0
    open_committed = fetch(client, topic_name, isolation=READ_COMMITTED)
    assert open_committed.last_stable_offset == 0 and open_committed.high_watermark == 2
    assert _values(open_committed) == []
    assert _values(fetch(client, topic_name, isolation=READ_UNCOMMITTED)) == [b"a", b"b"]

    assert txn.end(commit=True) == 0
    done = fetch(client, topic_name, isolation=READ_COMMITTED)
    assert done.last_stable_offset == done.high_watermark == 3  # two records and a marker
    assert _values(done) == [b"a", b"b"]
    assert _markers(broker, topic_name) == [(2, True, txn.epoch)]
    assert not done.aborted_transactions


def test_an_aborted_transaction_is_listed_for_read_committed_consumers(
    broker, client, topic_name
):
    txn = Txn(client, topic_name)
    txn.add()
    txn.send(b"gone")
    assert txn.end(commit=False) == 0
    data = fetch(client, topic_name, isolation=READ_COMMITTED)
    assert [(a.producer_id, a.first_offset) for a in data.aborted_transactions] == [(txn.pid, 0)]
    assert _markers(broker, topic_name) == [(1, False, txn.epoch)]
    # The next transaction of the same producer continues its sequence.
    txn.add()
    assert txn.send(b"kept").error_code == 0
    assert txn.end(commit=True) == 0
    assert [r.value for r in broker.records(topic_name)] == [b"gone", b"kept"]


def test_end_txn_retries_and_contradictions(client, topic_name):
    txn = Txn(client, topic_name)
    assert txn.end(commit=True) == ErrorCode.INVALID_TXN_STATE  # nothing was begun
    txn.add()
    txn.send(b"x")
    assert txn.end(commit=True) == 0
    assert txn.end(commit=True) == 0  # a retry of the same outcome
    assert txn.end(commit=False) == ErrorCode.INVALID_TXN_STATE


def test_produce_to_a_partition_not_added_to_the_transaction_is_refused(client, topic_name):
    txn = Txn(client, topic_name)
    resp = txn.send(b"sneaky")
    assert resp.error_code == ErrorCode.INVALID_TXN_STATE
    txn.add()
    assert txn.send(b"fine").error_code == 0
    unknown = produce(
        client, topic_name, batch(txn.pid, txn.epoch, 1, transactional=True), txn_id="other"
    )
    assert unknown.error_code == ErrorCode.INVALID_TXN_STATE


def test_a_non_transactional_batch_inside_an_open_transaction_is_refused(client, topic_name):
    txn = Txn(client, topic_name)
    txn.add()
    txn.send(b"in")
    plain = produce(client, topic_name, batch(txn.pid, txn.epoch, 1))
    assert plain.error_code == ErrorCode.INVALID_TXN_STATE


def test_add_partitions_for_an_unknown_topic(client, topic_name):
    txn = Txn(client, topic_name)
    errors = add_partitions(client, txn.txn_id, txn.pid, txn.epoch, topic_name, [0, 7])
    assert errors == {0: ErrorCode.OPERATION_NOT_ATTEMPTED, 7: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
    wrong_pid = add_partitions(client, txn.txn_id, txn.pid + 1, txn.epoch, topic_name, [0])
    assert wrong_pid == {0: ErrorCode.INVALID_PRODUCER_ID_MAPPING}


def test_batched_add_partitions_v4_with_verify_only(client, topic_name):
    txn = Txn(client, topic_name)

    def v4(verify_only: bool) -> dict[int, int]:
        resp = client.call(
            req(
                24,
                4,
                transactions=[
                    {
                        "transactional_id": txn.txn_id,
                        "producer_id": txn.pid,
                        "producer_epoch": txn.epoch,
                        "verify_only": verify_only,
                        "topics": [{"name": topic_name, "partitions": [0]}],
                    }
                ],
            )
        )
        (result,) = resp.results_by_transaction
        return {
            p.partition_index: int(p.partition_error_code)
            for t in result.topic_results
            for p in t.results_by_partition
        }

    assert v4(verify_only=True) == {0: ErrorCode.INVALID_TXN_STATE}
    assert v4(verify_only=False) == {0: 0}
    assert v4(verify_only=True) == {0: 0}


# -- fencing ---------------------------------------------------------------------------------


def test_a_second_instance_fences_the_first_and_aborts_its_transaction(
    broker, client, topic_name
):
    first = Txn(client, topic_name)
    first.add()
    first.send(b"zombie")
    second = Txn(client, topic_name, txn_id=first.txn_id)
    # The open transaction was aborted with a bumped epoch, and the new instance
    # got the epoch after that (Kafka's fence + CONCURRENT_TRANSACTIONS retry).
    assert (second.pid, second.epoch) == (first.pid, first.epoch + 2)
    assert _markers(broker, topic_name) == [(1, False, first.epoch + 1)]
    assert first.send(b"late").error_code == ErrorCode.INVALID_PRODUCER_EPOCH
    assert first.end(commit=True) == ErrorCode.PRODUCER_FENCED
    assert first.add() == {0: ErrorCode.PRODUCER_FENCED}
    v1 = add_partitions(client, first.txn_id, first.pid, first.epoch, topic_name, [0], version=1)
    assert v1 == {0: ErrorCode.INVALID_PRODUCER_EPOCH}  # KIP-588: old clients
    assert _values(fetch(client, topic_name, isolation=READ_COMMITTED)) == []


def test_a_transaction_outliving_its_timeout_is_aborted_and_its_producer_fenced():
    with EmbeddedKafka(clock="manual") as kafka:
        kafka.create_topic("t", 1)
        client = RawClient(kafka.bootstrap_servers)
        txn = Txn(client, "t", timeout_ms=100)
        txn.add()
        txn.send(b"slow")

        def state() -> tuple[str, int]:
            meta = kafka.call(lambda b: b.transactions.transactions[txn.txn_id])
            return meta.state.value, meta.producer_epoch

        kafka.advance(0.05)
        assert state() == ("Ongoing", txn.epoch)
        kafka.advance(0.06)
        assert state() == ("CompleteAbort", txn.epoch + 1)
        assert _markers(kafka, "t") == [(1, False, txn.epoch + 1)]
        assert txn.end(commit=True) == ErrorCode.PRODUCER_FENCED
        data = fetch(client, "t", isolation=READ_COMMITTED)
        assert data.last_stable_offset == 2
        assert [(a.producer_id, a.first_offset) for a in data.aborted_transactions] == [
            (txn.pid, 0)
        ]
        client.close()


# -- offsets in a transaction ----------------------------------------------------------------


class _Groups:
    """Stands in for the group coordinator: records what a commit hands over."""

    def __init__(self) -> None:
        self.committed: list[tuple[str, list[tuple[Any, ...]]]] = []

    def commit_offsets_from_txn(self, group_id: str, offsets: list[tuple[Any, ...]]) -> None:
        self.committed.append((group_id, offsets))


def test_offsets_reach_the_group_only_when_the_transaction_commits():
    with EmbeddedKafka() as kafka:
        kafka.create_topic("in", 2)
        kafka.create_topic("out", 1)
        groups = _Groups()
        # Intercept the hand-over to the group coordinator.
        hand_over = groups.commit_offsets_from_txn
        kafka.call(lambda b: setattr(b.transactions, "commit_offsets", hand_over))
        client = RawClient(kafka.bootstrap_servers)
        txn = Txn(client, "out")
        errors = txn_offset_commit(client, txn.txn_id, txn.pid, txn.epoch, "g", "in", {0: 5})
        assert errors == {0: ErrorCode.INVALID_TXN_STATE}  # AddOffsetsToTxn first
        assert add_offsets(client, txn.txn_id, txn.pid, txn.epoch, "g") == 0
        errors = txn_offset_commit(
            client, txn.txn_id, txn.pid, txn.epoch, "g", "in", {0: 5, 1: 7}
        )
        assert errors == {0: 0, 1: 0}
        assert kafka.call(lambda b: b.transactions.pending_offset_partitions("g")) == {
            ("in", 0),
            ("in", 1),
        }
        assert groups.committed == []
        assert txn.end(commit=True) == 0
        assert groups.committed == [("g", [("in", 0, 5, -1, ""), ("in", 1, 7, -1, "")])]

        assert add_offsets(client, txn.txn_id, txn.pid, txn.epoch, "g") == 0
        txn_offset_commit(client, txn.txn_id, txn.pid, txn.epoch, "g", "in", {0: 9})
        assert txn.end(commit=False) == 0
        assert len(groups.committed) == 1  # the aborted offsets were dropped
        stale = txn_offset_commit(client, txn.txn_id, txn.pid, txn.epoch + 1, "g", "in", {0: 1})
        assert stale == {0: ErrorCode.PRODUCER_FENCED}
        client.close()


# -- admin views -----------------------------------------------------------------------------


def test_describe_and_list_transactions_and_producers(client, topic_name):
    txn = Txn(client, topic_name)
    txn.add()
    txn.send(b"a")
    described = client.call(req(65, 0, transactional_ids=[txn.txn_id]))
    (state,) = described.transaction_states
    assert (state.error_code, state.transaction_state) == (0, "Ongoing")
    assert (state.producer_id, state.producer_epoch) == (txn.pid, txn.epoch)
    assert [(t.topic, list(t.partitions)) for t in state.topics] == [(topic_name, [0])]
    assert state.transaction_timeout.total_seconds() == 60

    listed = client.call(
        req(
            66,
            2,
            state_filters=["Ongoing", "Bogus"],
            producer_id_filters=[txn.pid],
            duration_filter=-1,
            transactional_id_pattern=f"{txn.txn_id[:5]}.*",
        )
    )
    assert list(listed.unknown_state_filters) == ["Bogus"]
    assert [(s.transactional_id, s.transaction_state) for s in listed.transaction_states] == [
        (txn.txn_id, "Ongoing")
    ]
    bad = client.call(
        req(66, 2, state_filters=[], producer_id_filters=[], duration_filter=-1,
            transactional_id_pattern="(")
    )
    assert bad.error_code == ErrorCode.INVALID_REGULAR_EXPRESSION

    producers = client.call(req(61, 0, topics=[{"name": topic_name, "partition_indexes": [0]}]))
    (p,) = producers.topics[0].partitions[0].active_producers
    assert (p.producer_id, p.producer_epoch, p.last_sequence) == (txn.pid, txn.epoch, 0)
    assert p.current_txn_start_offset == 0
    txn.end(commit=True)
    producers = client.call(req(61, 0, topics=[{"name": topic_name, "partition_indexes": [0]}]))
    (p,) = producers.topics[0].partitions[0].active_producers
    assert (p.current_txn_start_offset, p.coordinator_epoch) == (-1, 0)


def test_describing_an_unknown_transactional_id(broker):
    from streamtest.broker.txn.admin import describe_transaction

    found = broker.call(lambda b: describe_transaction(b.transactions, "never-seen"))
    assert found["error_code"] == ErrorCode.TRANSACTIONAL_ID_NOT_FOUND


# -- restarts --------------------------------------------------------------------------------


def test_transactions_survive_a_restart_with_a_data_dir(tmp_path):
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        kafka.create_topic("t", 1)
        client = RawClient(kafka.bootstrap_servers)
        aborted = Txn(client, "t")
        aborted.add()
        aborted.send(b"dropped")
        aborted.end(commit=False)
        txn = Txn(client, "t")
        txn.add()
        txn.send(b"pending")
        client.close()
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        client = txn.client = RawClient(kafka.bootstrap_servers)
        data = fetch(client, "t", isolation=READ_COMMITTED)
        assert data.last_stable_offset == 2  # the open transaction still holds it back
        assert [(a.producer_id, a.first_offset) for a in data.aborted_transactions] == [
            (aborted.pid, 0)
        ]
        assert kafka.call(lambda b: b.transactions.transactions[txn.txn_id].state.value) == (
            "Ongoing"
        )
        # The producer carries on where it was: its sequence and epoch are known.
        assert txn.send(b"more").error_code == 0
        assert txn.send(b"more").error_code == 0
        assert txn.end(commit=True) == 0
        assert _values(fetch(client, "t", offset=2, isolation=READ_COMMITTED)) == [
            b"pending", b"more", b"more"
        ]
        again = init_pid(client, txn.txn_id)
        assert (again.producer_id, again.producer_epoch) == (txn.pid, txn.epoch + 1)
        client.close()


def test_a_transaction_caught_in_prepare_commit_is_completed_on_restart(tmp_path):
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        kafka.create_topic("t", 1)
        client = RawClient(kafka.bootstrap_servers)
        txn = Txn(client, "t")
        txn.add()
        txn.send(b"v")
        assert add_offsets(client, txn.txn_id, txn.pid, txn.epoch, "g") == 0
        assert txn_offset_commit(client, txn.txn_id, txn.pid, txn.epoch, "g", "t", {0: 1})

        def crash_before_markers(b: Any) -> None:
            # What a kill between "PrepareCommit is logged" and the markers leaves:
            # the coordinator's first write of EndTxn, and nothing after it.
            from streamtest.broker.txn.state import TxnState

            meta = b.transactions.transactions[txn.txn_id]
            meta.transition_to(TxnState.PREPARE_COMMIT, 0)
            assert b.transactions._write(meta, meta.producer_id) == ErrorCode.NONE

        kafka.call(crash_before_markers)
        client.close()
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        client = RawClient(kafka.bootstrap_servers)
        assert _values(fetch(client, "t", isolation=READ_COMMITTED)) == [b"v"]
        assert kafka.call(lambda b: b.transactions.transactions[txn.txn_id].state.value) == (
            "CompleteCommit"
        )
        # The offsets staged by TxnOffsetCommit reached their group as well.
        assert kafka.call(lambda b: b.groups.committed("g")) == {("t", 0): 1}
        client.close()


def test_an_open_transaction_still_times_out_after_a_restart(tmp_path):
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        kafka.create_topic("t", 1)
        client = RawClient(kafka.bootstrap_servers)
        txn = Txn(client, "t", timeout_ms=300)
        txn.add()
        txn.send(b"v")
        client.close()
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        eventually(
            lambda: kafka.call(lambda b: b.topics.partition("t", 0).last_stable_offset) == 2,
            timeout=10,
        )
        assert _markers(kafka, "t") == [(1, False, txn.epoch + 1)]


def test_offset_fetch_require_stable_waits_for_the_open_transaction(broker, client, topic_name):
    # KIP-447: while a transaction holds offsets for a partition, a consumer asking
    # for stable offsets is told to retry rather than given the old offset.
    group = f"g-{topic_name}"

    def offset_fetch(require_stable: bool) -> tuple[int, int]:
        resp = client.call(
            req(
                9,
                7,
                group_id=group,
                topics=[{"name": topic_name, "partition_indexes": [0]}],
                require_stable=require_stable,
            )
        )
        part = resp.topics[0].partitions[0]
        return int(part.error_code), part.committed_offset

    txn = Txn(client, topic_name)
    assert add_offsets(client, txn.txn_id, txn.pid, txn.epoch, group) == 0
    assert txn_offset_commit(client, txn.txn_id, txn.pid, txn.epoch, group, topic_name, {0: 3})
    assert offset_fetch(require_stable=True) == (ErrorCode.UNSTABLE_OFFSET_COMMIT, -1)
    assert offset_fetch(require_stable=False) == (0, -1)
    assert txn.end(commit=True) == 0
    assert offset_fetch(require_stable=True) == (0, 3)
