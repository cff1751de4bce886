"""Transaction state lives in ``__transaction_state``, in Kafka's schemas: every
state change is a ``TransactionLogKey`` / ``TransactionLogValue`` record, kcat reads
the topic, Apache Kafka's own ``TransactionLogMessageFormatter`` decodes it, records
captured from Apache Kafka decode with ours, and the coordinator rebuilds itself
from the topic after a restart."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from streamtest import EmbeddedKafka, eventually
from streamtest.broker.cluster import java_string_hash
from streamtest.broker.txn import records
from streamtest.broker.txn.admin import describe_transaction
from streamtest.broker.txn.state import TxnState
from streamtest.protocol.errors import ErrorCode
from streamtest.protocol.exceptions import InvalidFrame

from .rawclient import RawClient
from .txnwire import (
    add_offsets,
    add_partitions,
    batch,
    end_txn,
    init_pid,
    produce,
    txn_offset_commit,
)

# Records Apache Kafka 4.4.0 wrote to __transaction_state for a confluent-kafka
# producer (transactional.id "ref-tx", producer id 0): InitProducerId,
# send_offsets_to_transaction (group at __consumer_offsets-42), two partitions of
# "orders", commit; then one partition, abort. Captured with a consumer reading the
# topic of a real broker (streamtest.kit.reference_kafka.ReferenceKafka).
KAFKA_KEY = bytes.fromhex("000000067265662d7478")
KAFKA_VALUES = [
    (
        "Empty",
        "0001000000000000000000000000ea600000000001a22c1a9466ffffffffffffffff0100080000000000000000",
    ),
    (
        "Ongoing",
        "0001000000000000000000000000ea600102135f5f636f6e73756d65725f6f6666736574730200"
        "00002a00000001a22c1a94bb000001a22c1a94bb0100080000000000000000",
    ),
    (
        "Ongoing",
        "0001000000000000000000000000ea600103076f726465727303000000000000000100135f5f63"
        "6f6e73756d65725f6f666673657473020000002a00000001a22c1a94db000001a22c1a94bb0100"
        "080000000000000000",
    ),
    (
        "PrepareCommit",
        "0001000000000000000000000000ea600203076f726465727303000000000000000100135f5f63"
        "6f6e73756d65725f6f666673657473020000002a00000001a22c1a9a41000001a22c1a94bb0100"
        "080000000000000000",
    ),
    (
        "CompleteCommit",
        "0001000000000000000000000000ea600401000001a22c1a9a63000001a22c1a94bb0100080000000000000000",
    ),
    (
        "Ongoing",
        "0001000000000000000000000000ea600102076f7264657273020000000000000001a22c1a9b1e"
        "000001a22c1a9b1e0100080000000000000000",
    ),
    (
        "PrepareAbort",
        "0001000000000000000000000000ea600302076f7264657273020000000000000001a22c1a9b2d"
        "000001a22c1a9b1e0100080000000000000000",
    ),
    (
        "CompleteAbort",
        "0001000000000000000000000000ea600501000001a22c1a9b2e000001a22c1a9b1e0100080000000000000000",
    ),
]


def _decoded(kafka: EmbeddedKafka, txn_id: str) -> list[records.TransactionLogValue | None]:
    """Return the decoded values of ``txn_id``'s records, oldest first."""
    key = records.transaction_log_key(txn_id)
    out = []
    for r in kafka.records("__transaction_state"):
        if r.key == key:
            out.append(None if r.value is None else records.decode_transaction_log_value(r.value))
    return out


def _transactional_producer(kafka: EmbeddedKafka, txn_id: str) -> Producer:
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "transactional.id": txn_id})
    producer.init_transactions(10)
    return producer


# -- the codec --------------------------------------------------------------------------


