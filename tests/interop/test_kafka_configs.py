"""Apache Kafka's own ``kafka-configs.sh`` (``org.apache.kafka.tools.ConfigCommand`` of
the reference release, ``reference_kafka.KAFKA_VERSION``) sets, describes and deletes
client quotas on the embedded broker, and the quotas it sets are enforced.

The tool's jars come from Maven Central into the cache folder
(``reference_kafka.kafka_tools_classpath``) on first use; each command is a JVM
start, so these tests are slow. Without Java or Maven they are skipped, saying why.
``kafka-configs.sh --describe --entity-type users`` (users alone) also asks for
SCRAM credentials (DescribeUserScramCredentials), which the broker does not
implement yet; user quotas are described together with a client-id entity here.
"""

from __future__ import annotations

import subprocess

import pytest

from broker.rawclient import RawClient
from broker.serverkit import produce_request, produce_throttle_ms
from streamtest import EmbeddedKafka

pytestmark = [pytest.mark.interop, pytest.mark.slow]


@pytest.fixture(scope="module")
def config_command() -> list[str]:
    """The ``java -cp ... ConfigCommand`` prefix of ``kafka-configs.sh``."""
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
    # A short-lived tool: the JIT's first tier and one GC thread start fastest.
    return [
        java,
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-cp",
        classpath_arg(jars),
        "org.apache.kafka.tools.ConfigCommand",
    ]


@pytest.fixture(scope="module")
def kafka():
    with EmbeddedKafka(settings={"quota.window.num": "2", "quota.window.size.seconds": "1"}) as k:
        yield k


def kafka_configs(
    command: list[str], kafka: EmbeddedKafka, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run ``kafka-configs.sh --bootstrap-server <broker> ARGS``."""
    return subprocess.run(
        [*command, "--bootstrap-server", kafka.bootstrap_servers, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_kafka_configs_alters_describes_and_deletes_client_quotas_with_kafkas_errors(
    config_command, kafka
):
    run = lambda *a: kafka_configs(config_command, kafka, *a)  # noqa: E731
    done = run(
        "--alter",
        "--add-config",
        "producer_byte_rate=1024,consumer_byte_rate=2048",
        "--entity-type",
        "clients",
        "--entity-name",
        "app",
    )
    assert done.returncode == 0, done.stderr
    assert "Completed updating config for client app." in done.stdout
    described = run("--describe", "--entity-type", "clients", "--entity-name", "app")
    assert described.returncode == 0, described.stderr
    assert (
        "Quota configs for client-id 'app' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0"
        in described.stdout
    )
    deleted = run(
        "--alter",
        "--delete-config",
        "consumer_byte_rate",
        "--entity-type",
        "clients",
        "--entity-name",
        "app",
    )
    assert deleted.returncode == 0, deleted.stderr
    bad = run(
        "--alter",
        "--add-config",
        "producer_byte_rate=1.5",
        "--entity-type",
        "clients",
        "--entity-name",
        "app",
    )
    assert bad.returncode != 0
    assert "producer_byte_rate cannot be a fractional value." in bad.stdout + bad.stderr
    described = run("--describe", "--entity-type", "clients", "--entity-name", "app")
    assert "Quota configs for client-id 'app' are producer_byte_rate=1024.0" in described.stdout


def test_kafka_configs_user_and_default_client_quotas(config_command, kafka):
    run = lambda *a: kafka_configs(config_command, kafka, *a)  # noqa: E731
    entity = ["--entity-type", "users", "--entity-name", "alice"]
    entity += ["--entity-type", "clients", "--entity-default"]
    done = run("--alter", "--add-config", "producer_byte_rate=10,request_percentage=33.5", *entity)
    assert done.returncode == 0, done.stderr
    described = run("--describe", *entity)
    assert (
        "Quota configs for user-principal 'alice', the default client-id are "
        "producer_byte_rate=10.0, request_percentage=33.5" in described.stdout
    )
    ip = run(
        "--alter",
        "--add-config",
        "connection_creation_rate=5",
        "--entity-type",
        "ips",
        "--entity-name",
        "10.1.2.3",
    )
    assert ip.returncode == 0, ip.stderr
    assert "Quota configs for ip '10.1.2.3' are connection_creation_rate=5.0" in (
        run("--describe", "--entity-type", "ips").stdout
    )


def test_a_quota_set_by_kafka_configs_is_enforced(config_command, kafka):
    done = kafka_configs(
        config_command,
        kafka,
        "--alter",
        "--add-config",
        "producer_byte_rate=100",
        "--entity-type",
        "clients",
        "--entity-name",
        "slow-app",
    )
    assert done.returncode == 0, done.stderr
    kafka.create_topic("enforced")
    client = RawClient(kafka.bootstrap_servers)
    client.send_raw(produce_request("enforced", b"x" * 2000, 1, "slow-app"))
    assert produce_throttle_ms(client.read_frame()) > 0
    other = RawClient(kafka.bootstrap_servers)  # the first connection is muted now
    other.send_raw(produce_request("enforced", b"x" * 2000, 2, "another-app"))
    assert produce_throttle_ms(other.read_frame()) == 0
