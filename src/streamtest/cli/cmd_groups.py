"""``streamtest groups``: list, describe and delete consumer groups, and delete their
offsets, with ``kafka-consumer-groups.sh``'s columns and messages. Share groups
(KIP-932) are listed too and described with ``kafka-share-groups.sh``'s columns."""

from __future__ import annotations

import click

from ..ops.client import ClientConfig
from ..ops.errors import UnknownGroupError
from ..ops.groups import (
    describe_group,
    describe_offsets,
    list_groups,
    parse_states,
)
from ..ops.plan import TopicSelection, parse_topic_selection
from ..ops.render import print_table
from ._app import main
from ._ops_options import cluster_options, user_input

OFFSETS_COLUMNS = (
    "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
    "CONSUMER-ID", "HOST", "CLIENT-ID",
)
MEMBERS_COLUMNS = ("GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS")
STATE_COLUMNS = ("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS")
# kafka-share-groups.sh --describe [--offsets|--members|--state] [--verbose]
SHARE_OFFSETS_COLUMNS = ("GROUP", "TOPIC", "PARTITION", "START-OFFSET", "LAG")
SHARE_MEMBERS_COLUMNS = ("GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS")
SHARE_STATE_COLUMNS = ("GROUP", "COORDINATOR (ID)", "STATE", "#MEMBERS")


@main.group()
def groups() -> None:
    """Manage consumer groups (like kafka-consumer-groups.sh)."""


@groups.command("list")
@click.option(
    "--state", "state", is_flag=False, flag_value="", default=None, metavar="[STATE,...]",
    help="Show each group's state; with a value, only groups in those states "
         "(e.g. Stable,Empty).",
)
@cluster_options
def groups_list(config: ClientConfig, state: str | None) -> None:
    """List consumer and share groups, one per line (with --state: a GROUP STATE table)."""
    from ..ops.share_groups import list_share_groups

    states = user_input(lambda: parse_states(state)) if state else None
    found = sorted(
        [(g.group_id, g.state) for g in list_groups(config, states)]
        + list_share_groups(config, states),
    )
    if state is None:
        for group_id, _ in found:
            click.echo(group_id)
    else:
        print_table(("GROUP", "STATE"), found)


@groups.command("describe")
@click.option("--group", required=True, help="The consumer group.")
@click.option("--offsets", "view", flag_value="offsets", default=True,
              help="Committed offsets and lag per partition (the default).")
@click.option("--members", "view", flag_value="members", help="Members and their partitions.")
@click.option("--state", "view", flag_value="state", help="Coordinator, assignor, state.")
@click.option("--verbose", is_flag=True, help="With --members: show each member's assignment.")
@cluster_options
def groups_describe(config: ClientConfig, group: str, view: str, verbose: bool) -> None:
    """Describe a consumer or share group: its offsets (default), members or state.

    For a share group the offsets are its share-partition start offsets and lag, as
    kafka-share-groups.sh prints them ("-" where it has not read a partition yet).
    """
    try:
        _describe_consumer_group(config, group, view, verbose)
    except UnknownGroupError:
        from ..ops.share_groups import is_share_group

        if not is_share_group(config, group):
            raise
        _describe_share_group(config, group, view, verbose)


def _describe_consumer_group(config: ClientConfig, group: str, view: str, verbose: bool) -> None:
    if view == "offsets":
        result = describe_offsets(config, group)
        if not result.info.members:
            click.echo(f"Consumer group '{group}' has no active members.", err=True)
        print_table(OFFSETS_COLUMNS, [
            (r.group, r.topic, r.partition, r.current_offset, r.log_end_offset, r.lag,
             r.consumer_id, r.host, r.client_id)
            for r in result.rows
        ])
        return
    info = describe_group(config, group)
    if view == "members":
        if not info.members:
            click.echo(f"Consumer group '{group}' has no active members.", err=True)
            return
        columns = MEMBERS_COLUMNS + (("ASSIGNMENT",) if verbose else ())
        rows = []
        for m in sorted(info.members, key=lambda m: m.member_id):
            row: list[object] = [group, m.member_id, m.host, m.client_id, len(m.assignment)]
            if verbose:
                by_topic: dict[str, list[int]] = {}
                for tp in m.assignment:
                    by_topic.setdefault(tp.topic, []).append(tp.partition)
                row.append(",".join(f"{t}({','.join(map(str, ps))})"
                                    for t, ps in sorted(by_topic.items())))
            rows.append(row)
        print_table(columns, rows)
    else:
        print_table(STATE_COLUMNS, [
            (group, info.coordinator, info.assignor, info.state, len(info.members))
        ])


def _describe_share_group(config: ClientConfig, group: str, view: str, verbose: bool) -> None:
    from ..ops.share_groups import describe_share_group, share_offsets

    def dash(value: int | None) -> object:
        return "-" if value is None else value

    if view == "offsets":
        rows = share_offsets(config, group)
        columns = SHARE_OFFSETS_COLUMNS
        if verbose:
            columns = columns[:3] + ("LEADER-EPOCH",) + columns[3:]
        print_table(columns, [
            (r.group, r.topic, r.partition)
            + ((dash(r.leader_epoch),) if verbose else ())
            + (dash(r.start_offset), dash(r.lag))
            for r in rows
        ])
        return
    info = describe_share_group(config, group)
    if view == "members":
        if not info.members:
            click.echo(f"Share group '{group}' has no active members.", err=True)
            return
        columns = SHARE_MEMBERS_COLUMNS + (("MEMBER-EPOCH",) if verbose else ()) + ("ASSIGNMENT",)
        rows = []
        for m in sorted(info.members, key=lambda m: m.member_id):
            by_topic: dict[str, list[int]] = {}
            for tp in m.assignment:
                by_topic.setdefault(tp.topic, []).append(tp.partition)
            assignment = ",".join(f"{t}:{','.join(map(str, ps))}"
                                  for t, ps in sorted(by_topic.items()))
            rows.append([group, m.member_id, m.host, m.client_id, len(m.assignment)]
                        + ([m.member_epoch] if verbose else []) + [assignment])
        print_table(columns, rows)
    else:
        columns = SHARE_STATE_COLUMNS
        row: list[object] = [group, info.coordinator, info.state, len(info.members)]
        if verbose:
            columns = columns[:3] + ("GROUP-EPOCH", "ASSIGNMENT-EPOCH") + columns[3:]
            row = row[:3] + [info.group_epoch, info.assignment_epoch] + row[3:]
        print_table(columns, [row])


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
