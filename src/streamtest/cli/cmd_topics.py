"""``streamtest topics``: create, list, describe, alter and delete topics and change
their configs, with ``kafka-topics.sh``'s options and output, against any Kafka."""

from __future__ import annotations

import click

from ..ops.client import ClientConfig
from ..ops.topics import (
    PartitionInfo,
    TopicInfo,
    alter_partitions,
    alter_topic_configs,
    create_topic,
    delete_topic,
    describe_topic_configs,
    describe_topics,
    list_topics,
    live_brokers,
    parse_config_names,
    parse_config_pairs,
)
from ._app import main
from ._ops_options import cluster_options, user_input, warn
from ._output import emit_csv, emit_json, format_option

DESCRIBE_KEYS = (
    "JSON: a list of {topic, topic_id, internal, partition_count, replication_factor, "
    "configs: {name: value}, partitions: [{partition, leader, replicas, isr}]}; "
    "CSV: topic, partition, leader, replicas, isr"
)
CONFIG_KEYS = "name, value, source, sensitive, read_only"


@main.group()
def topics() -> None:
    """Create, list, describe, alter and delete topics (like kafka-topics.sh).

    --topic is a regular expression for list and describe, as in kafka-topics.sh;
    create, alter, delete and configs take an exact name.
    """


@topics.command("create")
@click.option("--topic", required=True, help="The topic to create.")
@click.option(
    "--partitions",
    type=int,
    default=None,
    help="Number of partitions (default: the broker's num.partitions).",
)
@click.option(
    "--replication-factor",
    type=int,
    default=None,
    help="Replicas per partition (default: the broker's default.replication.factor).",
)
@click.option(
    "--config",
    "configs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A topic config, e.g. cleanup.policy=compact; repeatable.",
)
@click.option(
    "--if-not-exists", is_flag=True, help="Do nothing (and succeed) if the topic already exists."
)
@cluster_options
def topics_create(
    config: ClientConfig,
    topic: str,
    partitions: int | None,
    replication_factor: int | None,
    configs: tuple[str, ...],
    if_not_exists: bool,
) -> None:
    """Create a topic; prints 'Created topic T.'"""
    values = user_input(lambda: parse_config_pairs(configs))
    if "." in topic or "_" in topic:
        # kafka-topics.sh's warning: metric names turn '.' into '_'.
        warn(
            "Due to limitations in metric names, topics with a period ('.') or underscore "
            "('_') could collide. To avoid issues it is best to use either, but not both."
        )
    if create_topic(
        config, topic, partitions, replication_factor, values, if_not_exists=if_not_exists
    ):
        click.echo(f"Created topic {topic}.")


@topics.command("list")
@click.option(
    "--topic",
    "pattern",
    default=None,
    metavar="REGEX",
    help="Only topics whose whole name matches this regular expression.",
)
@click.option(
    "--exclude-internal",
    is_flag=True,
    help="Leave out Kafka's internal topics (__consumer_offsets, ...).",
)
@format_option(keys="JSON: a list of {topic, internal}; CSV: topic, internal")
@cluster_options
def topics_list(
    config: ClientConfig, pattern: str | None, exclude_internal: bool, fmt: str
) -> None:
    """List topic names, one per line, sorted."""
    from ..ops.topics import is_internal

    names = list_topics(config, pattern, exclude_internal=exclude_internal)
    if fmt == "json":
        emit_json([{"topic": n, "internal": is_internal(n)} for n in names])
    elif fmt == "csv":
        emit_csv(("topic", "internal"), [(n, is_internal(n)) for n in names])
    else:
        for name in names:
            click.echo(name)


