"""``streamtest groups``: list, describe and delete consumer groups, and delete their
offsets, with ``kafka-consumer-groups.sh``'s columns and messages."""

from __future__ import annotations

import click

from ..ops.client import ClientConfig
from ..ops.groups import (
    describe_group,
    describe_offsets,
    list_groups,
    parse_states,
    parse_types,
)
from ..ops.plan import TopicSelection, parse_topic_selection
from ..ops.render import print_table
from ._app import main
from ._ops_options import cluster_options, user_input
from ._output import emit_rows, format_option

OFFSETS_COLUMNS = (
    "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
    "CONSUMER-ID", "HOST", "CLIENT-ID",
)
MEMBERS_COLUMNS = ("GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS")
STATE_COLUMNS = ("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS")


@main.group()
def groups() -> None:
    """Manage consumer groups (like kafka-consumer-groups.sh)."""


@groups.command("list")
@click.option(
    "--state", "state", is_flag=False, flag_value="", default=None, metavar="[STATE,...]",
    help="Show each group's state; with a value, only groups in those states "
         "(e.g. Stable,Empty).",
)
@click.option(
    "--type", "type_", is_flag=False, flag_value="", default=None, metavar="[TYPE,...]",
    help="Show each group's type; with a value, only groups of those types "
         "(classic, consumer, share).",
)
@format_option(keys="group, type, state (JSON: a list of objects; CSV: a header line)")
@cluster_options
def groups_list(config: ClientConfig, state: str | None, type_: str | None, fmt: str) -> None:
    """List groups, one per line (with --state/--type: a GROUP TYPE STATE table)."""
    states = user_input(lambda: parse_states(state)) if state else None
    types = user_input(lambda: parse_types(type_)) if type_ else None
    found = list_groups(config, states, types)
    if fmt != "table":
        emit_rows(fmt, ("GROUP", "TYPE", "STATE"),
                  [(g.group_id, g.type.title(), g.state) for g in found])
        return
    if state is None and type_ is None:
        for g in found:
            click.echo(g.group_id)
        return
    columns = ["GROUP"] + (["TYPE"] if type_ is not None else []) + (
        ["STATE"] if state is not None else [])
    print_table(columns, [
        [g.group_id] + ([g.type.title()] if type_ is not None else [])
        + ([g.state] if state is not None else [])
        for g in found
    ])


DESCRIBE_KEYS = (
    "--offsets: group, topic, partition, current_offset, log_end_offset, lag, consumer_id, "
    "host, client_id; --members: group, consumer_id, host, client_id, partitions "
    "(and assignment with --verbose); --state: group, coordinator, assignment_strategy, "
    "state, members"
)


@groups.command("describe")
@click.option("--group", "group_ids", multiple=True, metavar="GROUP",
              help="The group to describe; repeatable.")
@click.option("--all-groups", is_flag=True, help="Describe every group.")
@click.option("--offsets", is_flag=True,
              help="Committed offsets and lag per partition (the default).")
@click.option("--members", is_flag=True, help="Members and their partitions.")
@click.option("--state", is_flag=True, help="Coordinator, assignor, state.")
@click.option("--verbose", is_flag=True, help="With --members: show each member's assignment.")
@format_option(keys=DESCRIBE_KEYS)
@cluster_options
def groups_describe(
    config: ClientConfig,
    group_ids: tuple[str, ...],
    all_groups: bool,
    offsets: bool,
    members: bool,
    state: bool,
    verbose: bool,
    fmt: str,
) -> None:
    """Describe consumer groups: their offsets (default), members or state."""
    views = [name for name, on in (("--offsets", offsets), ("--members", members),
                                    ("--state", state)) if on]
    if len(views) > 1:
        raise click.UsageError(f"{' and '.join(views)} are mutually exclusive: give one view")
    if verbose and not members:
        raise click.UsageError("--verbose only applies to --members")
    if all_groups and group_ids:
        raise click.UsageError("--group and --all-groups are mutually exclusive")
    if not all_groups and not group_ids:
        raise click.UsageError("give --group GROUP (repeatable) or --all-groups")
    names = list(dict.fromkeys(group_ids))
    if all_groups:
        names = [g.group_id for g in list_groups(config)]
        if "" in names:
            # Kafka 4.x keeps offsets committed under the empty group id, and lists
            # that group, but ConsumerGroupDescribe refuses an empty id
            # (INVALID_GROUP_ID): say so rather than fail every other group.
            names.remove("")
            click.echo(
                "skipping the group with the empty id: Kafka does not describe it", err=True
            )
    view = "members" if members else "state" if state else "offsets"
    rows: list[list[object]] = []
    columns: tuple[str, ...] = ()
    for group in names:
        columns, got = _describe_rows(config, group, view, verbose, quiet=fmt != "table")
        rows += got
    if fmt != "table":
        emit_rows(fmt, columns or _COLUMNS[view], rows)
    elif rows or view != "members":
        print_table(columns or _COLUMNS[view], rows)


