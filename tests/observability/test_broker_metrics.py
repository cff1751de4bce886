"""Broker metrics, scraped over HTTP after real produce, consume and group activity
by confluent-kafka clients."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from streamtest import EmbeddedKafka, eventually
from streamtest.broker.metrics import BrokerMetrics, batch_record_count
from streamtest.embedded import BrokerStartError
from streamtest.protocol.records import RecordInput, build_batch

from .promtext import scrape, value


def _produce(bootstrap: str, topic: str, n: int, client_id: str = "metrics-test") -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": client_id})
    for i in range(n):
        producer.produce(topic, value=b"v%04d" % i, partition=0)
    assert producer.flush(10) == 0


def _consume_and_commit(bootstrap: str, topic: str, group: str, count: int) -> Consumer:
    """Join ``group``, read ``count`` records and commit after the last of them."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen = []

    def read() -> bool:
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error():
            seen.append(msg)
        return len(seen) >= count

    eventually(read, timeout=30, interval=0)
    last = seen[count - 1]
    consumer.commit(offsets=[TopicPartition(topic, 0, last.offset() + 1)], asynchronous=False)
    return consumer


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_metrics_after_produce_consume_and_group_commit(mode):
    topic, group = f"m-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    with EmbeddedKafka(mode=mode, metrics_port=0) as kafka:
        assert kafka.metrics_port and kafka.metrics_url.endswith("/metrics")
        kafka.create_topic(topic, partitions=1)
        _produce(kafka.bootstrap_servers, topic, 30)
        consumer = _consume_and_commit(kafka.bootstrap_servers, topic, group, 12)
        try:
            s = scrape(kafka.metrics_url)
            assert value(s, "kafka_server_brokertopicmetrics_records_in_total", topic=topic) == 30
            bytes_in = value(s, "kafka_server_brokertopicmetrics_bytes_in_total", topic=topic)
            assert bytes_in is not None and bytes_in > 30 * 5
            assert value(s, "kafka_server_brokertopicmetrics_records_out_total", topic=topic) >= 12
            assert value(s, "kafka_server_brokertopicmetrics_bytes_out_total", topic=topic) > 0
            labels = {"topic": topic, "partition": "0"}
            assert value(s, "kafka_log_log_logendoffset", **labels) == 30
            assert value(s, "kafka_log_log_logstartoffset", **labels) == 0
            assert value(s, "kafka_log_log_size", **labels) > 0
            assert value(s, "kafka_consumergroup_members", consumergroup=group) == 1
            assert (
                value(
                    s,
                    "kafka_consumergroup_state",
                    consumergroup=group,
                    state="Stable",
                    type="classic",
                )
                == 1
            )
            glabels = {"consumergroup": group, "topic": topic, "partition": "0"}
            assert value(s, "kafka_consumergroup_current_offset", **glabels) == 12
            assert value(s, "kafka_consumergroup_lag", **glabels) == 18
            assert value(s, "kafka_consumergroup_lag_sum", consumergroup=group, topic=topic) == 18
            assert value(s, "kafka_server_socketservermetrics_connection_count") >= 1
            assert value(s, "kafka_server_socketservermetrics_connection_creation_total") >= 2
            produce = [
                v
                for (name, labels_), v in s.items()
                if name == "kafka_network_requestmetrics_requests_total"
                and ("request", "Produce") in labels_
            ]
            assert sum(produce) >= 1
            assert (
                value(s, "kafka_network_requestmetrics_totaltime_seconds_count", request="Fetch")
                >= 1
            )
            assert (
                value(
                    s,
                    "kafka_network_requestmetrics_totaltime_seconds_count",
                    request="OffsetCommit",
                )
                >= 1
            )
        finally:
            consumer.close()

        # After the consumer leaves, the group is Empty and its lag stays.
        def empty() -> bool:
            s = scrape(kafka.metrics_url)
            return (
                value(
                    s,
                    "kafka_consumergroup_state",
                    consumergroup=group,
                    state="Empty",
                    type="classic",
                )
                == 1
                and value(s, "kafka_consumergroup_members", consumergroup=group) == 0
            )

        eventually(empty, timeout=20)


