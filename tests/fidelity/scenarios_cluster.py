"""Scenarios for the cluster-level admin APIs of issue 14: the ACL APIs without an
authorizer (29-31), AlterReplicaLogDirs (34), DescribeLogDirs (35), DescribeQuorum
(55), ListConfigResources (74), DescribeTopicPartitions (75), and dynamic broker
configs through AlterConfigs (33) and IncrementalAlterConfigs (44)."""

from __future__ import annotations

from .harness import Side, scenario
from .scenarios_data import batch

BROKER = 4
_ANY, _LITERAL, _READ, _ALLOW = 1, 3, 3, 3


def _acl_filter() -> dict:
    return {
        "resource_type_filter": _ANY,
        "resource_name_filter": None,
        "pattern_type_filter": _ANY,
        "principal_filter": None,
        "host_filter": None,
        "operation": _ANY,
        "permission_type": _ANY,
    }


@scenario(29, "describe_acls/no-authorizer", range(1, 4))
def _describe_acls(side: Side, v: int) -> None:
    """Without an authorizer: SECURITY_DISABLED."""
    side.call(29, v, _acl_filter())


@scenario(30, "create_acls/no-authorizer", range(1, 4))
def _create_acls(side: Side, v: int) -> None:
    """Without an authorizer: SECURITY_DISABLED for each creation."""
    acl = {
        "resource_type": 2,
        "resource_name": side.name_of("t"),
        "resource_pattern_type": _LITERAL,
        "principal": "User:alice",
        "host": "*",
        "operation": _READ,
        "permission_type": _ALLOW,
    }
    side.call(30, v, {"creations": [acl]})


@scenario(31, "delete_acls/no-authorizer", range(1, 4))
def _delete_acls(side: Side, v: int) -> None:
    """Without an authorizer: SECURITY_DISABLED for each filter."""
    side.call(31, v, {"filters": [_acl_filter()]})


@scenario(35, "describe_log_dirs/one-topic", range(1, 5))
def _describe_log_dirs(side: Side, v: int) -> None:
    """The replicas of one topic with a batch in partition 0."""
    name = side.create_topic("t", partitions=2)
    side.produce(name, [batch(b"a", b"b")])
    side.call(35, v, {"topics": [{"topic": name, "partitions": [0, 1]}]})


@scenario(34, "alter_replica_log_dirs/unknown-dir", range(1, 3))
def _alter_replica_log_dirs(side: Side, v: int) -> None:
    """A directory the broker does not have: LOG_DIR_NOT_FOUND."""
    name = side.create_topic("t")
    request = {"dirs": [{"path": "/no/such/dir", "topics": [{"name": name, "partitions": [0]}]}]}
    side.call(34, v, request)


@scenario(55, "describe_quorum/metadata", range(0, 3))
def _describe_quorum(side: Side, v: int) -> None:
    """The metadata quorum, and a partition it does not host."""
    part = {"partition_index": 0}
    side.call(55, v, {"topics": [{"topic_name": "__cluster_metadata", "partitions": [part]}]})
    side.call(55, v, {"topics": [{"topic_name": "other", "partitions": [part]}]}, label="other")


@scenario(74, "list_config_resources/types", range(0, 2))
def _list_config_resources(side: Side, v: int) -> None:
    """Brokers (v1), an unknown type (v1), and v0 (client metrics: none)."""
    if v == 0:
        side.call(74, 0, {})
        return
    side.call(74, 1, {"resource_types": [BROKER]}, label="brokers")
    side.call(74, 1, {"resource_types": [99]}, label="unknown-type")
    name = side.create_topic("t")
    listed = side.ask(74, 1, {"resource_types": [2]})
    side.observe(
        "own-topic", [r.resource_name == name for r in listed.config_resources].count(True)
    )


@scenario(75, "describe_topic_partitions/paging")
def _describe_topic_partitions(side: Side) -> None:
    """Two topics of 3 and 1 partitions, two partitions a page, and an unknown one."""
    a = side.create_topic("a", partitions=3)
    b = side.create_topic("b", partitions=1)
    topics = [{"name": a}, {"name": b}]
    first = side.call(75, 0, {"topics": topics, "response_partition_limit": 2, "cursor": None})
    cursor = first.next_cursor
    if cursor is not None:
        side.call(
            75,
            0,
            {
                "topics": topics,
                "response_partition_limit": 2,
                "cursor": {
                    "topic_name": cursor.topic_name,
                    "partition_index": cursor.partition_index,
                },
            },
            label="page-2",
        )
    missing = [{"name": side.name_of("missing")}]
    side.call(
        75, 0, {"topics": missing, "response_partition_limit": 10, "cursor": None}, label="unknown"
    )
    bad_cursor = {"topic_name": side.name_of("elsewhere"), "partition_index": 0}
    side.call(
        75,
        0,
        {"topics": topics, "response_partition_limit": 10, "cursor": bad_cursor},
        label="cursor-not-listed",
    )


def _broker_op(name: str, value: str | None, op: int = 0) -> dict:
    return {"name": name, "config_operation": op, "value": value}


@scenario(44, "incremental_alter_configs/broker-rules")
def _broker_rules(side: Side) -> None:
    """Kafka's rules for dynamic broker configs: read-only keys, per-broker keys at
    the cluster level, another broker's id, invalid values, then a change and its
    removal at the cluster level (validate_only, so the shared broker keeps its
    configs)."""
    node = str(side.node_id)
    cases = {
        "read-only": ("", [_broker_op("num.partitions", "3")]),
        "per-broker-at-cluster-level": (
            "",
            [_broker_op("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT")],
        ),
        "other-broker": ("12345", [_broker_op("log.retention.ms", "1000")]),
        "not-a-number": ("x", [_broker_op("log.retention.ms", "1000")]),
        "invalid-value": ("", [_broker_op("log.retention.ms", "abc")]),
        "append-to-non-list": ("", [_broker_op("log.retention.ms", "1", 2)]),
        "cluster-level": ("", [_broker_op("log.retention.ms", "3600000")]),
        "this-broker": (node, [_broker_op("log.retention.ms", "3600000")]),
        "remove-min-isr": ("", [_broker_op("min.insync.replicas", None, 1)]),
    }
    for label, (name, configs) in cases.items():
        request = {
            "resources": [{"resource_type": BROKER, "resource_name": name, "configs": configs}],
            "validate_only": True,
        }
        side.call(44, 1, request, label=label)


@scenario(32, "describe_configs/cluster-level")
def _describe_cluster_level(side: Side) -> None:
    """The cluster-wide level (broker resource ""): only what is set there."""
    request = {
        "resources": [
            {
                "resource_type": BROKER,
                "resource_name": "",
                "configuration_keys": ["min.insync.replicas"],
            }
        ],
        "include_synonyms": True,
        "include_documentation": False,
    }
    side.call(32, 4, request)
