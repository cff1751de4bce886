"""The reference broker launcher: Apache Kafka from Maven Central, started, reached
by real clients, stopped without leaving a JVM behind, and its error messages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from streamtest import ApacheKafkaCluster, BackendUnavailable, eventually, make_cluster
from streamtest.kit import reference_kafka as ref

pytestmark = pytest.mark.slow


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it is gone for our purposes once reaped or Z.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_reference_broker_serves_a_produce_and_consume_round_trip(reference_kafka, topic_name):
    from confluent_kafka import Consumer, Producer

    assert reference_kafka.version == ref.KAFKA_VERSION
    producer = Producer({"bootstrap.servers": reference_kafka.bootstrap_servers})
    producer.produce(topic_name, key=b"k", value=b"v")
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": reference_kafka.bootstrap_servers,
            "group.id": f"g-{topic_name}",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.subscribe([topic_name])
        got: list = []

        def consumed() -> bool:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append((msg.key(), msg.value()))
            return bool(got)

        eventually(consumed, timeout=60)
        assert got == [(b"k", b"v")]
    finally:
        consumer.close()


def test_reference_broker_log_is_readable(reference_kafka):
    tail = reference_kafka.log_tail(3).splitlines()
    assert len(tail) == 3
    # The whole log (log_tail reads only its end, which a busy broker fills).
    log = (reference_kafka.workdir / "server.log").read_text(errors="replace")
    assert "Kafka Server started" in log


def test_killing_the_owner_with_sigkill_leaves_no_jvm_and_no_data(tmp_path):
    """The JVM must not outlive a test process killed with SIGKILL."""
    code = (
        "import json, sys\n"
        "from streamtest.kit.reference_kafka import ReferenceKafka\n"
        "k = ReferenceKafka().start()\n"
        "print(json.dumps({'pid': k.pid, 'workdir': str(k.workdir)}), flush=True)\n"
        "sys.stdin.read()\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        line = owner.stdout.readline()
        info = json.loads(line)
        assert not _gone(info["pid"])
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    eventually(lambda: _gone(info["pid"]), timeout=60)
    eventually(lambda: not Path(info["workdir"]).exists(), timeout=10)


def test_an_unknown_version_is_one_line_naming_the_artifact(tmp_path):
    with pytest.raises(ref.MavenResolutionError) as info:
        ref.ReferenceKafka(version="0.0.0-none", cache_dir=tmp_path).start()
    message = str(info.value)
    assert info.value.artifact == "org.apache.kafka:kafka_2.13:jar:0.0.0-none"
    assert "\n" not in message
    assert message.startswith("Maven could not resolve org.apache.kafka:kafka_2.13:jar:0.0.0-none")


def test_a_jvm_that_cannot_start_shows_the_end_of_its_log():
    kafka = ref.ReferenceKafka(broker_properties={"node.id": "not-a-number"}, startup_timeout=60)
    with pytest.raises(ref.ReferenceKafkaError) as info:
        kafka.start()
    message = str(info.value)
    # The formatter reads the same properties and rejects them first.
    assert message.startswith("kafka-storage format failed: ")
    assert "Invalid value not-a-number" in message.splitlines()[0]
    assert "\n" in message  # the last lines of the log follow the summary
    assert not kafka.running


def test_a_broker_jvm_that_exits_shows_its_log_and_leaves_nothing():
    # The formatter runs with its own JVM options; only the broker's JVM gets this.
    kafka = ref.ReferenceKafka(jvm_options=["-XX:+NoSuchOption"], startup_timeout=60)
    with pytest.raises(ref.ReferenceKafkaError) as info:
        kafka.start()
    summary, *log = str(info.value).splitlines()
    assert summary == f"Apache Kafka {ref.KAFKA_VERSION} did not start; last lines of its log:"
    assert any("NoSuchOption" in line for line in log)
    assert kafka.pid is not None and _gone(kafka.pid)
    assert kafka.workdir is not None and not kafka.workdir.exists()


def test_missing_java_is_one_line(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ref.JavaNotFound, match=r"^java not found: .*Java 17"):
        ref.ReferenceKafka().start()


def test_missing_maven_with_nothing_cached_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("MAVEN_HOME", raising=False)
    monkeypatch.delenv("M2_HOME", raising=False)
    with pytest.raises(ref.MavenNotFound, match=r"^mvn not found"):
        ref.kafka_classpath(cache=tmp_path)


def test_apache_backend_is_a_kit_cluster_on_the_real_broker(topic_name):
    cluster = make_cluster("apache")
    assert isinstance(cluster, ApacheKafkaCluster)
    with cluster:
        cluster.create_topic(topic_name, partitions=2)
        cluster.send(topic_name, [("a", 1), ("b", 2)])
        assert sorted(r.value for r in cluster.records(topic_name)) == [b"1", b"2"]
    assert not cluster.running


def test_apache_backend_without_java_says_so(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(BackendUnavailable, match="'apache' backend runs Apache Kafka in a JVM"):
        make_cluster("apache").start()


def test_plugin_runs_a_suite_on_apache_kafka_with_kafka_backend_apache(pytester):
    pytester.makepyfile(
        """
        def test_on_apache(kafka, kafka_topic):
            assert kafka.backend == "apache"
            kafka.send(kafka_topic, [("k", "v")])
            assert [(r.key, r.value) for r in kafka.records(kafka_topic)] == [(b"k", b"v")]
        """
    )
    result = pytester.runpytest_inprocess("--kafka-backend", "apache", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["streamtest: backend=apache (command line)"])
    result.assert_outcomes(passed=1)


def test_cluster_ids_never_start_with_a_dash(monkeypatch):
    """kafka-storage would read '--cluster-id -...' as an option (one id in 64 did)."""
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=bytes(16))])
    monkeypatch.setattr(ref.uuid, "uuid4", lambda: next(draws))
    assert ref.random_cluster_id() == "AAAAAAAAAAAAAAAAAAAAAA"