def test_two_brokers_in_one_process_keep_separate_metrics():
    topic = f"two-{uuid.uuid4().hex[:8]}"
    with EmbeddedKafka(metrics_port=0) as a, EmbeddedKafka(metrics_port=0) as b:
        assert a.metrics_port != b.metrics_port
        _produce(a.bootstrap_servers, topic, 5)
        _produce(b.bootstrap_servers, topic, 7)
        assert (
            value(
                scrape(a.metrics_url),
                "kafka_server_brokertopicmetrics_records_in_total",
                topic=topic,
            )
            == 5
        )
        assert (
            value(
                scrape(b.metrics_url),
                "kafka_server_brokertopicmetrics_records_in_total",
                topic=topic,
            )
            == 7
        )


def test_metrics_off_by_default_and_url_says_so():
    with EmbeddedKafka() as kafka:
        assert kafka.call(lambda b: b.metrics) is None
        with pytest.raises(RuntimeError, match="metrics are off"):
            _ = kafka.metrics_url


def test_taken_metrics_port_fails_start_with_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BrokerStartError, match="Address already in use|in use"):
            EmbeddedKafka(metrics_port=port).start()


def test_cli_broker_serves_metrics_and_rejects_a_taken_port():
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamtest.cli", "broker", "--port", "0", "--metrics-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        url = proc.stderr.readline().strip().removeprefix("metrics: ")
        address = proc.stdout.readline().strip()
        topic = f"cli-{uuid.uuid4().hex[:8]}"
        _produce(address, topic, 3)
        s = scrape(url)
        assert value(s, "kafka_server_brokertopicmetrics_records_in_total", topic=topic) == 3
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        taken = subprocess.run(
            [
                sys.executable,
                "-m",
                "streamtest.cli",
                "broker",
                "--port",
                "0",
                "--metrics-port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert taken.returncode == 1
        assert "cannot serve metrics" in taken.stderr and "Traceback" not in taken.stderr
    finally:
        proc.terminate()
        proc.wait(10)
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()


def test_throttle_time_counter_by_quota_and_client():
    metrics = BrokerMetrics()
    metrics.throttled("produce", "app-1", 0.25)
    metrics.throttled("produce", "app-1", 0.5)
    port = metrics.serve(0)
    try:
        s = scrape(f"http://127.0.0.1:{port}/metrics")
        assert (
            value(
                s,
                "kafka_server_quota_throttle_time_seconds_total",
                quota="produce",
                client_id="app-1",
            )
            == 0.75
        )
    finally:
        metrics.close()


def test_batch_record_count_reads_the_header_field():
    batch = build_batch([RecordInput(None, b"a"), RecordInput(None, b"b"), RecordInput(None, b"")])
    assert batch_record_count(batch) == 3
    assert batch_record_count(b"\x00" * 10) == 0


def test_one_endpoint_serves_a_three_node_cluster():
    topic = f"multi-{uuid.uuid4().hex[:8]}"
    with EmbeddedKafka(brokers=3, metrics_port=0) as kafka:
        kafka.create_topic(topic, partitions=1, replication_factor=3)
        _produce(kafka.bootstrap_servers, topic, 9)

        def replicated() -> bool:
            s = scrape(kafka.metrics_url)
            return (
                value(s, "kafka_cluster_partition_highwatermark", topic=topic, partition="0") == 9
            )

        eventually(replicated, timeout=20)
        s = scrape(kafka.metrics_url)
        # Appended once by the leader: replication does not count as records in.
        assert value(s, "kafka_server_brokertopicmetrics_records_in_total", topic=topic) == 9
        assert value(s, "kafka_log_log_logendoffset", topic=topic, partition="0") == 9
        assert value(s, "kafka_server_replicamanager_underreplicatedpartitions") == 0
