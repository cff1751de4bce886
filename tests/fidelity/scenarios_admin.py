"""Scenarios for topic and config administration: CreateTopics, DeleteTopics,
CreatePartitions, DescribeConfigs, AlterConfigs, IncrementalAlterConfigs,
DescribeCluster (see scenarios_data for the conventions)."""

from __future__ import annotations

from .harness import Side, scenario

TOPIC, BROKER = 2, 4  # ConfigResource types


def create_request(
    name: str,
    partitions: int = 1,
    replication: int = 1,
    configs: dict[str, str] | None = None,
    validate_only: bool = False,
) -> dict:
    return {
        "topics": [
            {
                "name": name,
                "num_partitions": partitions,
                "replication_factor": replication,
                "assignments": [],
                "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()],
            }
        ],
        "timeout": 30000,
        "validate_only": validate_only,
    }


# -- CreateTopics (19) ------------------------------------------------------------------


@scenario(19, "create_topics/basic", range(2, 8))
def _create(side: Side, v: int) -> None:
    """Create a topic with two partitions and one config."""
    side.call(19, v, create_request(side.name_of("t"), 2, configs={"retention.ms": "60000"}))


@scenario(19, "create_topics/already-exists", [2, 5, 7])
def _create_exists(side: Side, v: int) -> None:
    """Creating it again: TOPIC_ALREADY_EXISTS."""
    name = side.create_topic("t")
    side.call(19, v, create_request(name))


@scenario(19, "create_topics/invalid-name")
def _create_invalid(side: Side) -> None:
    """Illegal characters and '..': INVALID_TOPIC_EXCEPTION."""
    side.call(19, 7, create_request("bad topic!"), label="space")
    side.call(19, 7, create_request(".."), label="dotdot")


@scenario(19, "create_topics/too-long-name")
def _create_long(side: Side) -> None:
    """A 250-character name: INVALID_TOPIC_EXCEPTION."""
    side.call(19, 7, create_request("x" * 250))


@scenario(19, "create_topics/zero-partitions")
def _create_zero(side: Side) -> None:
    """num_partitions=0: INVALID_PARTITIONS."""
    side.call(19, 7, create_request(side.name_of("t"), partitions=0))


@scenario(19, "create_topics/replication-too-high")
def _create_rf(side: Side) -> None:
    """Three replicas on one broker: INVALID_REPLICATION_FACTOR."""
    side.call(19, 7, create_request(side.name_of("t"), replication=3))


@scenario(19, "create_topics/defaults")
def _create_defaults(side: Side) -> None:
    """-1 partitions and replicas (v4+): the broker's defaults."""
    side.call(19, 7, create_request(side.name_of("t"), partitions=-1, replication=-1))


@scenario(19, "create_topics/unknown-config")
def _create_bad_config(side: Side) -> None:
    """A config Kafka does not know: INVALID_CONFIG."""
    side.call(19, 7, create_request(side.name_of("t"), configs={"no.such.config": "1"}))


@scenario(19, "create_topics/invalid-config-value")
def _create_bad_value(side: Side) -> None:
    """cleanup.policy=sometimes and retention.ms=abc: INVALID_CONFIG."""
    side.call(
        19,
        7,
        create_request(side.name_of("a"), configs={"cleanup.policy": "sometimes"}),
        label="policy",
    )
    side.call(
        19, 7, create_request(side.name_of("b"), configs={"retention.ms": "abc"}), label="retention"
    )


@scenario(19, "create_topics/validate-only")
def _create_validate(side: Side) -> None:
    """validate_only creates nothing: a second call still succeeds."""
    name = side.name_of("t")
    side.call(19, 7, create_request(name, 3, validate_only=True), label="first")
    side.call(19, 7, create_request(name, 3, validate_only=True), label="second")
    side.call(
        3, 12, {"topics": [{"name": name}], "allow_auto_topic_creation": False}, label="metadata"
    )


@scenario(19, "create_topics/duplicate-in-request")
def _create_duplicate(side: Side) -> None:
    """The same name twice in one request: INVALID_REQUEST for both."""
    name = side.name_of("t")
    req = create_request(name)
    req["topics"] = req["topics"] * 2
    side.call(19, 7, req)


