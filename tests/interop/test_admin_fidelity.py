"""Admin APIs as a Kafka 4.x cluster with no authorizer answers them (issue 14,
items 4 and 5): authorized operations, the ACL APIs, DescribeLogDirs,
AlterReplicaLogDirs, DescribeTopicPartitions with its cursor, DescribeQuorum and
ListConfigResources, through confluent-kafka, kafka-python and Kafka's own tools,
and compared with Apache Kafka where the reference broker is available."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    KafkaException,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from kafka import KafkaAdminClient
from kafka.errors import NoError
from kafka.structs import TopicPartitionReplica

from streamtest import EmbeddedKafka
from streamtest.kit.wait import eventually

from .kafkatools import kafka_tool

pytestmark = pytest.mark.interop

_CLUSTER_OPS = {
    "ALTER",
    "ALTER_CONFIGS",
    "CLUSTER_ACTION",
    "CREATE",
    "DESCRIBE",
    "DESCRIBE_CONFIGS",
    "IDEMPOTENT_WRITE",
}
_TOPIC_OPS = {
    "ALTER",
    "ALTER_CONFIGS",
    "CREATE",
    "DELETE",
    "DESCRIBE",
    "DESCRIBE_CONFIGS",
    "READ",
    "WRITE",
}
_GROUP_OPS = {"DELETE", "DESCRIBE", "READ", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"}


def _topic(admin: AdminClient, partitions: int = 1, prefix: str = "adm") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(15)
    return name


def _names(operations: list[AclOperation] | None) -> set[str]:
    return {op.name for op in operations or []}


def _authorized_operations(servers: str) -> dict[str, set[str]]:
    admin = AdminClient({"bootstrap.servers": servers})
    topic = _topic(admin)
    cluster = admin.describe_cluster(include_authorized_operations=True).result(15)
    described = admin.describe_topics(TopicCollection([topic]), include_authorized_operations=True)[
        topic
    ].result(15)
    group = f"g-{uuid.uuid4().hex[:8]}"
    # Apache Kafka answers NOT_COORDINATOR now and then while a group's partition
    # loads, which clients retry; so do these calls.
    eventually(
        lambda: admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 0)])]
        )[group].result(15),
        timeout=30,
        interval=0.5,
    )
    described_group = eventually(
        lambda: admin.describe_consumer_groups([group], include_authorized_operations=True)[
            group
        ].result(15),
        timeout=30,
        interval=0.5,
    )
    return {
        "cluster": _names(cluster.authorized_operations),
        "topic": _names(described.authorized_operations),
        "group": _names(described_group.authorized_operations),
    }


def test_authorized_operations_are_every_operation_without_an_authorizer_confluent_kafka(
    bootstrap,
):
    assert _authorized_operations(bootstrap) == {
        "cluster": _CLUSTER_OPS,
        "topic": _TOPIC_OPS,
        "group": _GROUP_OPS,
    }


def test_authorized_operations_left_unset_unless_asked_confluent_kafka(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    cluster = admin.describe_cluster().result(15)
    assert cluster.authorized_operations is None


def test_acl_apis_answer_security_disabled_as_kafka_without_authorizer_confluent_kafka(
    bootstrap,
):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    binding = AclBinding(
        ResourceType.TOPIC,
        "t",
        ResourcePatternType.LITERAL,
        "User:a",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    for future in admin.create_acls([binding]).values():
        with pytest.raises(KafkaException) as err:
            future.result(15)
        assert err.value.args[0].name() == "SECURITY_DISABLED"
        assert err.value.args[0].str() == "No Authorizer is configured."


@pytest.mark.slow
def test_authorized_operations_match_apache_kafka(bootstrap, reference_kafka):
    assert _authorized_operations(bootstrap) == _authorized_operations(
        reference_kafka.bootstrap_servers
    )


# -- DescribeLogDirs / AlterReplicaLogDirs ----------------------------------------------


def test_describe_log_dirs_lists_each_replica_with_its_size_kafka_python(bootstrap):
    producer_admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = _topic(producer_admin, partitions=2)
    producer = Producer({"bootstrap.servers": bootstrap})
    for _ in range(10):
        producer.produce(topic, value=b"x" * 100, partition=0)
    assert producer.flush(15) == 0
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        (result,) = admin.describe_log_dirs()
        (log_dir,) = result["log_dirs"]
        assert log_dir["error_code"] == 0
        assert log_dir["log_dir"] == f"memory://streamtest/node-{result['broker']}"
        # Kept in memory: the volume's size is unknown (-1), as Kafka's v4 allows.
        assert (log_dir["total_bytes"], log_dir["usable_bytes"]) == (-1, -1)
        (ours,) = [t for t in log_dir["topics"] if t["name"] == topic]
        sizes = {p["partition_index"]: p["partition_size"] for p in ours["partitions"]}
        assert sizes[1] == 0 and sizes[0] > 1000  # ten 100-byte values and batch headers
        assert all(p["offset_lag"] == 0 for p in ours["partitions"])

        target = TopicPartitionReplica(topic, 0, result["broker"])
        assert admin.alter_replica_log_dirs({target: log_dir["log_dir"]})[target] is NoError
        moved = admin.alter_replica_log_dirs({target: "/elsewhere"})[target]
        assert moved.__name__ == "LogDirNotFoundError"
    finally:
        admin.close()


def test_describe_log_dirs_reports_the_data_dir_and_its_volume(tmp_path):
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        try:
            (result,) = admin.describe_log_dirs()
        finally:
            admin.close()
    (log_dir,) = result["log_dirs"]
    assert log_dir["log_dir"] == str(tmp_path / "node-0")
    assert log_dir["total_bytes"] > 0 and 0 <= log_dir["usable_bytes"] <= log_dir["total_bytes"]


@pytest.mark.slow
def test_kafka_log_dirs_tool_describes_the_replicas(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = _topic(admin, partitions=2)
    done = kafka_tool(
        "kafka-log-dirs", "--bootstrap-server", bootstrap, "--describe", "--topic-list", topic
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    (broker,) = report["brokers"]
    (log_dir,) = broker["logDirs"]
    assert log_dir["error"] is None
    assert sorted(p["partition"] for p in log_dir["partitions"]) == [f"{topic}-0", f"{topic}-1"]


# -- DescribeTopicPartitions ---------------------------------------------------------------


@pytest.fixture
def paged_topics(bootstrap: str) -> Iterator[list[str]]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    prefix = f"dtp-{uuid.uuid4().hex[:6]}"
    names = sorted(
        _topic(admin, partitions=n, prefix=f"{prefix}-{i}") for i, n in enumerate((3, 1, 2))
    )
    yield names


def test_describe_topic_partitions_pages_with_its_cursor_kafka_python(bootstrap, paged_topics):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        whole = admin.describe_topic_partitions(paged_topics)
        seen = [(t["name"], p["partition_index"]) for t in whole["topics"] for p in t["partitions"]]
        assert len(seen) == 6 and [n for n, _ in seen] == sorted(n for n, _ in seen)
        assert all(t["error_code"] == 0 and not t["is_internal"] for t in whole["topics"])
        # Two partitions a page: following next_cursor gives the same partitions.
        pages, cursor = [], None
        while True:
            page = admin.describe_topic_partitions(
                paged_topics, response_partition_limit=2, cursor=cursor
            )
            pages.append(
                [(t["name"], p["partition_index"]) for t in page["topics"] for p in t["partitions"]]
            )
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [len(p) for p in pages] == [2, 2, 2]
        assert [tp for page in pages for tp in page] == seen
    finally:
        admin.close()


@pytest.mark.slow
def test_kafka_topics_tool_describes_through_describe_topic_partitions(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = _topic(admin, partitions=3)
    done = kafka_tool(
        "kafka-topics",
        "--bootstrap-server",
        bootstrap,
        "--describe",
        "--topic",
        topic,
        "--partition-size-limit-per-response",
        "1",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [ln for ln in done.stdout.splitlines() if ln.strip().startswith("Topic:")]
    assert f"Topic: {topic}\tTopicId:" in lines[0] and "PartitionCount: 3" in lines[0]
    assert [ln.split("\t")[2] for ln in lines[1:]] == [f"Partition: {i}" for i in range(3)]


# -- DescribeQuorum and ListConfigResources ------------------------------------------------


def test_describe_quorum_is_a_quorum_of_every_node_kafka_python():
    with EmbeddedKafka(brokers=3) as kafka:
        admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        try:
            first = admin.describe_metadata_quorum()
            kafka.stop_node(0)
            second = admin.describe_metadata_quorum()
        finally:
            admin.close()
    (p,) = first["topics"][0]["partitions"]
    assert first["topics"][0]["topic_name"] == "__cluster_metadata"
    assert (p["leader_id"], p["leader_epoch"]) == (0, 1)
    assert sorted(v["replica_id"] for v in p["current_voters"]) == [0, 1, 2]
    assert all(v["log_end_offset"] == p["high_watermark"] for v in p["current_voters"])
    assert p["observers"] == []
    (q,) = second["topics"][0]["partitions"]
    # Node 0 stopped: the next node leads in a new epoch, and node 0 stays where it was.
    assert (q["leader_id"], q["leader_epoch"]) == (1, 2)
    assert q["high_watermark"] > p["high_watermark"]
    stopped = next(v for v in q["current_voters"] if v["replica_id"] == 0)
    assert stopped["log_end_offset"] < q["high_watermark"]


@pytest.mark.slow
def test_kafka_metadata_quorum_tool_reads_the_quorum(bootstrap):
    done = kafka_tool(
        "kafka-metadata-quorum", "--bootstrap-server", bootstrap, "describe", "--status"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "LeaderId:               0" in done.stdout
    assert "CurrentObservers:       []" in done.stdout


def test_list_config_resources_lists_topics_and_brokers_kafka_python(bootstrap):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    producer_admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = _topic(producer_admin)
    try:
        listed = admin.list_config_resources()
    finally:
        admin.close()
    assert topic in listed["topic"]
    assert listed["broker"] == ["0"] and listed["broker_logger"] == ["0"]


# -- internal topics and name collisions (items 7 and 8) ------------------------------------


def test_consumer_offsets_is_listed_as_internal_confluent_kafka(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = _topic(admin)
    group = f"g-{uuid.uuid4().hex[:8]}"
    admin.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 0)])]
    )[group].result(15)
    described = admin.describe_topics(TopicCollection(["__consumer_offsets", topic]))
    assert described["__consumer_offsets"].result(15).is_internal
    assert not described[topic].result(15).is_internal


def _collision(servers: str) -> tuple[str, str]:
    admin = AdminClient({"bootstrap.servers": servers})
    base = f"col{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(f"{base}.x", 1, 1)])[f"{base}.x"].result(15)
    with pytest.raises(KafkaException) as err:
        admin.create_topics([NewTopic(f"{base}_x", 1, 1)])[f"{base}_x"].result(15)
    error = err.value.args[0]
    return error.name(), error.str().replace(base, "<base>")


def test_colliding_topic_names_are_refused_with_kafkas_message_confluent_kafka(bootstrap):
    # librdkafka names error 17 (INVALID_TOPIC_EXCEPTION) TOPIC_EXCEPTION.
    assert _collision(bootstrap) == (
        "TOPIC_EXCEPTION",
        "Topic '<base>_x' collides with existing topic: <base>.x",
    )


@pytest.mark.slow
def test_colliding_topic_names_are_refused_as_apache_kafka_refuses_them(
    bootstrap, reference_kafka
):
    assert _collision(bootstrap) == _collision(reference_kafka.bootstrap_servers)
