"""The Java client (Apache Kafka's kafka-clients, the reference implementation) against
the embedded broker and against the reference Apache Kafka broker.

The Maven module in ``tests/interop/java`` is built once per session into the
download cache; its driver runs one scenario per JVM and prints what it saw as JSON
lines. The assertions are here: they check the driver's report for what Kafka
promises (offsets, isolation, assignments, admin results) and compare it with the
broker's own view: ``EmbeddedKafka.records`` for the embedded broker, a
confluent-kafka read for the reference broker, and raw record batches fetched
through streamtest's protocol layer from either.

Each test runs on both brokers (``[embedded]`` and ``[reference]``); the reference
runs show that an assertion holds on Apache Kafka itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from streamtest import EmbeddedKafka, ExternalCluster, KafkaRecord
from streamtest.kit import reference_kafka as ref
from streamtest.kit.jvm import MavenBuild, build_maven_module
from streamtest.protocol.records import Compression

from .helpers import fetch_batch_headers

MODULE = Path(__file__).parent / "java"
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
BASE_TIMESTAMP = 1_700_000_000_000

pytestmark = [
    pytest.mark.interop,
    pytest.mark.slow,
]


# -- the driver ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def java_driver() -> MavenBuild:
    """The Java interop driver, built once per session (per xdist worker: the build
    itself runs once, under a file lock, and is reused while its sources are unchanged)."""
    try:
        # The client release is the reference broker's: one pinned Kafka version.
        return build_maven_module(MODULE, "java-interop.jar", {"kafka.version": ref.KAFKA_VERSION})
    except (ref.ToolNotFound, ref.MavenResolutionError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the Java client is unavailable: {exc} (required on CI)", pytrace=False)
        pytest.skip(f"the Java client is unavailable: {exc}")


def run_driver(
    driver: MavenBuild, scenario: str, bootstrap: str, timeout: float = 150.0, **options: Any
) -> list[dict[str, Any]]:
    """Run one scenario and return its JSON-line events (without the final ``done``).

    Raises:
        AssertionError: the JVM exited non-zero or did not report ``done``; the
            message carries its error event and the tail of its stderr.
    """
    args = [f"{key.replace('_', '.')}={value}" for key, value in options.items()]
    args.append(f"deadline.ms={int(timeout * 1000) - 5000}")
    proc = subprocess.run(
        driver.java_command(scenario, bootstrap, *args, jvm_options=("-XX:TieredStopAtLevel=1",)),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not events or events[-1]["event"] != "done":
        errors = [e for e in events if e["event"] in ("error", "deadline")]
        stderr = "\n".join(proc.stderr.splitlines()[-25:])
        raise AssertionError(
            f"java {scenario} exited with {proc.returncode}: {errors}\n--- stderr ---\n{stderr}"
        )
    return events[:-1]


def of(events: list[dict[str, Any]], kind: str, **match: Any) -> list[dict[str, Any]]:
    """Return the events named ``kind`` whose fields equal ``match``."""
    return [
        e for e in events if e["event"] == kind and all(e.get(k) == v for k, v in match.items())
    ]


def as_record(event: dict[str, Any]) -> KafkaRecord:
    """Turn a driver ``record`` event into a :class:`KafkaRecord`."""
    return KafkaRecord.from_json(event)


# -- the brokers --------------------------------------------------------------------------


@dataclass
class Target:
    """A broker under test and its own view of what it stores."""

    kind: str
    bootstrap: str
    embedded: EmbeddedKafka | None
    cluster: ExternalCluster | None

    def create_topic(self, name: str, partitions: int) -> None:
        """Create ``name`` and wait until the broker's metadata has it."""
        if self.embedded is not None:
            self.embedded.create_topic(name, partitions)
        else:
            assert self.cluster is not None
            self.cluster.create_topic(name, partitions=partitions)

    def records(self, topic: str, read_committed: bool = False) -> list[KafkaRecord]:
        """The broker's view of ``topic``: straight from the embedded broker's log, or
        read back with confluent-kafka from the reference broker."""
        if self.embedded is not None:
            return self.embedded.records(topic, read_committed=read_committed)
        assert self.cluster is not None
        level = "read_committed" if read_committed else "read_uncommitted"
        return self.cluster.records(topic, isolation_level=level)

    def committed(self, group: str, topic: str, partitions: int) -> dict[int, int]:
        """The group's committed offsets, asked for with confluent-kafka."""
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group})
        try:
            found = consumer.committed(
                [TopicPartition(topic, p) for p in range(partitions)], timeout=15
            )
        finally:
            consumer.close()
        return {tp.partition: tp.offset for tp in found if tp.offset >= 0}