def test_records_apache_kafka_wrote_decode_and_encode_back_to_the_same_bytes():
    assert records.decode_transaction_log_key(KAFKA_KEY) == "ref-tx"
    assert records.transaction_log_key("ref-tx") == KAFKA_KEY
    for state, raw in KAFKA_VALUES:
        value = records.decode_transaction_log_value(bytes.fromhex(raw))
        assert value.state.value == state
        assert value.producer_id == 0 and value.previous_producer_id == 0
        assert records.encode_transaction_log_value(value) == bytes.fromhex(raw)
    prepared = records.decode_transaction_log_value(bytes.fromhex(KAFKA_VALUES[3][1]))
    assert prepared.partitions() == {("orders", 0), ("orders", 1), ("__consumer_offsets", 42)}
    empty = records.decode_transaction_log_value(bytes.fromhex(KAFKA_VALUES[0][1]))
    assert empty.transaction_partitions is None and empty.transaction_start_timestamp_ms == -1


@pytest.mark.parametrize("version", [0, 1])
def test_both_value_versions_round_trip(version):
    value = records.TransactionLogValue(
        producer_id=1234,
        producer_epoch=7,
        transaction_timeout_ms=30_000,
        transaction_status=records.STATUS[TxnState.ONGOING],
        transaction_partitions=(("a", (0, 3)), ("é-topic", (1,))),
        transaction_last_update_timestamp_ms=1_700_000_000_123,
        transaction_start_timestamp_ms=1_700_000_000_000,
        # Tagged fields exist from version 1 on only.
        previous_producer_id=1200 if version else -1,
        next_producer_id=1300 if version else -1,
        next_producer_epoch=2 if version else -1,
        client_transaction_version=2 if version else 0,
    )
    data = records.encode_transaction_log_value(value, version)
    assert data[:2] == bytes([0, version])
    assert records.decode_transaction_log_value(data) == value


def test_unknown_tagged_fields_are_skipped_and_bad_values_are_refused():
    raw = bytearray(bytes.fromhex(KAFKA_VALUES[0][1]))
    assert raw[-11:-9] == b"\x01\x00"  # one tagged field: tag 0 (PreviousProducerId)
    raw[-11] = 2
    raw += b"\x09\x02\xbe\xef"  # a tag this broker does not know
    assert records.decode_transaction_log_value(bytes(raw)).previous_producer_id == 0
    with pytest.raises(InvalidFrame, match="version 2"):
        records.decode_transaction_log_value(b"\x00\x02" + bytes(raw[2:]))
    with pytest.raises(InvalidFrame, match="truncated"):
        records.decode_transaction_log_value(bytes(raw[:20]))
    with pytest.raises(InvalidFrame, match="status 9"):
        bad = bytearray(bytes.fromhex(KAFKA_VALUES[0][1]))
        bad[16] = 9
        _ = records.decode_transaction_log_value(bytes(bad)).state
    # Another coordinator record type sharing the key prefix is not ours.
    assert records.decode_transaction_log_key(b"\x00\x05\x00\x01x") is None


# -- what the coordinator writes ------------------------------------------------------------


def test_every_state_change_of_a_transaction_is_a_record_in_its_partition():
    with EmbeddedKafka() as kafka:
        kafka.create_topic("orders", 2)
        producer = _transactional_producer(kafka, "writer-tx")
        producer.begin_transaction()
        producer.produce("orders", b"a", partition=0)
        producer.produce("orders", b"b", partition=1)
        producer.commit_transaction(10)
        producer.begin_transaction()
        producer.produce("orders", b"c", partition=0)
        producer.flush(10)  # else librdkafka aborts without telling the coordinator
        producer.abort_transaction(10)

        values = _decoded(kafka, "writer-tx")
        assert [v.state.value for v in values if v is not None] == [
            "Empty",
            "Ongoing",
            "PrepareCommit",
            "CompleteCommit",
            "Ongoing",
            "PrepareAbort",
            "CompleteAbort",
        ]
        assert values[1].partitions() == {("orders", 0), ("orders", 1)}
        assert values[3].transaction_partitions == ()  # completed: an empty list
        assert values[0].transaction_partitions is None  # Empty: null, as Kafka writes
        assert {(v.producer_id, v.producer_epoch) for v in values} == {(values[0].producer_id, 0)}
        # A completed transaction keeps its start time, as Kafka's records do.
        assert values[3].transaction_start_timestamp_ms == values[1].transaction_start_timestamp_ms
        # The records are in the transactional id's partition (Java hashCode, as Kafka).
        index = java_string_hash("writer-tx") % 50
        in_partition = kafka.records("__transaction_state", partition=index)
        assert len([r for r in in_partition if r.key == records.transaction_log_key("writer-tx")])
        assert len(in_partition) == 7
        meta = kafka.cluster.topics.get("__transaction_state")
        assert meta.configs["cleanup.policy"] == "compact"
        producer.flush(1)


