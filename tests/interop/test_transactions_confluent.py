"""confluent-kafka's (librdkafka's) transactional and idempotent producers against the
embedded broker: read_committed visibility, aborts, fencing, offsets in transactions.

The exactly-once consume-transform-produce loop killed with SIGKILL is in
``test_transactions_eos.py``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import confluent_kafka
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from streamtest import EmbeddedKafka
from streamtest.kit.compat import librdkafka_version
from streamtest.kit.wait import eventually

pytestmark = pytest.mark.interop
LIBRDKAFKA = ".".join(map(str, librdkafka_version(confluent_kafka.libversion())))


def _producer(bootstrap: str, txn_id: str | None = None, **config: Any) -> Producer:
    conf: dict[str, Any] = {"bootstrap.servers": bootstrap, "linger.ms": 1, **config}
    if txn_id is not None:
        conf["transactional.id"] = txn_id
    return Producer(conf)


def _consumer(bootstrap: str, topic: str, partitions: int, isolation: str) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    return consumer


def _drain(consumer: Consumer, expected: int, timeout: float = 15.0) -> list[bytes]:
    """Consume until ``expected`` values arrived (or ``timeout``); return them sorted."""
    out: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(out) < expected and time.monotonic() < deadline:
        for msg in consumer.consume(num_messages=500, timeout=0.2):
            if msg.error():
                raise AssertionError(f"consume error: {msg.error()}")
            out.append(msg.value())
    return sorted(out)


def _nothing_for(consumer: Consumer, seconds: float) -> list[bytes]:
    """Return whatever arrives within ``seconds`` (a bounded negative check)."""
    got: list[bytes] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got += [m.value() for m in consumer.consume(num_messages=100, timeout=0.1)
                if not m.error()]
    return got


def test_a_committed_transaction_is_visible_to_read_committed(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, 3)
    producer = _producer(bootstrap, f"tx-{topic_name}")
    producer.init_transactions(10)
    producer.begin_transaction()
    for i in range(30):
        producer.produce(topic_name, value=b"c%02d" % i, partition=i % 3)
    producer.commit_transaction(10)

    consumer = _consumer(bootstrap, topic_name, 3, "read_committed")
    try:
        assert _drain(consumer, 30) == [b"c%02d" % i for i in range(30)]
    finally:
        consumer.close()


def test_an_aborted_transaction_is_hidden_from_read_committed_only(
    broker, bootstrap, topic_name
):
    broker.create_topic(topic_name, 2)
    producer = _producer(bootstrap, f"tx-{topic_name}")
    producer.init_transactions(10)
    producer.begin_transaction()
    for i in range(10):
        producer.produce(topic_name, value=b"aborted-%d" % i, partition=i % 2)
    assert producer.flush(10) == 0  # on the broker before the abort
    producer.abort_transaction(10)
    producer.begin_transaction()
    producer.produce(topic_name, value=b"committed", partition=0)
    producer.commit_transaction(10)

    committed = _consumer(bootstrap, topic_name, 2, "read_committed")
    uncommitted = _consumer(bootstrap, topic_name, 2, "read_uncommitted")
    try:
        assert _drain(uncommitted, 11) == sorted(
            [b"committed"] + [b"aborted-%d" % i for i in range(10)]
        )
        assert _drain(committed, 1) == [b"committed"]
        assert _nothing_for(committed, 0.5) == []
    finally:
        committed.close()
        uncommitted.close()


def test_an_open_transaction_is_invisible_to_read_committed_until_it_commits(
    broker, bootstrap, topic_name
):
    broker.create_topic(topic_name, 1)
    producer = _producer(bootstrap, f"tx-{topic_name}")
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce(topic_name, value=b"pending", partition=0)
    assert producer.flush(10) == 0
    eventually(lambda: [r.value for r in broker.records(topic_name)] == [b"pending"])

    committed = _consumer(bootstrap, topic_name, 1, "read_committed")
    try:
        # librdkafka's ListOffsets for a read_committed consumer returns the LSO.
        low, high = committed.get_watermark_offsets(TopicPartition(topic_name, 0), cached=False)
        assert (low, high) == (0, 0)
        assert _nothing_for(committed, 0.5) == []
        producer.commit_transaction(10)
        assert _drain(committed, 1) == [b"pending"]
        low, high = committed.get_watermark_offsets(TopicPartition(topic_name, 0), cached=False)
        assert high == 2  # the record and its COMMIT marker
    finally:
        committed.close()


def test_a_second_producer_with_the_same_transactional_id_fences_the_first(
    broker, bootstrap, topic_name
):
    broker.create_topic(topic_name, 1)
    txn_id = f"tx-{topic_name}"
    zombie = _producer(bootstrap, txn_id)
    zombie.init_transactions(10)
    zombie.begin_transaction()
    zombie.produce(topic_name, value=b"zombie", partition=0)
    assert zombie.flush(10) == 0

    successor = _producer(bootstrap, txn_id)
    successor.init_transactions(10)
    successor.begin_transaction()
    successor.produce(topic_name, value=b"successor", partition=0)
    successor.commit_transaction(10)

    with pytest.raises(KafkaException) as raised:
        zombie.commit_transaction(10)
    error: KafkaError = raised.value.args[0]
    assert error.fatal(), error
    assert error.code() in (
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
    ), error

    consumer = _consumer(bootstrap, topic_name, 1, "read_committed")
    try:
        assert _drain(consumer, 1) == [b"successor"]
        assert _nothing_for(consumer, 0.3) == []
    finally:
        consumer.close()


def test_a_transaction_past_its_timeout_is_aborted_by_the_broker(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, 1)
    txn_id = f"tx-{topic_name}"
    producer = _producer(bootstrap, txn_id, **{"transaction.timeout.ms": 1000})
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce(topic_name, value=b"too-slow", partition=0)
    assert producer.flush(10) == 0

    def aborted() -> bool:
        return broker.call(lambda b: b.transactions.transactions[txn_id].state.value) == (
            "CompleteAbort"
        )

    eventually(aborted, timeout=15)
    with pytest.raises(KafkaException):
        producer.commit_transaction(10)
    consumer = _consumer(bootstrap, topic_name, 1, "read_committed")
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic_name, 0), cached=False)
        assert high == 2  # the record and the broker's ABORT marker: nothing held back
        assert _nothing_for(consumer, 0.3) == []
    finally:
        consumer.close()


def test_idempotent_producer_writes_each_record_once(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, 2)
    producer = _producer(bootstrap, **{"enable.idempotence": True, "acks": "all"})
    for i in range(500):
        producer.produce(topic_name, value=b"%03d" % i, partition=i % 2)
    assert producer.flush(15) == 0
    assert sorted(r.value for r in broker.records(topic_name)) == [b"%03d" % i for i in range(500)]
    producers = broker.call(
        lambda b: [b.topics.partition(topic_name, p).producers for p in range(2)]
    )
    (pid,) = {pid for entries in producers for pid in entries}
    assert all(entries[pid].last_seq == 249 for entries in producers)


# "consumer": a KIP-848 member's transactional commit (TxnOffsetCommit checks its
# member epoch, not the OffsetCommit v9+ rule; it was once UNSUPPORTED_VERSION).
@pytest.mark.parametrize("group_protocol", ["classic", "consumer"])
def test_send_offsets_to_transaction_commits_offsets_with_the_output(
    broker, bootstrap, topic_name, group_protocol
):
    source, sink = f"{topic_name}-in", f"{topic_name}-out"
    broker.create_topic(source, 1)
    broker.create_topic(sink, 1)
    feeder = _producer(bootstrap)
    for i in range(5):
        feeder.produce(source, value=b"%d" % i, partition=0)
    assert feeder.flush(10) == 0

    group = f"g-{topic_name}"
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "group.protocol": group_protocol,
        }
    )
    consumer.subscribe([source])
    producer = _producer(bootstrap, f"tx-{topic_name}")
    producer.init_transactions(10)
    try:
        got: list[Any] = []
        deadline = time.monotonic() + 20
        while len(got) < 5 and time.monotonic() < deadline:
            got += [m for m in consumer.consume(10, 0.2) if not m.error()]
        assert len(got) == 5

        producer.begin_transaction()
        for msg in got:
            producer.produce(sink, value=msg.value() + b"!", partition=0)
        producer.send_offsets_to_transaction(
            [TopicPartition(source, 0, 3)], consumer.consumer_group_metadata(), 10
        )
        producer.abort_transaction(10)
        committed = consumer.committed([TopicPartition(source, 0)], 10)
        assert committed[0].offset < 0  # the aborted offsets never reached the group

        producer.begin_transaction()
        for msg in got:
            producer.produce(sink, value=msg.value() + b"!", partition=0)
        producer.send_offsets_to_transaction(
            consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 10
        )
        producer.commit_transaction(10)
        committed = consumer.committed([TopicPartition(source, 0)], 10)
        assert committed[0].offset == 5
    finally:
        consumer.close()
    reader = _consumer(bootstrap, sink, 1, "read_committed")
    try:
        assert _drain(reader, 5) == [b"%d!" % i for i in range(5)]
    finally:
        reader.close()


def test_an_open_transaction_survives_a_broker_restart_and_commits(tmp_path):
    first = EmbeddedKafka(data_dir=tmp_path).start()
    port = first.port
    bootstrap = first.bootstrap_servers
    first.create_topic("t", 1)
    producer = _producer(bootstrap, "restart-tx")
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce("t", value=b"across-restart", partition=0)
    assert producer.flush(10) == 0
    first.stop()
    with EmbeddedKafka(data_dir=tmp_path, port=port) as second:
        producer.commit_transaction(30)  # librdkafka reconnects; EndTxn finds the txn
        consumer = _consumer(second.bootstrap_servers, "t", 1, "read_committed")
        try:
            assert _drain(consumer, 1) == [b"across-restart"]
        finally:
            consumer.close()


def _lose_first_produce_response(broker: EmbeddedKafka, topic: str) -> list[int]:
    """Install a hook that lets the first Produce to ``topic`` append, then drops the
    connection instead of answering, as if the response were lost: the client must
    retry the batch."""
    from streamtest.faults import ApiKey, CloseConnection

    lost: list[int] = []

    def lose_response(request: Any, response: Any) -> Any:
        if lost or all(t.name != topic for t in request.topic_data):
            return None
        lost.append(1)
        return CloseConnection("the answer never reaches the client")

    broker.intercept(ApiKey.PRODUCE, lose_response, when="after", keep=True)
    return lost


@pytest.mark.parametrize("idempotent", [True, False])
def test_a_retry_after_a_lost_response_duplicates_only_without_idempotence(
    broker, bootstrap, topic_name, idempotent
):
    broker.create_topic(topic_name, 1)
    lost = _lose_first_produce_response(broker, topic_name)
    producer = _producer(
        bootstrap, **{"enable.idempotence": idempotent, "acks": "all", "linger.ms": 50}
    )
    for i in range(10):
        producer.produce(topic_name, value=b"%d" % i, partition=0)
    assert producer.flush(20) == 0
    assert lost == [1]
    values = [r.value for r in broker.records(topic_name)]
    if idempotent:
        assert values == [b"%d" % i for i in range(10)]  # the retry was recognised
    else:  # the classic duplicate: the retried batch is appended again
        assert set(values) == {b"%d" % i for i in range(10)} and len(values) > 10
