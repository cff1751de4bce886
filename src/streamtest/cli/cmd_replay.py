"""``streamtest replay``: copy an exact offset or time range of a topic to another
topic, a JSON-lines file, or a command's stdin."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from ..ops.client import ClientConfig
from ..ops.errors import UnknownTopicError
from ..ops.plan import parse_partition_list
from ..ops.timeparse import DATETIME_FORMAT_HELP, parse_datetime_ms
from ..types import KafkaRecord
from ._app import main
from ._ops_options import cluster_options, user_input, warn

HELP = f"""Replay records of TOPIC with start <= offset < end on each partition.

\b
Choose the range by offsets (--from-offset N [--to-offset M]) or by time
(--from-datetime A [--to-datetime B], {DATETIME_FORMAT_HELP}; no zone means UTC;
from the first record at or after A to the first at or after B). A missing end
means the end of the log when the replay starts. The range is clamped to what
is readable.

\b
Destination, one of:
  --to-topic T2   produce each record with its key, value, headers and timestamp
                  (to the same partition number unless --repartition);
                  --create-topic makes T2 first, shaped like TOPIC
  --output FILE   write JSON lines: topic, partition, offset, timestamp, and
                  base64 key, value and header values ('-' for stdout)
  --exec CMD      pipe those JSON lines into one shell command's stdin

