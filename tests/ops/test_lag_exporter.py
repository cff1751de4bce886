"""The lag exporter (kafka_exporter's metrics) and Burrow-style status: the rules on
synthetic windows, then a real confluent-kafka consumer group with lag."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from confluent_kafka import Consumer, TopicPartition

from observability.promtext import scrape, value
from streamtest.kit.wait import eventually
from streamtest.ops import ClientConfig
from streamtest.ops.lag_exporter import LagExporter, LagMonitor
from streamtest.ops.lag_status import (
    OffsetSample,
    PartitionWindow,
    Status,
    group_status,
    partition_status,
)


def window(*pairs: tuple[int, int]) -> list[OffsetSample]:
    """Samples one second apart from ``(offset, lag)`` pairs."""
    return [OffsetSample(float(i), off, lag) for i, (off, lag) in enumerate(pairs)]


# -- the rules on synthetic windows ---------------------------------------------------


def test_zero_lag_anywhere_in_the_window_is_ok():
    assert partition_status(window((0, 5), (0, 0), (0, 7)), 7, owned=True) == Status.OK
    assert partition_status(window((5, 3), (5, 3)), 0, owned=False) == Status.OK


def test_an_offset_going_backwards_is_a_rewind():
    assert partition_status(window((10, 5), (12, 6), (4, 14)), 14, owned=True) == Status.REWIND


def test_a_partition_nobody_owns_with_lag_has_stopped():
    assert partition_status(window((10, 5), (10, 9), (10, 12)), 12, owned=False) == Status.STOP
    # Even if it moved earlier in the window: the consumer has gone.
    assert partition_status(window((5, 9), (10, 9), (10, 12)), 12, owned=False) == Status.STOP


def test_an_owned_partition_that_does_not_move_has_stalled():
    assert partition_status(window((10, 5), (10, 5), (10, 5)), 5, owned=True) == Status.STALL
    assert partition_status(window((10, 5), (10, 8)), 8, owned=True) == Status.STALL


def test_moving_but_never_catching_up_is_a_warning():
    assert partition_status(window((10, 5), (20, 5), (30, 9)), 9, owned=True) == Status.WARN


def test_moving_with_lag_going_down_somewhere_is_ok():
    assert partition_status(window((10, 9), (20, 5), (30, 8)), 8, owned=True) == Status.OK


def test_too_few_samples_or_no_commit_is_ok():
    assert partition_status(window((10, 5)), 5, owned=False) == Status.OK
    assert partition_status([], None, owned=False) == Status.OK


def test_group_status_is_the_worst_with_errors_as_err():
    assert group_status([]) == Status.OK
    assert group_status([Status.OK, Status.WARN]) == Status.WARN
    for bad in (Status.STOP, Status.STALL, Status.REWIND):
        assert group_status([Status.WARN, bad, Status.OK]) == Status.ERR
    assert [int(s) for s in Status] == [0, 1, 2, 3, 4, 5, 6]  # Burrow's StatusConstant


def test_window_keeps_the_last_samples():
    w = PartitionWindow(3)
    for i in range(5):
        w.add(OffsetSample(i, i, 1))
    assert [s.offset for s in w.samples] == [2, 3, 4] and w.complete


# -- end to end: a real group with lag -------------------------------------------------


@pytest.fixture
def lagging_group(broker, make_topic, group_name):
    """A live confluent-kafka consumer in ``group_name`` that read and committed 4 of
    the 10 records of partition 0 and 10 of partition 1, then stopped polling (it
    stays a member: librdkafka heartbeats in the background)."""
    topic = make_topic(2, 10)
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "group.id": group_name,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    eventually(lambda: consumer.poll(0.2) is not None or consumer.assignment(), timeout=30)
    consumer.commit(
        offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 10)], asynchronous=False
    )
    yield topic, consumer
    consumer.close()


def test_exporter_serves_kafka_exporter_metrics_and_status(broker, lagging_group, group_name):
    topic, consumer = lagging_group
    monitor = LagMonitor(ClientConfig(broker.bootstrap_servers, {}, 10.0), [group_name], 5)
    exporter = LagExporter(monitor, interval=3600)  # the test polls by hand
    port = exporter.start(0)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        exporter.poll_once()
        s = scrape(url)
        labels0 = {"consumergroup": group_name, "topic": topic, "partition": "0"}
        labels1 = {"consumergroup": group_name, "topic": topic, "partition": "1"}
        assert value(s, "kafka_consumergroup_current_offset", **labels0) == 4
        assert value(s, "kafka_consumergroup_lag", **labels0) == 6
        assert value(s, "kafka_consumergroup_lag", **labels1) == 0
        assert value(s, "kafka_consumergroup_lag_sum", consumergroup=group_name, topic=topic) == 6
        assert (
            value(
                s, "kafka_consumergroup_current_offset_sum", consumergroup=group_name, topic=topic
            )
            == 14
        )
        assert value(s, "kafka_consumergroup_members", consumergroup=group_name) == 1
        assert value(s, "kafka_topic_partition_current_offset", topic=topic, partition="0") == 10
        assert value(s, "kafka_topic_partition_oldest_offset", topic=topic, partition="0") == 0
        assert value(s, "kafka_topic_partitions", topic=topic) == 2
        assert value(s, "kafka_brokers") == 1
        assert value(s, "streamtest_lag_exporter_polls_total") == 2
        assert value(s, "streamtest_lag_exporter_poll_errors_total") == 0
        # Two looks, the member alive but the offset not moving: partition 0 stalled.
        assert value(s, "kafka_consumergroup_partition_status", **labels0) == Status.STALL
        assert value(s, "kafka_consumergroup_partition_status", **labels1) == Status.OK
        assert value(s, "kafka_consumergroup_status", consumergroup=group_name) == Status.ERR
        # The consumer leaves: nobody owns the partition any more, so it has stopped.
        consumer.close()

        def stopped() -> bool:
            exporter.poll_once()
            s = scrape(url)
            return (
                value(s, "kafka_consumergroup_members", consumergroup=group_name) == 0
                and value(s, "kafka_consumergroup_partition_status", **labels0) == Status.STOP
            )

        eventually(stopped, timeout=30, interval=0.2)
    finally:
        exporter.stop()


def test_exporter_keeps_serving_when_the_cluster_goes_away():
    exporter = LagExporter(LagMonitor(ClientConfig("127.0.0.1:1", {}, 1.0)), interval=3600)
    port = exporter.start(0)
    try:
        s = scrape(f"http://127.0.0.1:{port}/metrics")
        assert value(s, "streamtest_lag_exporter_poll_errors_total") == 1
        assert exporter.last_error and "cannot connect" in exporter.last_error
    finally:
        exporter.stop()


def test_lag_status_cli(cli, lagging_group, group_name):
    topic, _consumer = lagging_group
    res = cli.ok("lag", "--status", "--group", group_name, "--samples", "2", "--interval", "0.1")
    rows = [line.split() for line in res.stdout.splitlines()]
    assert [
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "OWNED",
        "STATUS",
    ] in rows
    assert [group_name, topic, "0", "4", "10", "6", "yes", "STALL"] in rows
    assert [group_name, topic, "1", "10", "10", "0", "yes", "OK"] in rows
    assert f"GROUP {group_name}: ERR (state Stable, 1 members, total lag 6)" in res.stdout


def test_lag_without_a_group_is_one_line(cli):
    res = cli("lag")
    assert res.exit_code == 1
    assert "give one --group" in res.stderr


def test_lag_prometheus_port_cli_serves_until_sigterm(broker, lagging_group, group_name):
    topic, _consumer = lagging_group
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamtest.cli",
            "lag",
            "--prometheus-port",
            "0",
            "--group",
            group_name,
            "--interval",
            "0.5",
            "--bootstrap-server",
            broker.bootstrap_servers,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        s = scrape(url)
        labels0 = {"consumergroup": group_name, "topic": topic, "partition": "0"}
        assert value(s, "kafka_consumergroup_lag", **labels0) == 6
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