@scenario(19, "create_topics/internal-name")
def _create_internal(side: Side) -> None:
    """Creating __consumer_offsets by hand: TOPIC_ALREADY_EXISTS."""
    side.call(19, 7, create_request("__consumer_offsets"))


# -- DeleteTopics (20) ------------------------------------------------------------------


@scenario(20, "delete_topics/basic", range(1, 7))
def _delete(side: Side, v: int) -> None:
    """Delete a topic by name; it is gone from metadata."""
    name = side.create_topic("t")
    side.call(
        20,
        v,
        {"topic_names": [name], "topics": [{"name": name, "topic_id": None}], "timeout": 30000},
    )


@scenario(20, "delete_topics/unknown", [1, 4, 6])
def _delete_unknown(side: Side, v: int) -> None:
    """An unknown topic: UNKNOWN_TOPIC_OR_PARTITION."""
    name = side.name_of("missing")
    side.call(
        20,
        v,
        {"topic_names": [name], "topics": [{"name": name, "topic_id": None}], "timeout": 30000},
    )


@scenario(20, "delete_topics/by-id")
def _delete_by_id(side: Side) -> None:
    """v6 by topic id."""
    from .scenarios_data import topic_id

    name = side.create_topic("t")
    tid = topic_id(side, name)
    side.call(20, 6, {"topics": [{"name": None, "topic_id": tid}], "timeout": 30000})


@scenario(20, "delete_topics/unknown-id")
def _delete_unknown_id(side: Side) -> None:
    """v6 with an unknown topic id: UNKNOWN_TOPIC_ID."""
    import uuid

    side.call(20, 6, {"topics": [{"name": None, "topic_id": uuid.UUID(int=777)}], "timeout": 30000})


@scenario(20, "delete_topics/internal")
def _delete_internal(side: Side) -> None:
    """Deleting __consumer_offsets is refused."""
    side.call(
        20, 6, {"topics": [{"name": "__consumer_offsets", "topic_id": None}], "timeout": 30000}
    )


# -- CreatePartitions (37) --------------------------------------------------------------


def partitions_request(name: str, count: int, validate_only: bool = False) -> dict:
    return {
        "topics": [{"name": name, "count": count, "assignments": None}],
        "timeout": 30000,
        "validate_only": validate_only,
    }


@scenario(37, "create_partitions/grow", range(0, 4))
def _grow(side: Side, v: int) -> None:
    """1 -> 3 partitions, then metadata shows three."""
    name = side.create_topic("t")
    side.call(37, v, partitions_request(name, 3))
    side.wait_topic(name, 3)


@scenario(37, "create_partitions/shrink")
def _shrink(side: Side) -> None:
    """3 -> 2 partitions: INVALID_PARTITIONS."""
    name = side.create_topic("t", partitions=3)
    side.call(37, 3, partitions_request(name, 2))


@scenario(37, "create_partitions/same-count")
def _same(side: Side) -> None:
    """2 -> 2: INVALID_PARTITIONS."""
    name = side.create_topic("t", partitions=2)
    side.call(37, 3, partitions_request(name, 2))


@scenario(37, "create_partitions/unknown-topic")
def _grow_unknown(side: Side) -> None:
    """An unknown topic: UNKNOWN_TOPIC_OR_PARTITION."""
    side.call(37, 3, partitions_request(side.name_of("missing"), 2))


@scenario(37, "create_partitions/validate-only")
def _grow_validate(side: Side) -> None:
    """validate_only changes nothing."""
    name = side.create_topic("t")
    side.call(37, 3, partitions_request(name, 4, validate_only=True))
    side.call(
        3, 12, {"topics": [{"name": name}], "allow_auto_topic_creation": False}, label="metadata"
    )


# -- DescribeConfigs (32) ---------------------------------------------------------------

TOPIC_KEYS = [
    "cleanup.policy",
    "retention.ms",
    "retention.bytes",
    "max.message.bytes",
    "segment.bytes",
    "min.insync.replicas",
    "message.timestamp.type",
    "compression.type",
]


def describe_request(
    resource_type: int, name: str, keys: list[str] | None, synonyms: bool = False
) -> dict:
    return {
        "resources": [
            {"resource_type": resource_type, "resource_name": name, "configuration_keys": keys}
        ],
        "include_synonyms": synonyms,
        "include_documentation": False,
    }