\b
Re-running is safe: the range is fixed offsets (or timestamps resolved to
offsets), read with a manual assignment that never commits, so no consumer
group's offsets change and a second run reads the same records. --output
rewrites the whole file atomically (a failed run leaves the old file). --to-topic
and --exec are not idempotent: a second run appends the records again, so use a
fresh target topic or an idempotent consumer downstream.
"""


def _progress_console(force: bool | None) -> Console | None:
    console = Console(stderr=True)
    show = console.is_terminal if force is None else force
    return console if show else None


@main.command("replay", help=HELP)
@click.option("--topic", required=True, help="The topic to replay.")
@click.option("--partitions", default=None, metavar="P[,P|A-B...]",
              help="Only these partitions (default: all).")
@click.option("--from-offset", type=click.IntRange(0), default=None, metavar="N",
              help="First offset (inclusive), on every partition.")
@click.option("--to-offset", type=click.IntRange(0), default=None, metavar="M",
              help="End offset (exclusive), on every partition.")
@click.option("--from-datetime", default=None, metavar="DATETIME", help="Start time (inclusive).")
@click.option("--to-datetime", default=None, metavar="DATETIME", help="End time (exclusive).")
@click.option("--to-topic", default=None,
              help="Produce the records to this topic (it must exist, or give --create-topic).")
@click.option("--create-topic", is_flag=True,
              help="With --to-topic: create it first if missing, with the source topic's "
                   "partition count, replication factor and configs.")
@click.option("--repartition", is_flag=True,
              help="With --to-topic: let the key partitioner choose partitions.")
@click.option("--output", default=None, metavar="FILE.jsonl", help="Write JSON lines here.")
@click.option("--exec", "exec_", default=None, metavar="CMD",
              help="Pipe JSON lines into this shell command.")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar on stderr (default: when stderr is a terminal).")
@click.option("--idle-timeout", type=click.FloatRange(0.1), default=30.0, show_default=True,
              help="Fail if no record arrives for this many seconds.")
@cluster_options
def replay(
    config: ClientConfig,
    topic: str,
    partitions: str | None,
    from_offset: int | None,
    to_offset: int | None,
    from_datetime: str | None,
    to_datetime: str | None,
    to_topic: str | None,
    create_topic: bool,
    repartition: bool,
    output: str | None,
    exec_: str | None,
    progress: bool | None,
    idle_timeout: float,
) -> None:
    """Replay a range of a topic (the help text is HELP above)."""
    from ..ops.replay import (
        ExecSink,
        FileSink,
        TopicSink,
        read_ranges,
        resolve_offset_range,
        resolve_time_range,
        topic_exists,
    )

    by_offset = from_offset is not None or to_offset is not None
    by_time = from_datetime is not None or to_datetime is not None
    if by_offset == by_time:
        raise click.UsageError(
            "give a range: --from-offset N [--to-offset M] or "
            "--from-datetime A [--to-datetime B]"
        )
    if by_offset and from_offset is None:
        raise click.UsageError("--to-offset needs --from-offset")
    if by_time and from_datetime is None:
        raise click.UsageError("--to-datetime needs --from-datetime")
    sinks = [s for s in (to_topic, output, exec_) if s is not None]
    if len(sinks) != 1:
        raise click.UsageError("give exactly one of --to-topic, --output, --exec")
    if repartition and to_topic is None:
        raise click.UsageError("--repartition only applies to --to-topic")
    if create_topic and to_topic is None:
        raise click.UsageError("--create-topic only applies to --to-topic")
    if to_topic is not None and to_topic == topic:
        warn(f"replaying {topic} into itself appends copies of the range to the same topic "
             "(the replay stops at the end offsets it resolved first, so it ends)")

    parts = user_input(lambda: parse_partition_list(partitions)) if partitions else None
    if by_time:
        assert from_datetime is not None
        start_ms = user_input(lambda: parse_datetime_ms(from_datetime))
        end_ms = user_input(lambda: parse_datetime_ms(to_datetime)) if to_datetime else None
        ranges = resolve_time_range(config, topic, start_ms, end_ms if end_ms is not None
                                    else 2**62, parts)
    else:
        assert from_offset is not None
        ranges = resolve_offset_range(config, topic, from_offset,
                                      to_offset if to_offset is not None else 2**62, parts)

    handler: Callable[[KafkaRecord], object]
    topic_sink = file_sink = exec_sink = None
    if to_topic is not None:
        if create_topic:
            from ..ops.topics import create_like

            if create_like(config, topic, to_topic):
                click.echo(f"Created topic {to_topic} like {topic}.", err=True)
        try:
            count = topic_exists(config, to_topic)
        except UnknownTopicError:
            raise click.ClickException(
                f"topic '{to_topic}' does not exist: create it with --create-topic (a copy "
                f"of {topic}'s partitions and configs) or streamtest topics create"
            ) from None
        needed = max((r.tp.partition for r in ranges if r.size), default=-1) + 1
        if not repartition and needed > count:
            raise click.ClickException(
                f"topic '{to_topic}' has {count} partitions but the replay needs {needed}; "
                f"add partitions (streamtest topics alter --topic {to_topic} --partitions "
                f"{needed}) or use --repartition"
            )
        handler = topic_sink = TopicSink(config, to_topic, keep_partition=not repartition)
    elif output is not None and output != "-":
        handler = file_sink = FileSink(output)
    elif output == "-":
        def handler(record: KafkaRecord) -> None:
            from ..ops.replay import record_json

            sys.stdout.write(record_json(record) + "\n")
    else:
        assert exec_ is not None
        handler = exec_sink = ExecSink(exec_)

    console = _progress_console(progress)
    ok = False
    try:
        if console is None:
            result = read_ranges(config, ranges, handler, idle_timeout=idle_timeout)
        else:
            with Progress(
                TextColumn(f"replay {topic}"), BarColumn(), MofNCompleteColumn(),
                TimeRemainingColumn(), console=console, transient=False,
            ) as bar:
                task = bar.add_task("replay", total=sum(r.size for r in ranges))
                result = read_ranges(
                    config, ranges, handler, idle_timeout=idle_timeout,
                    on_progress=lambda done, total: bar.update(task, completed=done),
                )
        if topic_sink is not None:
            topic_sink.close(config.timeout + 30)
        if exec_sink is not None:
            exec_sink.close()
        ok = True
    finally:
        if file_sink is not None:
            file_sink.close(ok)
    where = to_topic or output or exec_
    spans = ", ".join(f"{r.tp.partition}:[{r.start},{r.end})" for r in ranges)
    click.echo(f"Replayed {result.count} records of {topic} ({spans}) to {where}", err=True)