def test_added_offsets_are_listed_as_the_groups_offsets_partition_as_kafka_does():
    with EmbeddedKafka() as kafka:
        kafka.create_topic("in", 1)
        producer = _transactional_producer(kafka, "offsets-tx")
        consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": "g-off"})
        producer.begin_transaction()
        producer.produce("in", b"x", partition=0)
        producer.send_offsets_to_transaction(
            [TopicPartition("in", 0, 1)], consumer.consumer_group_metadata(), 10
        )
        producer.commit_transaction(10)
        consumer.close()
        prepared = next(
            v for v in _decoded(kafka, "offsets-tx") if v and v.state.value == "PrepareCommit"
        )
        assert prepared.partitions() == {
            ("in", 0),
            ("__consumer_offsets", java_string_hash("g-off") % 50),
        }
        assert kafka.call(lambda b: b.groups.committed("g-off")) == {("in", 0): 1}


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed")
def test_kcat_reads_the_transaction_state_topic():
    with EmbeddedKafka() as kafka:
        kafka.create_topic("orders", 1)
        producer = _transactional_producer(kafka, "kcat-tx")
        producer.begin_transaction()
        producer.produce("orders", b"x")
        producer.commit_transaction(10)
        out = subprocess.run(
            [
                "kcat",
                "-C",
                "-b",
                kafka.bootstrap_servers,
                "-t",
                "__transaction_state",
                "-e",
                "-q",
                "-f",
                "%k|%s\n",
            ],
            capture_output=True,
            timeout=60,
            check=True,
        ).stdout
    lines = [line for line in out.split(b"\n") if line]
    # TransactionLogKey: the record type 0, then the id as an INT16-sized string.
    key = b"\x00\x00\x00\x07kcat-tx"
    mine = [line[len(key) + 1 :] for line in lines if line.startswith(key + b"|")]
    assert len(mine) == 4, lines
    # TransactionLogValue v1 with the CompleteCommit status (4) at its fixed offset.
    assert mine[-1][:2] == b"\x00\x01" and mine[-1][16] == 4