@scenario(32, "describe_configs/topic-keys", range(1, 5))
def _describe_topic(side: Side, v: int) -> None:
    """Named topic configs, one set explicitly, the others defaults."""
    name = side.create_topic("t", retention_ms="3600000")
    side.call(32, v, describe_request(TOPIC, name, TOPIC_KEYS))


@scenario(32, "describe_configs/topic-synonyms", [1, 4])
def _describe_synonyms(side: Side, v: int) -> None:
    """include_synonyms: where each value comes from."""
    name = side.create_topic("t", cleanup_policy="compact")
    side.call(
        32, v, describe_request(TOPIC, name, ["cleanup.policy", "retention.ms"], synonyms=True)
    )


@scenario(32, "describe_configs/topic-all")
def _describe_all(side: Side) -> None:
    """Every config of a topic (null keys): the set of names and their values."""
    name = side.create_topic("t")
    r = side.ask(32, 4, describe_request(TOPIC, name, None))
    side.observe("error", int(r.results[0].error_code))
    side.observe(
        "configs",
        {
            c.name: (c.value, c.read_only, int(c.config_source), c.is_sensitive)
            for c in r.results[0].configs
        },
    )


@scenario(32, "describe_configs/unknown-topic")
def _describe_unknown(side: Side) -> None:
    """An unknown topic: UNKNOWN_TOPIC_OR_PARTITION."""
    side.call(32, 4, describe_request(TOPIC, side.name_of("missing"), None))


@scenario(32, "describe_configs/unknown-key")
def _describe_unknown_key(side: Side) -> None:
    """A key no topic has: left out of the answer."""
    name = side.create_topic("t")
    side.call(32, 4, describe_request(TOPIC, name, ["no.such.key", "cleanup.policy"]))


@scenario(32, "describe_configs/broker-keys")
def _describe_broker(side: Side) -> None:
    """A few configs of this broker (resource name: its node id)."""
    keys = [
        "num.partitions",
        "auto.create.topics.enable",
        "default.replication.factor",
        "message.max.bytes",
        "log.retention.hours",
    ]
    side.call(32, 4, describe_request(BROKER, str(side.node_id), keys))


@scenario(32, "describe_configs/bad-resource-type")
def _describe_bad_type(side: Side) -> None:
    """Resource type 99: INVALID_REQUEST."""
    side.call(32, 4, describe_request(99, "x", None))


# -- AlterConfigs (33) ------------------------------------------------------------------


def alter_request(
    name: str, configs: dict[str, str], validate_only: bool = False, resource_type: int = TOPIC
) -> dict:
    return {
        "resources": [
            {
                "resource_type": resource_type,
                "resource_name": name,
                "configs": [{"name": k, "value": v} for k, v in configs.items()],
            }
        ],
        "validate_only": validate_only,
    }


@scenario(33, "alter_configs/set", range(0, 3))
def _alter(side: Side, v: int) -> None:
    """Replace a topic's configs; DescribeConfigs shows the new value."""
    name = side.create_topic("t", retention_ms="1000000")
    side.call(33, v, alter_request(name, {"cleanup.policy": "compact"}))
    side.retry(
        32,
        4,
        describe_request(TOPIC, name, ["cleanup.policy"]),
        lambda r: r.results[0].configs[0].value == "compact",
    )
    side.call(
        32, 4, describe_request(TOPIC, name, ["cleanup.policy", "retention.ms"]), label="after"
    )


@scenario(33, "alter_configs/invalid-value")
def _alter_invalid(side: Side) -> None:
    """An invalid value: INVALID_CONFIG."""
    name = side.create_topic("t")
    side.call(33, 2, alter_request(name, {"retention.ms": "soon"}))


@scenario(33, "alter_configs/unknown-topic")
def _alter_unknown(side: Side) -> None:
    """An unknown topic: UNKNOWN_TOPIC_OR_PARTITION."""
    side.call(33, 2, alter_request(side.name_of("missing"), {"retention.ms": "1000"}))


@scenario(33, "alter_configs/validate-only")
def _alter_validate(side: Side) -> None:
    """validate_only leaves the config as it was."""
    name = side.create_topic("t")
    side.call(33, 2, alter_request(name, {"retention.ms": "5000"}, validate_only=True))
    side.call(32, 4, describe_request(TOPIC, name, ["retention.ms"]), label="after")


