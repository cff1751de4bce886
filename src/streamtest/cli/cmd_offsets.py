"""``streamtest offsets``: query offsets by time, and reset a group's offsets with
``kafka-consumer-groups.sh --reset-offsets``'s specs, scopes and modes."""

from __future__ import annotations

from pathlib import Path

import click

from ..ops.client import ClientConfig
from ..ops.errors import InvalidInputError
from ..ops.plan import (
    ResetSpec,
    TopicSelection,
    export_csv,
    parse_offsets_csv,
    parse_partition_list,
    parse_topic_selection,
)
from ..ops.render import print_table
from ..ops.timeparse import DATETIME_FORMAT_HELP, parse_datetime_ms, parse_duration, parse_time_spec
from ._app import main
from ._ops_options import cluster_options, user_input, warn
from ._output import emit_rows, format_option

PLAN_COLUMNS = ("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")


@main.group()
def offsets() -> None:
    """Query offsets and reset consumer-group offsets."""


@offsets.command("query")
@click.option("--topic", required=True, help="The topic.")
@click.option("--partitions", default=None, metavar="P[,P|A-B...]",
              help="Only these partitions (default: all).")
@click.option("--time", "time_", default="latest", show_default=True,
              metavar="earliest|latest|max-timestamp|MS|DATETIME",
              help=f"What to look up: a named position, epoch ms, or {DATETIME_FORMAT_HELP} "
                   "(first offset at or after that time).")
@format_option(keys="topic, partition, offset, timestamp (null when no record matches)")
@cluster_options
def offsets_query(
    config: ClientConfig, topic: str, partitions: str | None, time_: str, fmt: str
) -> None:
    """Print topic:partition:offset for each partition (like kafka-get-offsets.sh).

    The offset is empty when no record matches (a time after the last record).
    """
    from ..ops.offsets import query_offsets

    spec = user_input(lambda: parse_time_spec(time_))
    parts = user_input(lambda: parse_partition_list(partitions)) if partitions else None
    found = query_offsets(config, topic, parts, spec)
    if fmt != "table":
        emit_rows(fmt, ("TOPIC", "PARTITION", "OFFSET", "TIMESTAMP"),
                  [(q.tp.topic, q.tp.partition, q.offset, q.timestamp) for q in found])
        return
    for q in found:
        click.echo(q.line())