@topics.command("describe")
@click.option(
    "--topic",
    "pattern",
    default=None,
    metavar="REGEX",
    help="Only topics whose whole name matches this regular expression (default: all).",
)
@click.option("--exclude-internal", is_flag=True, help="Leave out Kafka's internal topics.")
@click.option(
    "--if-exists", is_flag=True, help="Succeed with no output when --topic matches nothing."
)
@click.option(
    "--under-replicated-partitions",
    "under_replicated",
    is_flag=True,
    help="Only partitions whose ISR is smaller than their replica set.",
)
@click.option(
    "--unavailable-partitions",
    "unavailable",
    is_flag=True,
    help="Only partitions whose leader is missing or not a live broker.",
)
@click.option(
    "--under-min-isr-partitions",
    "under_min_isr",
    is_flag=True,
    help="Only partitions with fewer in-sync replicas than min.insync.replicas.",
)
@click.option(
    "--at-min-isr-partitions",
    "at_min_isr",
    is_flag=True,
    help="Only partitions with exactly min.insync.replicas in-sync replicas.",
)
@click.option(
    "--topics-with-overrides",
    is_flag=True,
    help="Only topics that override a config, and only their topic line.",
)
@format_option(keys=DESCRIBE_KEYS)
@cluster_options
def topics_describe(
    config: ClientConfig,
    pattern: str | None,
    exclude_internal: bool,
    if_exists: bool,
    under_replicated: bool,
    unavailable: bool,
    under_min_isr: bool,
    at_min_isr: bool,
    topics_with_overrides: bool,
    fmt: str,
) -> None:
    """Describe topics as kafka-topics.sh does: a line per topic (TopicId,
    PartitionCount, ReplicationFactor and the configs that are not defaults),
    then a line per partition with its Leader, Replicas and Isr as the cluster
    reports them (tab-separated)."""
    found = describe_topics(config, pattern, exclude_internal=exclude_internal, if_exists=if_exists)
    reports = under_replicated or unavailable or under_min_isr or at_min_isr
    live = live_brokers(config) if unavailable else set()

    def wanted(t: TopicInfo, p: PartitionInfo) -> bool:
        if not reports:
            return True
        return bool(
            (under_replicated and len(p.isr) < len(p.replicas))
            or (unavailable and (p.leader is None or p.leader not in live))
            or (under_min_isr and (p.leader is None or len(p.isr) < t.min_insync_replicas))
            or (at_min_isr and len(p.isr) == t.min_insync_replicas)
        )

    selected = [t for t in found if not topics_with_overrides or t.configs]
    if fmt == "json":
        docs = []
        for t in selected:
            doc = t.as_dict()
            doc["partitions"] = [p.as_dict() for p in t.partitions if wanted(t, p)]
            if not reports or doc["partitions"]:
                docs.append(doc)
        emit_json(docs)
        return
    if fmt == "csv":
        emit_csv(
            ("topic", "partition", "leader", "replicas", "isr"),
            [
                (t.name, p.partition, p.leader, p.replicas, p.isr)
                for t in selected
                for p in t.partitions
                if wanted(t, p)
            ],
        )
        return
    for t in selected:
        if not reports:
            click.echo(t.summary_line())
        if topics_with_overrides:
            continue
        for p in t.partitions:
            if wanted(t, p):
                click.echo(t.partition_line(p))


@topics.command("alter")
@click.option("--topic", required=True, help="The topic.")
@click.option(
    "--partitions",
    type=int,
    required=True,
    help="The new partition count (Kafka can only add partitions).",
)
@click.option("--if-exists", is_flag=True, help="Do nothing if the topic does not exist.")
@cluster_options
def topics_alter(config: ClientConfig, topic: str, partitions: int, if_exists: bool) -> None:
    """Add partitions to a topic.

    Keyed records then map to other partitions than before: consumers relying on
    per-key order see a break at this point.
    """
    from ..ops.errors import UnknownTopicError

    try:
        alter_partitions(config, topic, partitions)
    except UnknownTopicError:
        if not if_exists:
            raise


@topics.command("delete")
@click.option("--topic", required=True, help="The topic to delete (an exact name).")
@click.option("--if-exists", is_flag=True, help="Do nothing if the topic does not exist.")
@cluster_options
def topics_delete(config: ClientConfig, topic: str, if_exists: bool) -> None:
    """Delete a topic and all its records."""
    delete_topic(config, topic, if_exists=if_exists)


@topics.command("configs")
@click.option("--topic", required=True, help="The topic.")
@click.option(
    "--all",
    "all_",
    is_flag=True,
    help="Show every config, defaults included (default: only the topic's own).",
)
@click.option("--alter", is_flag=True, help="Change configs (with --add-config/--delete-config).")
@click.option(
    "--add-config",
    "add",
    multiple=True,
    metavar="K=V[,K=V]",
    help="With --alter: set these configs; [a,b] for a value with commas. Repeatable.",
)
@click.option(
    "--delete-config",
    "delete",
    multiple=True,
    metavar="K[,K]",
    help="With --alter: remove these configs (back to the default). Repeatable.",
)
@format_option(keys=CONFIG_KEYS)
@cluster_options
def topics_configs(
    config: ClientConfig,
    topic: str,
    all_: bool,
    alter: bool,
    add: tuple[str, ...],
    delete: tuple[str, ...],
    fmt: str,
) -> None:
    """Show a topic's configs, or change them with --alter (like kafka-configs.sh
    --entity-type topics). Prints 'Completed updating config for topic T.'"""
    if (add or delete) and not alter:
        raise click.UsageError("--add-config and --delete-config need --alter")
    if alter:
        if all_:
            raise click.UsageError("--all only applies when describing configs")
        values = user_input(lambda: parse_config_pairs(add, "--add-config"))
        names = user_input(lambda: parse_config_names(delete))
        alter_topic_configs(config, topic, values, names)
        click.echo(f"Completed updating config for topic {topic}.")
        return
    from ..ops.client import check_reachable

    check_reachable(config)
    values_by_topic = describe_topic_configs(config, [topic])
    shown = [v for v in values_by_topic[topic] if all_ or v.source == "DYNAMIC_TOPIC_CONFIG"]
    if fmt == "json":
        emit_json([v.as_dict() for v in shown])
    elif fmt == "csv":
        emit_csv(CONFIG_KEYS.split(", "), [v.as_dict() for v in shown])
    else:
        click.echo(f"{'All' if all_ else 'Dynamic'} configs for topic {topic} are:")
        for v in shown:
            click.echo(f"  {v.line()}")
