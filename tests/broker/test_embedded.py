"""EmbeddedKafka lifecycle: thread and process modes, inspection, orphan safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from streamtest import EmbeddedKafka
from streamtest.kit.wait import eventually


def _produce(bootstrap: str, topic: str, n: int) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(n):
        p.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), headers=[("i", b"1")])
    assert p.flush(10) == 0


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_start_produce_inspect_stop(mode, topic_name):
    kafka = EmbeddedKafka(partitions=2, mode=mode)
    with kafka:
        assert kafka.bootstrap_servers.startswith("127.0.0.1:")
        _produce(kafka.bootstrap_servers, topic_name, 10)
        assert topic_name in kafka.topics()
        records = kafka.records(topic_name)
        assert len(records) == 10
        assert {r.partition for r in records} <= {0, 1}
        assert all(r.headers == [("i", b"1")] for r in records)
        one = kafka.records(topic_name, partition=records[0].partition)
        assert one and all(r.partition == records[0].partition for r in one)
        with pytest.raises(KeyError):
            kafka.records("no-such-topic")
    assert not kafka.running
    kafka.stop()  # a second stop is a no-op


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="mode"):
        EmbeddedKafka(mode="docker")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="partitions"):
        EmbeddedKafka(partitions=0)
    with pytest.raises(RuntimeError, match="not running"):
        _ = EmbeddedKafka().bootstrap_servers


def test_port_in_use_gives_a_clear_error():
    with EmbeddedKafka() as first:
        with pytest.raises(Exception, match="failed to start|address already in use"):
            EmbeddedKafka(port=first.port).start()


def test_create_topic_direct_validates():
    with EmbeddedKafka() as kafka:
        kafka.create_topic("ok", partitions=3, config={"retention.ms": "1000"})
        with pytest.raises(ValueError, match="already exists"):
            kafka.create_topic("ok")
        with pytest.raises(ValueError, match="illegal"):
            kafka.create_topic("bad name!")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); check its state.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_process_mode_leaves_no_orphan_when_parent_is_sigkilled(tmp_path):
    script = textwrap.dedent(
        """
        import os, sys, time
        from streamtest import EmbeddedKafka
        k = EmbeddedKafka(mode="process").start()
        print(k._impl.proc.pid, flush=True)
        sys.stdin.read()  # wait until killed
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    assert _alive(child_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    eventually(lambda: not _alive(child_pid), timeout=10)


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_records_read_committed_hides_aborted_and_open_transactions(mode, topic_name):
    from confluent_kafka import Producer as P

    with EmbeddedKafka(mode=mode) as kafka:
        bs = kafka.bootstrap_servers
        kafka.create_topic(topic_name)
        plain = P({"bootstrap.servers": bs})
        plain.produce(topic_name, value=b"plain")
        plain.flush(10)
        txn = P({"bootstrap.servers": bs, "transactional.id": f"tx-{topic_name}"})
        txn.init_transactions(10)
        txn.begin_transaction()
        txn.produce(topic_name, value=b"aborted")
        txn.flush(10)
        txn.abort_transaction(10)
        txn.begin_transaction()
        txn.produce(topic_name, value=b"committed")
        txn.commit_transaction(10)
        txn.begin_transaction()
        txn.produce(topic_name, value=b"open")
        txn.flush(10)
        everything = [r.value for r in kafka.records(topic_name)]
        committed = [r.value for r in kafka.records(topic_name, read_committed=True)]
        assert everything == [b"plain", b"aborted", b"committed", b"open"]
        assert committed == [b"plain", b"committed"]
        txn.abort_transaction(10)


def test_settings_are_validated_at_construction():
    from streamtest.broker.config import ConfigError

    with pytest.raises(ConfigError, match="did you mean num.partitions"):
        EmbeddedKafka(settings={"num.partition": 3})
    with pytest.raises(ValueError, match="clock"):
        EmbeddedKafka(clock="slow")


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_multi_node_cluster_spreads_leaders_and_serves_clients(mode, topic_name):
    with EmbeddedKafka(brokers=3, mode=mode, settings={"num.partitions": 6}) as kafka:
        assert kafka.node_ids == [0, 1, 2]
        assert len(kafka.bootstrap_servers.split(",")) == 3
        _produce(kafka.bootstrap_servers, topic_name, 30)
        assert len(kafka.records(topic_name)) == 30
        meta = AdminClient({"bootstrap.servers": kafka.bootstrap_servers}).list_topics(
            topic_name, timeout=10
        )
        leaders = {p.leader for p in meta.topics[topic_name].partitions.values()}
        assert leaders == {0, 1, 2}


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_the_manual_clock_moves_only_when_advanced(mode):
    settings = {"producer.id.expiration.ms": 1000, "producer.id.expiration.check.interval.ms": 10}
    with EmbeddedKafka(mode=mode, clock="manual", settings=settings) as kafka:
        kafka.create_topic("t", 1)
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers,
                             "enable.idempotence": True})
        producer.produce("t", b"v")
        assert producer.flush(10) == 0
        kafka.advance(0.5)
        kafka.advance(0.6)  # the idle producer's state expired; nothing broke
        producer.produce("t", b"w")
        assert producer.flush(10) == 0
        assert [r.value for r in kafka.records("t")] == [b"v", b"w"]
    with pytest.raises(RuntimeError, match="clock='manual'"):
        with EmbeddedKafka() as real:
            real.advance(1)