def _reset_spec(
    to_earliest: bool,
    to_latest: bool,
    to_current: bool,
    to_offset: int | None,
    shift_by: int | None,
    to_datetime: str | None,
    by_duration: str | None,
    from_file: str | None,
    group: str,
) -> ResetSpec:
    chosen = [name for name, on in (
        ("--to-earliest", to_earliest), ("--to-latest", to_latest),
        ("--to-current", to_current), ("--to-offset", to_offset is not None),
        ("--shift-by", shift_by is not None), ("--to-datetime", to_datetime is not None),
        ("--by-duration", by_duration is not None), ("--from-file", from_file is not None),
    ) if on]
    if len(chosen) != 1:
        raise click.UsageError(
            "give exactly one of --to-earliest, --to-latest, --to-current, --to-offset, "
            "--shift-by, --to-datetime, --by-duration, --from-file"
            + (f" (got {', '.join(chosen)})" if chosen else "")
        )
    if to_earliest:
        return ResetSpec.to_earliest()
    if to_latest:
        return ResetSpec.to_latest()
    if to_current:
        return ResetSpec.to_current()
    if to_offset is not None:
        if to_offset < 0:
            raise click.BadParameter("must not be negative", param_hint="--to-offset")
        return ResetSpec.to_offset(to_offset)
    if shift_by is not None:
        return ResetSpec.shift_by(shift_by)
    if to_datetime is not None:
        return ResetSpec.to_datetime(user_input(lambda: parse_datetime_ms(to_datetime)))
    if by_duration is not None:
        return ResetSpec.by_duration(user_input(lambda: parse_duration(by_duration)))
    assert from_file is not None
    try:
        text = Path(from_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {from_file}: {exc.strerror}") from None
    return ResetSpec.from_file(user_input(lambda: parse_offsets_csv(text, group)))


@offsets.command("reset")
@click.option("--group", required=True, help="The consumer group (must be Empty or Dead).")
@click.option("--topic", "topics", multiple=True, metavar="TOPIC[:P,...]",
              help="Topic to reset, optionally only some partitions; repeatable.")
@click.option("--all-topics", is_flag=True,
              help="Every topic the group has committed offsets for.")
@click.option("--to-earliest", is_flag=True, help="Reset to the log start offset.")
@click.option("--to-latest", is_flag=True, help="Reset to the log end offset.")
@click.option("--to-current", is_flag=True,
              help="Reset to the committed offset (log end where there is none).")
@click.option("--to-offset", type=int, default=None, metavar="N", help="Reset to offset N.")
@click.option("--shift-by", type=int, default=None, metavar="±N",
              help="Move the committed offset by N (negative rewinds).")
@click.option("--to-datetime", default=None, metavar="DATETIME",
              help=f"First offset at or after this time: {DATETIME_FORMAT_HELP}; "
                   "no zone means UTC.")
@click.option("--by-duration", default=None, metavar="PnDTnHnMnS",
              help="First offset at or after now minus this duration, e.g. PT1H or P1DT12H.")
@click.option("--from-file", type=click.Path(dir_okay=False), default=None,
              help="CSV of topic,partition,offset rows (as --export writes).")
@click.option("--dry-run", is_flag=True, help="Only print the new offsets (the default).")
@click.option("--execute", is_flag=True, help="Commit the new offsets.")
@click.option("--export", is_flag=True, help="Print the plan as topic,partition,offset CSV.")
@cluster_options
def offsets_reset(
    config: ClientConfig,
    group: str,
    topics: tuple[str, ...],
    all_topics: bool,
    to_earliest: bool,
    to_latest: bool,
    to_current: bool,
    to_offset: int | None,
    shift_by: int | None,
    to_datetime: str | None,
    by_duration: str | None,
    from_file: str | None,
    dry_run: bool,
    execute: bool,
    export: bool,
) -> None:
    """Reset a consumer group's offsets (like kafka-consumer-groups.sh --reset-offsets).

    Choose the scope (--topic ... or --all-topics), one spec (--to-earliest,
    --to-latest, --to-current, --to-offset, --shift-by, --to-datetime, --by-duration,
    --from-file) and a mode: --dry-run (default) prints GROUP TOPIC PARTITION
    NEW-OFFSET, --execute commits, --export prints CSV for --from-file (with
    --execute it commits too).

    New offsets are clamped into each partition's log, with a warning. The group
    must be inactive (Empty or Dead); otherwise nothing is changed and the exit
    status is 1. Any input error also changes nothing.
    """
    from ..ops.offsets import execute_reset, prepare_reset

    if dry_run and execute:
        raise click.UsageError("--dry-run and --execute are mutually exclusive")
    if topics and all_topics:
        raise click.UsageError("--topic and --all-topics are mutually exclusive")
    spec = _reset_spec(to_earliest, to_latest, to_current, to_offset, shift_by,
                       to_datetime, by_duration, from_file, group)
    if not topics and not all_topics and spec.kind != "from-file":
        raise click.UsageError("one of --topic or --all-topics is required")
    selections: list[TopicSelection] = [user_input(lambda t=t: parse_topic_selection(t))
                                        for t in topics]
    plan = prepare_reset(config, group, spec, selections, all_topics=all_topics)
    if not (dry_run or execute or export):
        warn("No action will be performed as the --execute option is missing. "
             "Add --dry-run to run without this warning.")
    for message in plan.warnings:
        warn(message)
    if execute:
        execute_reset(config, plan)
    if export:
        click.echo(export_csv(plan), nl=False)
    else:
        print_table(PLAN_COLUMNS, [(plan.group, p.tp.topic, p.tp.partition, p.new_offset)
                                   for p in plan.offsets])