@pytest.mark.slow
def test_kafkas_transaction_log_formatter_decodes_the_topic():
    from streamtest.kit.reference_kafka import (
        ReferenceKafkaError,
        classpath_arg,
        java_executable,
        kafka_tools_classpath,
    )

    try:
        java = java_executable()
        jars = kafka_tools_classpath()
    except ReferenceKafkaError as exc:
        pytest.skip(str(exc).splitlines()[0])
    with EmbeddedKafka() as kafka:
        kafka.create_topic("orders", 2)
        producer = _transactional_producer(kafka, "fmt-tx")
        producer.begin_transaction()
        producer.produce("orders", b"x", partition=0)
        producer.produce("orders", b"y", partition=1)
        producer.commit_transaction(10)
        producer.begin_transaction()
        producer.produce("orders", b"open", partition=0)
        producer.flush(10)
        proc = subprocess.run(
            [
                java,
                "-cp",
                classpath_arg(jars),
                "org.apache.kafka.tools.consumer.ConsoleConsumer",
                "--bootstrap-server",
                kafka.bootstrap_servers,
                "--topic",
                "__transaction_state",
                "--from-beginning",
                "--max-messages",
                "5",
                "--timeout-ms",
                "30000",
                "--formatter",
                "org.apache.kafka.tools.consumer.TransactionLogMessageFormatter",
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
    # The formatter prints one JSON document per record, without separators.
    docs: list[dict[str, Any]] = []
    text, pos, decoder = proc.stdout, 0, json.JSONDecoder()
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)
    assert len(docs) == 5, proc.stdout + proc.stderr[-2000:]
    assert {d["key"]["data"]["transactionalId"] for d in docs} == {"fmt-tx"}
    assert {d["value"]["version"] for d in docs} == {1}
    states = [d["value"]["data"]["transactionStatus"] for d in docs]
    assert states == ["Empty", "Ongoing", "PrepareCommit", "CompleteCommit", "Ongoing"]
    prepare = docs[2]["value"]["data"]
    assert prepare["transactionPartitions"] == [{"topic": "orders", "partitionIds": [0, 1]}]
    assert docs[0]["value"]["data"]["transactionPartitions"] is None
    assert docs[4]["value"]["data"]["transactionPartitions"] == [
        {"topic": "orders", "partitionIds": [0]}
    ]


# -- restarts ---------------------------------------------------------------------------------


def test_an_expired_transactional_id_is_a_tombstone_and_stays_gone_after_a_restart(tmp_path):
    settings = {
        "transactional.id.expiration.ms": "60000",
        "producer.id.expiration.check.interval.ms": "1000",
    }
    with EmbeddedKafka(data_dir=tmp_path, clock="manual", settings=settings) as kafka:
        kafka.create_topic("t", 1)
        client = RawClient(kafka.bootstrap_servers)
        kept, gone = init_pid(client, "kept-tx"), init_pid(client, "gone-tx")
        assert kept.error_code == gone.error_code == 0
        kafka.advance(30)
        assert init_pid(client, "kept-tx").error_code == 0  # touched: stays
        kafka.advance(40)
        client.close()
        assert _decoded(kafka, "gone-tx")[-1] is None  # the tombstone
        assert kafka.call(lambda b: sorted(b.transactions.transactions)) == ["kept-tx"]
    with EmbeddedKafka(data_dir=tmp_path, settings=settings) as kafka:
        assert kafka.call(lambda b: sorted(b.transactions.transactions)) == ["kept-tx"]
        found = kafka.call(lambda b: describe_transaction(b.transactions, "gone-tx"))
        assert found["error_code"] == ErrorCode.TRANSACTIONAL_ID_NOT_FOUND
        client = RawClient(kafka.bootstrap_servers)
        again = init_pid(client, "kept-tx")
        assert (again.producer_id, again.producer_epoch) == (kept.producer_id, 2)
        client.close()


def test_staged_offsets_of_an_open_transaction_survive_a_restart(tmp_path):
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        kafka.create_topic("t", 1)
        client = RawClient(kafka.bootstrap_servers)
        resp = init_pid(client, "staged-tx")
        pid, epoch = resp.producer_id, resp.producer_epoch
        assert add_partitions(client, "staged-tx", pid, epoch, "t", [0]) == {0: 0}
        assert add_offsets(client, "staged-tx", pid, epoch, "g-staged") == 0
        assert txn_offset_commit(client, "staged-tx", pid, epoch, "g-staged", "t", {0: 9}) == {0: 0}
        client.close()
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        described = kafka.call(lambda b: describe_transaction(b.transactions, "staged-tx"))
        assert described["transaction_state"] == "Ongoing"
        assert {t["topic"] for t in described["topics"]} == {"t", "__consumer_offsets"}
        client = RawClient(kafka.bootstrap_servers)
        assert end_txn(client, "staged-tx", pid, epoch, commit=True) == 0
        client.close()
        assert kafka.call(lambda b: b.groups.committed("g-staged")) == {("t", 0): 9}
        # The journal entry is dropped once the transaction completes.
        assert kafka.call(lambda b: b.transactions._journaled) == set()


# -- the write comes first ---------------------------------------------------------------------


def test_a_change_that_cannot_be_logged_is_refused_and_not_applied():
    # Kafka writes __transaction_state with acks=-1: with fewer in-sync replicas than
    # transaction.state.log.min.isr the write fails and the coordinator answers
    # COORDINATOR_NOT_AVAILABLE, leaving the transaction as it was.
    with EmbeddedKafka(brokers=2) as kafka:
        kafka.create_topic("t", 1, replication_factor=2)
        txn_id = "isr-tx"
        # Creates __transaction_state (two replicas on two nodes, min.isr 2).
        assert kafka.call(lambda b: b.coordinator_for(1, txn_id)) is not None
        rows = kafka.cluster_status()["topics"]["__transaction_state"]
        row = rows[java_string_hash(txn_id) % len(rows)]
        leader = row["leader"]
        follower = next(r for r in row["replicas"] if r != leader)
        address = next(n["address"] for n in kafka.cluster_status()["nodes"] if n["id"] == leader)
        client = RawClient(address)
        resp = init_pid(client, txn_id)
        assert resp.error_code == 0
        pid, epoch = resp.producer_id, resp.producer_epoch
        kafka.stop_node(follower)
        assert add_partitions(client, txn_id, pid, epoch, "t", [0]) == {
            0: ErrorCode.COORDINATOR_NOT_AVAILABLE
        }
        described = kafka.call(lambda b: describe_transaction(b.transactions, txn_id))
        assert described["transaction_state"] == "Empty" and described["topics"] == []
        kafka.start_node(follower)
        eventually(
            lambda: (
                len(
                    kafka.cluster_status()["topics"]["__transaction_state"][row["partition"]]["isr"]
                )
                == 2
            ),
            timeout=30,
        )
        assert add_partitions(client, txn_id, pid, epoch, "t", [0]) == {0: 0}
        assert end_txn(client, txn_id, pid, epoch, commit=True) == 0
        client.close()


def test_a_marker_that_cannot_be_written_is_retried_until_its_partition_is_back():
    # PrepareCommit is logged, so EndTxn succeeds; the marker of a partition without
    # a leader is retried (clients see CONCURRENT_TRANSACTIONS meanwhile), as Kafka's
    # marker channel retries WriteTxnMarkers.
    with EmbeddedKafka(brokers=3) as kafka:
        kafka.create_topic("t", 1, replication_factor=1)
        data_leader = kafka.leader("t", 0)
        assert kafka.call(lambda b: b.coordinator_for(1, "probe")) is not None
        status = kafka.cluster_status()
        rows = status["topics"]["__transaction_state"]

        def coordinator(txn_id: str) -> int:
            return rows[java_string_hash(txn_id) % len(rows)]["leader"]

        txn_id = next(f"retry-{i}" for i in range(1000) if coordinator(f"retry-{i}") != data_leader)
        address = {n["id"]: n["address"] for n in status["nodes"]}
        client = RawClient(address[coordinator(txn_id)])
        data_client = RawClient(address[data_leader])
        resp = init_pid(client, txn_id)
        pid, epoch = resp.producer_id, resp.producer_epoch
        assert add_partitions(client, txn_id, pid, epoch, "t", [0]) == {0: 0}
        sent = produce(data_client, "t", batch(pid, epoch, 0, [b"held"], True), txn_id=txn_id)
        assert sent.error_code == 0
        data_client.close()
        kafka.stop_node(data_leader)

        assert end_txn(client, txn_id, pid, epoch, commit=True) == 0
        state = kafka.call(lambda b: b.transactions.transactions[txn_id].state.value)
        assert state == "PrepareCommit"
        assert init_pid(client, txn_id).error_code == ErrorCode.CONCURRENT_TRANSACTIONS
        kafka.start_node(data_leader)
        eventually(
            lambda: kafka.call(lambda b: b.transactions.transactions[txn_id].state.value),
            equals="CompleteCommit",
            timeout=30,
        )
        assert [r.value for r in kafka.records("t", read_committed=True)] == [b"held"]
        client.close()