@pytest.fixture(scope="module", params=["embedded", "reference"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """Each test runs against the embedded broker and against Apache Kafka."""
    if request.param == "embedded":
        broker: EmbeddedKafka = request.getfixturevalue("broker")
        yield Target("embedded", broker.bootstrap_servers, broker, None)
        return
    reference = request.getfixturevalue("reference_kafka")
    with ExternalCluster(reference.bootstrap_servers) as cluster:
        yield Target("reference", reference.bootstrap_servers, None, cluster)


def unique(hint: str) -> str:
    """A topic or group name unique to this run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"java-{hint}-{worker}-{uuid.uuid4().hex[:8]}"


# -- an idempotent producer with every codec -------------------------------------------------


@pytest.fixture(scope="module")
def codec_run(java_driver: MavenBuild, target: Target) -> tuple[str, list[dict[str, Any]]]:
    """One driver run producing with each codec to its own 3-partition topic."""
    prefix = unique("codec")
    for codec in CODECS:
        target.create_topic(f"{prefix}-{codec}", 3)
    events = run_driver(
        java_driver,
        "produce-codecs",
        target.bootstrap,
        prefix=prefix,
        count=60,
        partitions=3,
        base_timestamp=BASE_TIMESTAMP,
    )
    return prefix, events


@pytest.mark.parametrize("codec", CODECS)
def test_java_idempotent_producer_round_trips_with_codec(
    codec_run: tuple[str, list[dict[str, Any]]], target: Target, codec: str
) -> None:
    prefix, events = codec_run
    topic = f"{prefix}-{codec}"
    assert not of(events, "codec-error", codec=codec)
    sent = of(events, "sent", codec=codec)
    assert len(sent) == 60
    # Offsets are dense per partition, in send order; CreateTime is the event time given.
    for p in range(3):
        offsets = [e["offset"] for e in sent if e["partition"] == p]
        assert offsets == list(range(20)), (p, offsets)
    assert [e["timestamp"] for e in sent] == [BASE_TIMESTAMP + n for n in range(60)]

    stored = target.records(topic)
    consumed = [as_record(e) for e in of(events, "record", codec=codec)]
    assert consumed == stored
    by_n = {int(dict(r.headers)["n"] or b"-1"): r for r in stored}
    assert sorted(by_n) == list(range(60))
    for n, r in by_n.items():
        value = None if n % 10 == 9 else f"value-{n}-".encode() * 8
        assert (r.partition, r.key, r.value, r.timestamp) == (
            n % 3,
            f"key-{n}".encode(),
            value,
            BASE_TIMESTAMP + n,
        )
        assert r.headers == [("n", str(n).encode()), ("codec", codec.encode())]

    # The batches as stored: compressed with the codec, written by one idempotent
    # producer id with dense sequence numbers per partition.
    for p in range(3):
        batches = fetch_batch_headers(target.bootstrap, topic, p)
        assert {b.compression for b in batches} == {Compression[codec.upper()]}
        assert len({(b.producer_id, b.producer_epoch) for b in batches}) == 1
        assert batches[0].producer_id >= 0
        sequence = 0
        for b in batches:
            assert b.base_sequence == sequence
            sequence += b.records_count
        assert sequence == 20


# -- a transactional producer with sendOffsetsToTransaction ---------------------------------


def test_java_transactions_send_offsets_commit_abort_and_fence(
    java_driver: MavenBuild, target: Target
) -> None:
    source, sink, group = unique("txn-in"), unique("txn-out"), unique("txn-group")
    target.create_topic(source, 2)
    target.create_topic(sink, 2)
    inputs = [
        KafkaRecord(source, n % 2, 0, BASE_TIMESTAMP + n, f"k{n}".encode(), f"v{n}".encode())
        for n in range(20)
    ]
    produce_inputs(target.bootstrap, inputs)
    events = run_driver(
        java_driver,
        "transactions",
        target.bootstrap,
        **{"in": source, "out": sink},
        group=group,
        txn_id=unique("txn"),
        count=20,
    )
    txns = {e["name"]: e for e in of(events, "txn")}
    assert {n: (t["outcome"], t["records"]) for n, t in txns.items()} == {
        "t1": ("committed", 10),
        "t2": ("aborted", 10),
        "t3": ("committed", 10),
    }
    assert txns["t1"]["offsets"] == {"0": 5, "1": 5}
    assert txns["t3"]["offsets"] == {"0": 10, "1": 10}
    # The aborted t2 did not move the group's offsets; t3 did.
    offsets = {e["when"]: e["offsets"] for e in of(events, "group-offsets")}
    assert offsets == {"after-t2": {"0": 5, "1": 5}, "after-t3": {"0": 10, "1": 10}}
    assert target.committed(group, source, 2) == {0: 10, 1: 10}
    # The first producer was fenced by the second. Which error it sees depends on the
    # transaction protocol: with transactions v1 its AddPartitionsToTxn is refused with
    # PRODUCER_FENCED (KIP-588); with v2 (KIP-890, Kafka 4's default, which the
    # embedded broker does not finalize) partitions join implicitly and its Produce is
    # refused with INVALID_PRODUCER_EPOCH. Either way nothing of it is written (below).
    [fenced] = of(events, "fenced")
    assert fenced["error"] in ("ProducerFencedException", "InvalidProducerEpochException")

    committed = [as_record(e) for e in of(events, "record", isolation="read_committed")]
    uncommitted = [as_record(e) for e in of(events, "record", isolation="read_uncommitted")]
    assert committed == target.records(sink, read_committed=True)
    assert uncommitted == target.records(sink)
    # read_committed: t1's and t3's outputs, each input once; read_uncommitted also
    # sees t2's aborted outputs.
    expected = Counter(b"out:v%d" % n for n in range(20))
    assert Counter(r.value for r in committed) == expected
    assert Counter(r.value for r in uncommitted) == expected + Counter(
        b"out:v%d" % n for n in range(20) if n // 2 >= 5
    )
    for r in committed:
        n = int(r.value[len("out:v") :])
        assert (r.partition, r.key, r.timestamp) == (n % 2, f"k{n}".encode(), BASE_TIMESTAMP + n)


def produce_inputs(bootstrap: str, records: list[KafkaRecord]) -> None:
    """Write ``records`` (topic, partition, key, value, timestamp) with confluent-kafka."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for r in records:
        producer.produce(r.topic, r.value, r.key, partition=r.partition, timestamp=r.timestamp)
    assert producer.flush(15) == 0


# -- consumer groups: classic and KIP-848 ----------------------------------------------------


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_java_consumer_group_shares_partitions_and_rebalances_when_a_member_leaves(
    java_driver: MavenBuild, target: Target, protocol: str
) -> None:
    topic, group = unique(f"group-{protocol}"), unique(f"group-{protocol}")
    target.create_topic(topic, 4)
    events = run_driver(
        java_driver,
        "group",
        target.bootstrap,
        topic=topic,
        group=group,
        protocol=protocol,
        partitions=4,
        per_partition=5,
    )
    phases = {e["phase"]: e["assignments"] for e in of(events, "phase")}
    everything = [0, 1, 2, 3]
    assert phases[1] == {"a": everything}
    a, b = phases[2]["a"], phases[2]["b"]
    assert a and b and sorted(a + b) == everything
    assert phases[3] == {"a": everything}

    # The broker's description of the group while both members were in it.
    [described] = of(events, "describe")
    assert described["state"] == "Stable"
    assert described["type"] == protocol.capitalize()
    assert [(m["client_id"], m["partitions"]) for m in described["members"]] == [
        ("member-a", a),
        ("member-b", b),
    ]

    # Every produced record was consumed exactly once, in its phase, by the member that
    # owned its partition then; and it is the record the broker stores.
    produced = {(e["partition"], e["offset"]): e["phase"] for e in of(events, "produced")}
    assert len(produced) == 60
    consumed = of(events, "record")
    assert Counter((e["partition"], e["offset"]) for e in consumed) == Counter(produced.keys())
    owners = {1: {p: "a" for p in everything}, 3: {p: "a" for p in everything}}
    owners[2] = {p: "a" for p in a} | {p: "b" for p in b}
    for e in consumed:
        assert e["phase"] == produced[(e["partition"], e["offset"])]
        assert e["member"] == owners[e["phase"]][e["partition"]]
    stored = target.records(topic)
    assert sorted(map(as_record, consumed), key=lambda r: (r.partition, r.offset)) == stored
    assert target.committed(group, topic, 4) == {p: 15 for p in everything}


# -- the Admin client ---------------------------------------------------------------------


ADMIN_STEPS = [
    "describe_cluster",
    "create_topics",
    "create_topics_errors",
    "list_topics",
    "describe_topics",
    "create_partitions",
    "describe_configs",
    "incremental_alter_configs",
    "describe_broker_configs",
    "produce",
    "list_offsets",
    "delete_records",
    "alter_group_offsets",
    "list_groups",
    "describe_groups",
    "delete_group_offsets",
    "delete_groups",
    "delete_topics",
]


#: (topic prefix, group, {step name: step event}) of one Admin driver run.
AdminRun = tuple[str, str, dict[str, Any]]


@pytest.fixture(scope="module")
def admin_run(java_driver: MavenBuild, target: Target) -> AdminRun:
    """One driver run of every Admin step, in order; returns (prefix, group, steps)."""
    prefix, group = unique("admin"), unique("admin-group")
    events = run_driver(
        java_driver,
        "admin",
        target.bootstrap,
        prefix=prefix,
        group=group,
        base_timestamp=BASE_TIMESTAMP,
    )
    steps = {e["step"]: e for e in of(events, "step")}
    assert sorted(steps) == sorted(ADMIN_STEPS)
    return prefix, group, steps


def step(admin_run: AdminRun, name: str) -> dict[str, Any]:
    """The result of one Admin step, which must have succeeded."""
    result = admin_run[2][name]
    assert result["ok"], f"{name}: {result.get('error')}: {result.get('message')}"
    return result


def test_java_admin_describe_cluster(admin_run: AdminRun, target: Target) -> None:
    result = step(admin_run, "describe_cluster")
    host, port = target.bootstrap.rsplit(":", 1)
    [node] = result["nodes"]
    assert (node["host"], node["port"]) == (host, int(port))
    assert result["cluster_id"]
    assert result["controller"] is not None


def test_java_admin_create_list_describe_topics(admin_run: AdminRun, target: Target) -> None:
    prefix = admin_run[0]
    created = step(admin_run, "create_topics")
    assert created["partitions"] == {f"{prefix}-a": 3, f"{prefix}-b": 1}
    assert (created["replication_factor"], created["retention_ms"]) == (1, "3600000")
    assert created["topic_id_set"]
    assert step(admin_run, "list_topics")["topics"] == [f"{prefix}-a", f"{prefix}-b"]
    described = step(admin_run, "describe_topics")
    node = step(admin_run, "describe_cluster")["nodes"][0]["id"]
    assert described["name"] == f"{prefix}-a" and not described["internal"]
    assert described["partitions"] == [
        {"partition": p, "leader": node, "replicas": [node], "isr": [node]} for p in range(3)
    ]


def test_java_admin_create_topics_errors(admin_run: AdminRun) -> None:
    errors = dict(step(admin_run, "create_topics_errors"))
    del errors["event"], errors["step"], errors["ok"]
    assert errors == {
        "exists": "TopicExistsException",
        "replication_factor_3": "InvalidReplicationFactorException",
        "bad_config": "InvalidConfigurationException",
        "zero_partitions": "InvalidPartitionsException",
    }


def test_java_admin_create_partitions(admin_run: AdminRun, target: Target) -> None:
    prefix = admin_run[0]
    result = step(admin_run, "create_partitions")
    assert [p["partition"] for p in result["partitions"]] == [0, 1, 2, 3, 4]
    assert result["shrink_error"] == "InvalidPartitionsException"
    if target.embedded is not None:
        target.embedded.records(f"{prefix}-a", 4)  # the broker has partition 4 (KeyError if not)


def test_java_admin_describe_and_alter_configs(admin_run: AdminRun) -> None:
    before = step(admin_run, "describe_configs")["configs"]
    assert before["retention.ms"] == config("3600000", "DYNAMIC_TOPIC_CONFIG")
    assert before["cleanup.policy"] == config("delete", "DYNAMIC_TOPIC_CONFIG")
    assert before["max.message.bytes"]["source"] == "DEFAULT_CONFIG"
    assert before["segment.bytes"]["source"] == "DEFAULT_CONFIG"
    altered = step(admin_run, "incremental_alter_configs")
    after = altered["configs"]
    assert after["retention.ms"] == config("7200000", "DYNAMIC_TOPIC_CONFIG")
    assert after["max.message.bytes"] == config("2000000", "DYNAMIC_TOPIC_CONFIG")
    # DELETE reverts cleanup.policy to its default.
    assert after["cleanup.policy"] == config("delete", "DEFAULT_CONFIG")
    assert altered["bad_value_error"] == "InvalidConfigurationException"
    assert altered["unknown_key_error"] == "InvalidConfigurationException"


def config(value: str, source: str) -> dict[str, Any]:
    """A topic config entry as the driver reports it."""
    return {"value": value, "source": source, "read_only": False, "sensitive": False}


def test_java_admin_describe_broker_configs(admin_run: AdminRun, target: Target) -> None:
    result = step(admin_run, "describe_broker_configs")
    assert result["count"] > 3
    assert all(result["has"].values()), result["has"]


def test_java_admin_list_offsets_and_delete_records(admin_run: AdminRun, target: Target) -> None:
    prefix = admin_run[0]
    step(admin_run, "produce")
    offsets = step(admin_run, "list_offsets")
    ts = BASE_TIMESTAMP
    assert offsets["earliest"]["offset"] == 0
    assert offsets["latest"]["offset"] == 30
    assert offsets["max_timestamp"] == {"offset": 29, "timestamp": ts + 29_000}
    assert offsets["for_timestamp_10"] == {"offset": 10, "timestamp": ts + 10_000}
    assert offsets["for_timestamp_after"]["offset"] == -1
    deleted = step(admin_run, "delete_records")
    assert deleted["low_watermark"] == 10
    assert deleted["earliest"]["offset"] == 10 and deleted["latest"]["offset"] == 30
    assert deleted["beyond_end_error"] == "OffsetOutOfRangeException"
    if target.embedded is not None:
        offsets_left = [r.offset for r in target.embedded.records(f"{prefix}-a", 0)]
        assert offsets_left == list(range(10, 30))


def test_java_admin_consumer_group_offsets_and_groups(admin_run: AdminRun, target: Target) -> None:
    prefix, group = admin_run[0], admin_run[1]
    topic = f"{prefix}-a"
    assert step(admin_run, "alter_group_offsets")["offsets"] == {f"{topic}:0": 20, f"{topic}:1": 0}
    [listed] = step(admin_run, "list_groups")["groups"]
    assert (listed["group"], listed["state"]) == (group, "Empty")
    described = step(admin_run, "describe_groups")
    assert (described["state"], described["members"], described["simple"]) == ("Empty", 0, True)
    assert step(admin_run, "delete_group_offsets")["offsets"] == {f"{topic}:0": 20}
    deleted = step(admin_run, "delete_groups")
    assert not deleted["listed_after"]
    assert deleted["offsets_after"] == {}
    assert deleted["delete_again_error"] == "GroupIdNotFoundException"
    assert target.committed(group, topic, 2) == {}


def test_java_admin_delete_topics(admin_run: AdminRun, target: Target) -> None:
    prefix = admin_run[0]
    result = step(admin_run, "delete_topics")
    assert result["topics"] == [f"{prefix}-a"]
    assert result["describe_deleted_error"] == "UnknownTopicOrPartitionException"
    assert result["delete_again_error"] == "UnknownTopicOrPartitionException"
    if target.embedded is not None:
        assert f"{prefix}-b" not in target.embedded.topics()


# -- share groups (KIP-932) ---------------------------------------------------------------


def test_java_share_consumer_reads_every_record(java_driver: MavenBuild, target: Target) -> None:
    topic, group = unique("share"), unique("share-group")
    target.create_topic(topic, 1)
    inputs = [KafkaRecord(topic, 0, 0, BASE_TIMESTAMP + n, None, b"s%d" % n) for n in range(10)]
    produce_inputs(target.bootstrap, inputs)
    events = run_driver(java_driver, "share-group", target.bootstrap, topic=topic, group=group)
    got = [as_record(e) for e in of(events, "record")]
    assert sorted(r.value for r in got) == sorted(r.value for r in inputs)
    assert all(e["delivery_count"] == 1 for e in of(events, "record"))
    stored = defaultdict(list)
    for r in target.records(topic):
        stored[r.offset].append(r)
    assert {r.offset for r in got} == set(stored)


# -- one Kafka version --------------------------------------------------------------------


def test_java_modules_default_to_the_reference_kafka_version() -> None:
    """The tests build both Maven modules with ``-Dkafka.version=KAFKA_VERSION``; the
    poms' own default (for a plain ``mvn package``) must be that same release."""
    import re

    root = Path(__file__).resolve().parents[2]
    for pom in (MODULE / "pom.xml", root / "examples" / "kafka-streams" / "pom.xml"):
        [version] = re.findall(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text())
        assert version == ref.KAFKA_VERSION, pom
