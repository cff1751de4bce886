"""Burrow 1.2.1 (Debian's ``burrow``) reading consumer lag from streamtest.

Burrow hard-codes ListOffsets v0, which Kafka 4.0 removed (KIP-896): against a
Kafka 4.x broker, and against streamtest by default, it gets its connection closed.
``streamtest.legacy.protocol=true`` serves that version again (issue 14, item 6).
Burrow also needs ZooKeeper for its own coordination; the test runs one from
Maven Central (``org.apache.zookeeper``), as the reference broker is run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streamtest import EmbeddedKafka
from streamtest.kit.wait import eventually

pytestmark = [pytest.mark.interop, pytest.mark.slow]

ZOOKEEPER = [
    "org.apache.zookeeper:zookeeper:3.8.4",
    # Needed at run time, not declared as such by the artifact.
    "io.dropwizard.metrics:metrics-core:4.1.12.1",
    "org.xerial.snappy:snappy-java:1.1.10.5",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _skip(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required on CI)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def zookeeper(tmp_path: Path) -> Iterator[str]:
    from streamtest.kit.reference_kafka import (
        ReferenceKafkaError,
        classpath_arg,
        java_executable,
        resolve_classpath,
    )

    try:
        java = java_executable()
        jars = resolve_classpath(ZOOKEEPER)
    except ReferenceKafkaError as exc:
        _skip(f"ZooKeeper unavailable: {str(exc).splitlines()[0]}")
    port = _free_port()
    data = tmp_path / "zk"
    data.mkdir()
    proc = subprocess.Popen(
        [
            java,
            "-Dzookeeper.admin.enableServer=false",
            "-cp",
            classpath_arg(jars),
            "org.apache.zookeeper.server.ZooKeeperServerMain",
            str(port),
            str(data),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        eventually(
            lambda: socket.create_connection(("127.0.0.1", port), 1).close() or True,
            timeout=60,
            interval=0.5,
        )
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(20)


def _burrow_config(directory: Path, zookeeper: str, bootstrap: str, http_port: int) -> None:
    (directory / "burrow.toml").write_text(f"""
[general]
pidfile="{directory}/burrow.pid"
[logging]
level="info"
[zookeeper]
servers=["{zookeeper}"]
timeout=6
root-path="/burrow"
[client-profile.test]
client-id="burrow-test"
kafka-version="0.11.0"
[cluster.local]
class-name="kafka"
servers=["{bootstrap}"]
client-profile="test"
topic-refresh=5
offset-refresh=2
[consumer.local]
class-name="kafka"
cluster="local"
servers=["{bootstrap}"]
client-profile="test"
offsets-topic="__consumer_offsets"
start-latest=false
[httpserver.default]
address="127.0.0.1:{http_port}"
[storage.default]
class-name="inmemory"
workers=2
intervals=5
min-distance=1
""")


def test_burrow_reports_consumer_lag_with_the_legacy_protocol(zookeeper, tmp_path):
    burrow = shutil.which("Burrow")
    if burrow is None:
        _skip("Burrow is not installed (apt-get install burrow)")
    with EmbeddedKafka(settings={"streamtest.legacy.protocol": True}) as kafka:
        bootstrap = kafka.bootstrap_servers
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("burrowed", 2, 1)])["burrowed"].result(15)
        producer = Producer({"bootstrap.servers": bootstrap})
        for i in range(20):
            producer.produce("burrowed", b"x", partition=i % 2)
        assert producer.flush(15) == 0
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lagging"})
        consumer.commit(
            offsets=[TopicPartition("burrowed", 0, 4), TopicPartition("burrowed", 1, 10)],
            asynchronous=False,
        )
        consumer.close()
        http_port = _free_port()
        _burrow_config(tmp_path, zookeeper, bootstrap, http_port)
        log_path = tmp_path / "burrow.log"
        url = f"http://127.0.0.1:{http_port}/v3/kafka/local/consumer/lagging/lag"
        procs: list[subprocess.Popen[bytes]] = []

        def start() -> None:
            with log_path.open("ab") as out:
                procs.append(
                    subprocess.Popen(
                        [burrow, "--config-dir", str(tmp_path)],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )

        def lag() -> dict[str, object] | None:
            # Burrow exits when ZooKeeper does not serve yet (a loaded machine): start
            # it again, as its service manager would.
            if procs[-1].poll() is not None and len(procs) < 5:
                start()
            with urllib.request.urlopen(url, timeout=5) as response:
                status = json.load(response)["status"]
            return status if status.get("totallag") == 6 else None

        start()
        try:
            status = eventually(lag, timeout=120, interval=1)
        except AssertionError as exc:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise AssertionError(f"{exc}\nBurrow's log ends:\n{tail}") from None
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(20)
    by_partition = {p["partition"]: p["current_lag"] for p in status["partitions"]}
    assert by_partition == {0: 6, 1: 0}
