"""Every acknowledged record survives a SIGKILL of the broker process."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import Producer

from streamtest import EmbeddedKafka


def _start_broker(data_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamtest.cli",
            "broker",
            "--port",
            "0",
            "--partitions",
            "3",
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    assert address.startswith("127.0.0.1:"), proc.stderr.read() if proc.stderr else ""
    return proc, address


def test_acknowledged_records_survive_sigkill_and_restart(tmp_path):
    proc, address = _start_broker(tmp_path)
    acked: list[bytes] = []

    def on_delivery(err, msg):
        if err is None:
            acked.append(msg.value())

    producer = Producer({"bootstrap.servers": address, "acks": "all", "linger.ms": 1})
    for i in range(2000):
        producer.produce(
            "durable", key=str(i % 10).encode(), value=f"r{i}".encode(), on_delivery=on_delivery
        )
        if i % 200 == 0:
            producer.poll(0)
    producer.flush(15)
    assert len(acked) == 2000
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()

    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        stored = kafka.records("durable")
        assert sorted(r.value for r in stored) == sorted(acked)
        # Per partition, offsets are still dense and the producer can append again.
        for p in range(3):
            offsets = [r.offset for r in stored if r.partition == p]
            assert offsets == list(range(len(offsets)))
        again = Producer({"bootstrap.servers": kafka.bootstrap_servers})
        again.produce("durable", value=b"after-restart", partition=0)
        assert again.flush(10) == 0
        assert kafka.records("durable", partition=0)[-1].value == b"after-restart"


def test_torn_tail_is_truncated_on_recovery(tmp_path, caplog):
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        p = Producer({"bootstrap.servers": kafka.bootstrap_servers})
        for i in range(5):
            p.produce("torn", value=f"v{i}".encode())
            p.flush(10)
    # Kafka's layout: node-0/<topic>-<partition>/<base offset>.log
    (log_file,) = tmp_path.glob("node-0/torn-0/*.log")
    whole = log_file.stat().st_size
    # A crash mid-write: no clean-shutdown marker, and half a batch at the end.
    (tmp_path / "node-0" / ".kafka_cleanshutdown").unlink()
    with open(log_file, "ab") as f:
        f.write(b"\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x01\x00partial")
    with caplog.at_level("ERROR", logger="streamtest.broker.log"):
        with EmbeddedKafka(data_dir=tmp_path) as kafka:
            assert [r.value for r in kafka.records("torn")] == [f"v{i}".encode() for i in range(5)]
    assert log_file.stat().st_size == whole
    # Recovery names the segment and the offset where the log was cut.
    assert any(log_file.name in r.getMessage() for r in caplog.records), caplog.text


def test_topic_configs_and_deletes_persist(tmp_path):
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        kafka.create_topic("keep", partitions=2, config={"retention.ms": "1234"})
        kafka.create_topic("gone")
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
        admin.delete_topics(["gone"])["gone"].result(10)
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        assert kafka.topics() == ["keep"]
        topic = kafka.call(lambda b: b.topics["keep"])
        assert len(topic.partitions) == 2 and topic.configs == {"retention.ms": "1234"}


def test_committed_offsets_and_transactions_survive_sigkill(tmp_path):
    from confluent_kafka import Consumer, TopicPartition

    from streamtest.broker.txn.admin import describe_transaction

    proc, address = _start_broker(tmp_path)
    producer = Producer({"bootstrap.servers": address})
    for i in range(10):
        producer.produce("offsets-topic", value=str(i).encode(), partition=0)
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": address, "group.id": "survivor"})
    consumer.commit(offsets=[TopicPartition("offsets-topic", 0, 7)], asynchronous=False)
    consumer.close()
    txn = Producer({"bootstrap.servers": address, "transactional.id": "survivor-tx"})
    txn.init_transactions(10)
    txn.begin_transaction()
    txn.produce("offsets-topic", value=b"in-flight", partition=0)
    txn.flush(10)  # the transaction is open and its record is in the log
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()

    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        assert kafka.call(lambda b: b.groups.committed("survivor")) == {("offsets-topic", 0): 7}
        # The open transaction is still open: read_committed stops before it.
        committed = [r.value for r in kafka.records("offsets-topic", read_committed=True)]
        assert committed == [str(i).encode() for i in range(10)]
        assert kafka.records("offsets-topic")[-1].value == b"in-flight"
        # The coordinator rebuilt it from __transaction_state.
        described = kafka.call(lambda b: describe_transaction(b.transactions, "survivor-tx"))
        assert described["transaction_state"] == "Ongoing"
        assert described["topics"] == [{"topic": "offsets-topic", "partitions": [0]}]
        # A new instance of the producer fences the old one and aborts its transaction.
        again = Producer({"bootstrap.servers": kafka.bootstrap_servers,
                          "transactional.id": "survivor-tx"})
        again.init_transactions(10)
        again.begin_transaction()
        again.produce("offsets-topic", value=b"after", partition=0)
        again.commit_transaction(10)
        committed = [r.value for r in kafka.records("offsets-topic", read_committed=True)]
        assert committed == [str(i).encode() for i in range(10)] + [b"after"]


@pytest.mark.parametrize("seed", [11, 23, 37])
def test_no_acknowledged_record_is_lost_wherever_a_sigkill_lands(tmp_path, seed):
    # The kill comes after a random number of acknowledgements, while more records
    # are in flight: whatever the broker was doing then (appending, rolling a
    # segment, writing an index or checkpoint), every acknowledged record must come
    # back, once, at a dense offset.
    kill_after = random.Random(seed).randint(300, 4000)
    proc, address = _start_broker(tmp_path, "--setting", "log.segment.bytes=65536")
    acked: list[bytes] = []

    def on_delivery(err, msg):
        if err is None:
            acked.append(msg.value())

    producer = Producer({"bootstrap.servers": address, "acks": "all", "linger.ms": 1,
                         "message.timeout.ms": 3000})
    i = 0
    while len(acked) < kill_after:
        try:
            producer.produce("chaos", key=str(i % 13).encode(), value=b"c%06d" % i + b"x" * 200,
                             on_delivery=on_delivery)
        except BufferError:  # librdkafka's queue is full: let deliveries drain it
            producer.poll(0.05)
            continue
        i += 1
        producer.poll(0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    producer.flush(5)  # what was in flight fails or was acknowledged just before
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        stored = kafka.records("chaos")
        values = [r.value for r in stored]
        assert set(acked) <= set(values)
        assert len(values) == len(set(values))  # nothing twice
        for p in range(3):
            offsets = [r.offset for r in stored if r.partition == p]
            assert offsets == list(range(len(offsets)))
