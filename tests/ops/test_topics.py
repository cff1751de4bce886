"""``streamtest topics``: kafka-topics.sh's commands and describe lines, and
kafka-configs.sh's topic configs, against the embedded broker."""

from __future__ import annotations

import csv
import io
import json

from streamtest.ops.topics import PartitionInfo, TopicInfo, parse_config_pairs


def test_create_list_describe_alter_delete(cli, topic_name):
    t = topic_name
    res = cli.ok(
        "topics",
        "create",
        "--topic",
        t,
        "--partitions",
        "3",
        "--config",
        "retention.ms=1000",
        "--config",
        "cleanup.policy=compact",
    )
    assert res.stdout == f"Created topic {t}.\n"
    assert t in cli.ok("topics", "list").stdout.splitlines()

    lines = cli.ok("topics", "describe", "--topic", t).stdout.splitlines()
    n = cli.node
    head = lines[0].split("\t")
    assert head[0] == f"Topic: {t}"
    assert head[1].startswith("TopicId: ") and len(head[1]) == len("TopicId: ") + 22
    assert head[2:] == [
        "PartitionCount: 3",
        "ReplicationFactor: 1",
        # min.insync.replicas: a cluster-level dynamic default in Kafka 4.1+ (KIP-966),
        # so not a default, as kafka-topics.sh prints it too.
        "Configs: cleanup.policy=compact,min.insync.replicas=1,retention.ms=1000",
    ]
    assert lines[1:] == [
        f"\tTopic: {t}\tPartition: {p}\tLeader: {n}\tReplicas: {n}\tIsr: {n}\tElr: N/A"
        "\tLastKnownElr: N/A"
        for p in range(3)
    ]

    assert cli.ok("topics", "alter", "--topic", t, "--partitions", "5").stdout == ""
    assert "PartitionCount: 5" in cli.ok("topics", "describe", "--topic", t).stdout
    assert cli.ok("topics", "delete", "--topic", t).stdout == ""
    assert t not in cli.ok("topics", "list").stdout.splitlines()


def test_if_not_exists_and_if_exists(cli, topic_name):
    cli.ok("topics", "create", "--topic", topic_name)
    again = cli("topics", "create", "--topic", topic_name)
    assert again.exit_code == 1
    assert again.stderr == (
        f"Error: cannot create topic '{topic_name}': TOPIC_ALREADY_EXISTS: "
        f"Topic '{topic_name}' already exists.\n"
    )
    assert cli.ok("topics", "create", "--topic", topic_name, "--if-not-exists").stdout == ""
    cli.ok("topics", "delete", "--topic", topic_name)
    gone = cli("topics", "delete", "--topic", topic_name)
    assert gone.exit_code == 1
    assert gone.stderr == f"Error: Topic '{topic_name}' does not exist as expected\n"
    cli.ok("topics", "delete", "--topic", topic_name, "--if-exists")
    cli.ok("topics", "alter", "--topic", topic_name, "--partitions", "2", "--if-exists")
    assert cli.ok("topics", "describe", "--topic", topic_name, "--if-exists").stdout == ""


def test_errors_are_one_line_with_kafkas_reason(cli, topic_name):
    cli.ok("topics", "create", "--topic", topic_name, "--partitions", "3")
    cases = [
        (["alter", "--topic", topic_name, "--partitions", "2"], "INVALID_PARTITIONS"),
        (
            ["create", "--topic", topic_name + "x", "--partitions", "0"],
            "The partitions must be greater than 0",
        ),
        (
            ["create", "--topic", topic_name + "x", "--config", "retention.ms"],
            "invalid --config 'retention.ms': expected KEY=VALUE",
        ),
        (["describe", "--topic", topic_name + "-missing"], "does not exist as expected"),
        (["describe", "--topic", "(["], "invalid topic pattern"),
        (
            ["configs", "--topic", topic_name, "--alter", "--add-config", "bogus=1"],
            "INVALID_CONFIG",
        ),
        (["configs", "--topic", topic_name, "--alter"], "give --add-config"),
    ]
    for args, message in cases:
        res = cli("topics", *args)
        assert res.exit_code == 1, args
        assert res.stderr.count("\n") == 1 and message in res.stderr, (args, res.stderr)


def test_list_and_describe_take_a_regular_expression(cli, topic_name):
    for suffix in ("a", "b"):
        cli.ok("topics", "create", "--topic", f"{topic_name}.{suffix}")
    assert cli.ok("topics", "list", "--topic", f"{topic_name}\\..*").stdout == (
        f"{topic_name}.a\n{topic_name}.b\n"
    )
    desc = cli.ok("topics", "describe", "--topic", f"{topic_name}.a,{topic_name}.b").stdout
    assert [ln.split("\t")[0] for ln in desc.splitlines() if not ln.startswith("\t")] == [
        f"Topic: {topic_name}.a",
        f"Topic: {topic_name}.b",
    ]


def test_internal_topics_are_kafkas_own():
    # The embedded broker keeps offsets and transactions outside topics, so this is
    # checked by name, as Kafka's Topic.isInternal does.
    from streamtest.ops.topics import is_internal

    assert is_internal("__consumer_offsets") and is_internal("__transaction_state")
    assert not is_internal("__schemas") and not is_internal("orders")