# -- IncrementalAlterConfigs (44) -------------------------------------------------------

SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def incremental_request(
    name: str, ops: list[tuple[str, int, str | None]], validate_only: bool = False
) -> dict:
    return {
        "resources": [
            {
                "resource_type": TOPIC,
                "resource_name": name,
                "configs": [
                    {"name": k, "config_operation": op, "value": val} for k, op, val in ops
                ],
            }
        ],
        "validate_only": validate_only,
    }


def _wait_value(side: Side, topic: str, key: str, value: str) -> None:
    """Return once DescribeConfigs shows ``key=value`` (Kafka's broker learns a
    change from its controller a moment after the Alter answer)."""
    side.retry(
        32,
        4,
        describe_request(TOPIC, topic, [key]),
        lambda r: bool(r.results[0].configs) and r.results[0].configs[0].value == value,
        timeout=20,
    )


@scenario(44, "incremental_alter_configs/set-delete", range(0, 2))
def _incremental(side: Side, v: int) -> None:
    """SET one config and DELETE another."""
    name = side.create_topic("t", retention_ms="1000000")
    ops = [("max.message.bytes", SET, "20000"), ("retention.ms", DELETE, None)]
    side.call(44, v, incremental_request(name, ops))
    # Kafka's controller applies the change; the broker's view follows a moment later.
    side.retry(
        32,
        4,
        describe_request(TOPIC, name, ["max.message.bytes"]),
        lambda r: r.results[0].configs[0].value == "20000",
    )
    side.call(
        32, 4, describe_request(TOPIC, name, ["max.message.bytes", "retention.ms"]), label="after"
    )


@scenario(44, "incremental_alter_configs/append-subtract")
def _incremental_lists(side: Side) -> None:
    """APPEND and SUBTRACT on the list-valued cleanup.policy."""
    name = side.create_topic("t")
    side.call(
        44, 1, incremental_request(name, [("cleanup.policy", APPEND, "compact")]), label="append"
    )
    _wait_value(side, name, "cleanup.policy", "delete,compact")
    side.call(32, 4, describe_request(TOPIC, name, ["cleanup.policy"]), label="after-append")
    side.call(
        44, 1, incremental_request(name, [("cleanup.policy", SUBTRACT, "delete")]), label="subtract"
    )
    _wait_value(side, name, "cleanup.policy", "compact")
    side.call(32, 4, describe_request(TOPIC, name, ["cleanup.policy"]), label="after-subtract")


@scenario(44, "incremental_alter_configs/invalid")
def _incremental_invalid(side: Side) -> None:
    """An unknown config and an invalid value: INVALID_CONFIG."""
    name = side.create_topic("t")
    side.call(44, 1, incremental_request(name, [("no.such", SET, "1")]), label="unknown")
    side.call(
        44, 1, incremental_request(name, [("min.insync.replicas", SET, "-5")]), label="negative"
    )


@scenario(44, "incremental_alter_configs/append-to-scalar")
def _incremental_append_scalar(side: Side) -> None:
    """APPEND to a non-list config: INVALID_CONFIG."""
    name = side.create_topic("t")
    side.call(44, 1, incremental_request(name, [("retention.ms", APPEND, "5")]))


@scenario(44, "incremental_alter_configs/unknown-topic")
def _incremental_unknown(side: Side) -> None:
    """An unknown topic: UNKNOWN_TOPIC_OR_PARTITION."""
    side.call(44, 1, incremental_request(side.name_of("missing"), [("retention.ms", SET, "5")]))


# -- DescribeCluster (60) ---------------------------------------------------------------


@scenario(60, "describe_cluster/basic", range(0, 2))
def _describe_cluster(side: Side, v: int) -> None:
    """The cluster: one broker, a controller, the cluster id."""
    side.call(60, v, {"include_cluster_authorized_operations": False, "endpoint_type": 1})


@scenario(60, "describe_cluster/bad-endpoint-type")
def _describe_cluster_bad(side: Side) -> None:
    """endpoint_type=2 (controllers) asked of a broker: UNSUPPORTED_ENDPOINT_TYPE."""
    side.call(60, 1, {"include_cluster_authorized_operations": False, "endpoint_type": 2})