_COLUMNS = {"offsets": OFFSETS_COLUMNS, "members": MEMBERS_COLUMNS, "state": STATE_COLUMNS}


def _describe_rows(
    config: ClientConfig, group: str, view: str, verbose: bool, quiet: bool
) -> tuple[tuple[str, ...], list[list[object]]]:
    """Return one group's columns and rows for ``view``, saying on stderr when it has
    no active members (unless ``quiet``, for JSON and CSV)."""
    def no_members() -> None:
        if not quiet:
            click.echo(f"Consumer group '{group}' has no active members.", err=True)

    if view == "offsets":
        result = describe_offsets(config, group)
        if not result.info.members:
            no_members()
        return OFFSETS_COLUMNS, [
            [r.group, r.topic, r.partition, r.current_offset, r.log_end_offset, r.lag,
             r.consumer_id, r.host, r.client_id]
            for r in result.rows
        ]
    info = describe_group(config, group)
    if view == "state":
        return STATE_COLUMNS, [
            [group, info.coordinator, info.assignor, info.state, len(info.members)]
        ]
    if not info.members:
        no_members()
    columns = MEMBERS_COLUMNS + (("ASSIGNMENT",) if verbose else ())
    rows: list[list[object]] = []
    for m in sorted(info.members, key=lambda m: m.member_id):
        row: list[object] = [group, m.member_id, m.host, m.client_id, len(m.assignment)]
        if verbose:
            by_topic: dict[str, list[int]] = {}
            for tp in m.assignment:
                by_topic.setdefault(tp.topic, []).append(tp.partition)
            row.append(",".join(f"{t}({','.join(map(str, ps))})"
                                for t, ps in sorted(by_topic.items())))
        rows.append(row)
    return columns, rows


@groups.command("delete")
@click.option("--group", required=True, help="The consumer group to delete.")
@cluster_options
def groups_delete(config: ClientConfig, group: str) -> None:
    """Delete an inactive consumer group and its committed offsets."""
    from ..ops.groups import delete_group

    delete_group(config, group)
    click.echo(f"Deletion of requested consumer groups ('{group}') was successful.")


@groups.command("delete-offsets")
@click.option("--group", required=True, help="The consumer group.")
@click.option("--topic", "topics", multiple=True, required=True, metavar="TOPIC[:P,...]",
              help="Topic (optionally some partitions) whose offsets to delete; repeatable.")
@cluster_options
def groups_delete_offsets(config: ClientConfig, group: str, topics: tuple[str, ...]) -> None:
    """Delete a group's committed offsets for some topics or partitions.

    Prints TOPIC PARTITION STATUS per partition, as kafka-consumer-groups.sh does.
    """
    from ..ops.group_offsets import delete_offsets

    selections: list[TopicSelection] = [user_input(lambda t=t: parse_topic_selection(t))
                                        for t in topics]
    results = delete_offsets(config, group, selections)
    print_table(("TOPIC", "PARTITION", "STATUS"),
                [(tp.topic, tp.partition, status) for tp, status in results])
    if any(status != "Successful" for _, status in results):
        raise SystemExit(1)