def test_describe_json_and_csv_have_stable_keys(cli, topic_name):
    cli.ok(
        "topics",
        "create",
        "--topic",
        topic_name,
        "--partitions",
        "2",
        "--config",
        "retention.ms=1000",
    )
    (doc,) = json.loads(
        cli.ok("topics", "describe", "--topic", topic_name, "--format", "json").stdout
    )
    assert set(doc) == {
        "topic",
        "topic_id",
        "internal",
        "partition_count",
        "replication_factor",
        "configs",
        "partitions",
    }
    assert doc["configs"] == {"min.insync.replicas": "1", "retention.ms": "1000"}
    n = cli.node
    assert doc["partitions"] == [
        {"partition": 0, "leader": n, "replicas": [n], "isr": [n]},
        {"partition": 1, "leader": n, "replicas": [n], "isr": [n]},
    ]
    rows = list(
        csv.DictReader(
            io.StringIO(
                cli.ok("topics", "describe", "--topic", topic_name, "--format", "csv").stdout
            )
        )
    )
    assert rows == [
        {"topic": topic_name, "partition": str(p), "leader": str(n), "replicas": str(n),
         "isr": str(n)}
        for p in range(2)
    ]
    listed = json.loads(cli.ok("topics", "list", "--topic", topic_name, "--format", "json").stdout)
    assert listed == [{"topic": topic_name, "internal": False}]


def test_configs_show_add_and_delete(cli, topic_name):
    cli.ok("topics", "create", "--topic", topic_name, "--config", "cleanup.policy=compact")
    shown = cli.ok("topics", "configs", "--topic", topic_name).stdout.splitlines()
    assert shown[0] == f"Dynamic configs for topic {topic_name} are:"
    assert shown[1].startswith("  cleanup.policy=compact sensitive=false synonyms={")
    res = cli.ok(
        "topics",
        "configs",
        "--topic",
        topic_name,
        "--alter",
        "--add-config",
        "retention.ms=5000,max.message.bytes=2000",
        "--delete-config",
        "cleanup.policy",
    )
    assert res.stdout == f"Completed updating config for topic {topic_name}.\n"
    doc = json.loads(cli.ok("topics", "configs", "--topic", topic_name, "--format", "json").stdout)
    assert {(c["name"], c["value"], c["source"]) for c in doc} == {
        ("max.message.bytes", "2000", "DYNAMIC_TOPIC_CONFIG"),
        ("retention.ms", "5000", "DYNAMIC_TOPIC_CONFIG"),
    }
    everything = cli.ok("topics", "configs", "--topic", topic_name, "--all").stdout
    assert everything.startswith(f"All configs for topic {topic_name} are:\n")
    assert "  cleanup.policy=delete sensitive=false" in everything


def test_describe_lines_show_the_replicas_the_cluster_reports():
    # A three-broker view: leader 2, ISR shrunk to two replicas, one leaderless partition.
    info = TopicInfo(
        "orders",
        "AAAAAAAAAAAAAAAAAAAAAA",
        (
            PartitionInfo(0, 2, (2, 3, 1), (2, 3)),
            PartitionInfo(1, None, (3, 1, 2), ()),
        ),
        {"min.insync.replicas": "2"},
        2,
    )
    assert info.summary_line() == (  # the zero topic id is not printed, as in Kafka
        "Topic: orders\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: min.insync.replicas=2"
    )
    assert [info.partition_line(p) for p in info.partitions] == [
        "\tTopic: orders\tPartition: 0\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,3\tElr: N/A\t"
        "LastKnownElr: N/A",
        "\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 3,1,2\tIsr: \tElr: N/A\t"
        "LastKnownElr: N/A",
    ]


def test_config_values_with_commas_use_brackets():
    assert parse_config_pairs(["a=1,b=[x,y]", "c = 3"]) == {"a": "1", "b": "x,y", "c": "3"}


def test_describe_report_filters(cli, topic_name):
    plain, strict = topic_name + "-plain", topic_name + "-strict"
    cli.ok("topics", "create", "--topic", plain, "--partitions", "2")
    cli.ok(
        "topics",
        "create",
        "--topic",
        strict,
        "--partitions",
        "2",
        "--config",
        "min.insync.replicas=2",
    )
    pattern = f"{topic_name}-.*"
    overrides = cli.ok("topics", "describe", "--topic", pattern, "--topics-with-overrides")
    # As kafka-topics.sh on Kafka 4.1+: min.insync.replicas is a cluster-level dynamic
    # default (KIP-966), not a default, so every topic has a "non-default" config.
    assert [ln.split("\t")[0] for ln in overrides.stdout.splitlines()] == [
        f"Topic: {plain}",
        f"Topic: {strict}",
    ]
    # One replica in sync and min.insync.replicas=2: both partitions of the strict topic,
    # as partition lines only (kafka-topics.sh leaves out the topic line for reports).
    under = cli.ok("topics", "describe", "--topic", pattern, "--under-min-isr-partitions")
    assert [ln.split("\t")[1:3] for ln in under.stdout.splitlines()] == [
        [f"Topic: {strict}", "Partition: 0"],
        [f"Topic: {strict}", "Partition: 1"],
    ]
    at_min = cli.ok("topics", "describe", "--topic", pattern, "--at-min-isr-partitions")
    assert {ln.split("\t")[1] for ln in at_min.stdout.splitlines()} == {f"Topic: {plain}"}
    for flag in ("--under-replicated-partitions", "--unavailable-partitions"):
        assert cli.ok("topics", "describe", "--topic", pattern, flag).stdout == ""
