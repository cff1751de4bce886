"""``streamtest lag``: a group's lag per partition and in total, with progress
towards zero and a time estimate; ``--watch`` makes it the backfill monitor."""

from __future__ import annotations

import json
import time

import click
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.text import Text

from ..ops.client import ClientConfig
from ..ops.lag import LagProgress, LagSnapshot, LagTracker, lag_snapshot, summary_line
from ..ops.render import cell, print_table
from . import _lag_extra
from ._app import main
from ._ops_options import cluster_options
from ._output import format_option, key_of

LAG_COLUMNS = ("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG")
LAG_KEYS = (
    "JSON: one object per refresh (one line each) with group, total_lag, initial_lag, "
    "fraction_done, consume_rate, drain_rate, eta_seconds and partitions: [{topic, "
    "partition, current_offset, log_end_offset, lag}]; CSV: group, topic, partition, "
    "current_offset, log_end_offset, lag"
)


def _json_doc(snap: LagSnapshot, progress: LagProgress) -> dict[str, object]:
    return {
        "group": snap.group,
        "total_lag": snap.total_lag,
        "initial_lag": progress.initial_lag,
        "fraction_done": progress.fraction,
        "consume_rate": progress.consume_rate,
        "drain_rate": progress.drain_rate,
        "eta_seconds": progress.eta_seconds,
        "partitions": [
            {"topic": p.tp.topic, "partition": p.tp.partition, "current_offset": p.committed,
             "log_end_offset": p.log_end_offset, "lag": p.lag}
            for p in snap.partitions
        ],
    }


def emit_csv_rows(header: bool, snap: LagSnapshot) -> None:
    """Print the snapshot's rows as CSV (the header only before the first)."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if header:
        writer.writerow([key_of(c) for c in LAG_COLUMNS])
    for row in _rows(snap):
        writer.writerow(["" if v is None else v for v in row])
    click.echo(buf.getvalue(), nl=False)


def _rows(snap: LagSnapshot) -> list[tuple[object, ...]]:
    return [(snap.group, p.tp.topic, p.tp.partition, p.committed, p.log_end_offset, p.lag)
            for p in snap.partitions]


def _live_view(snap: LagSnapshot, progress: LagProgress) -> Group:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, 2, 0, 0))
    for name in LAG_COLUMNS:
        table.add_column(name, header_style="bold", no_wrap=True)
    for row in _rows(snap):
        table.add_row(*(cell(v) for v in row))
    # The bar goes last: rich renders it without a line break after it.
    return Group(table, Text(summary_line(progress)),
                 ProgressBar(total=100, completed=progress.fraction * 100, width=40))


@main.command("lag")
@click.option("--group", "groups", multiple=True,
              help="The consumer group (repeatable with --status and --prometheus-port, "
                   "which watch every group without it).")
@click.option("--topic", "topics", multiple=True,
              help="Only these topics (all their partitions, committed or not); repeatable.")
@click.option("--watch", is_flag=True, help="Keep refreshing until interrupted (Ctrl-C).")
@click.option("--interval", type=click.FloatRange(0), default=5.0, show_default=True,
              help="Seconds between refreshes with --watch.")
@click.option("--until-zero", is_flag=True,
              help="Stop once the total lag is zero (implies --watch); exit 1 if "
                   "--max-iterations runs out first.")
@click.option("--max-iterations", type=click.IntRange(1), default=None,
              help="Stop after this many refreshes.")
@click.option("--prometheus-port", type=click.IntRange(0, 65535), default=None,
              help="Serve kafka_exporter-style lag metrics and Burrow-style status at "
                   "http://HOST:PORT/metrics, polling every --interval seconds.")
@click.option("--prometheus-host", default="127.0.0.1", show_default=True,
              help="Interface for --prometheus-port (0.0.0.0: all).")
@click.option("--status", "show_status", is_flag=True,
              help="Burrow-style status per partition and group (OK, WARN, STALL, STOP, "
                   "REWIND; groups OK, WARN, ERR) from --samples looks, --interval apart.")
@click.option("--samples", type=click.IntRange(2), default=5, show_default=True,
              help="Looks before --status reports.")
@click.option("--window", type=click.IntRange(2), default=10, show_default=True,
              help="Offsets per partition in the status window (Burrow's intervals).")
@format_option(keys=LAG_KEYS)
@cluster_options
def lag(
    config: ClientConfig,
    groups: tuple[str, ...],
    topics: tuple[str, ...],
    watch: bool,
    interval: float,
    until_zero: bool,
    max_iterations: int | None,
    prometheus_port: int | None,
    prometheus_host: str,
    show_status: bool,
    samples: int,
    window: int,
    fmt: str,
) -> None:
    """Show a group's lag: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG,
    then the total lag, progress towards zero since the first look, the rate at
    which the group commits, and the time left at the pace seen so far.

    A partition with no committed offset shows '-' and does not count in the total.
    """
    if prometheus_port is not None:
        return _lag_extra.serve(
            config, list(groups), prometheus_port, prometheus_host, interval, window
        )
    if show_status:
        return _lag_extra.show_status(config, list(groups), interval, samples, window, watch)
    if len(groups) != 1:
        raise click.ClickException("give one --group (several only with --status or "
                                   "--prometheus-port)")
    group = groups[0]
    watch = watch or until_zero
    tracker = LagTracker()
    console = Console(highlight=False)
    live = (Live(console=console, auto_refresh=False)
            if watch and console.is_terminal and fmt == "table" else None)
    iterations = 0
    progress: LagProgress | None = None
    try:
        if live is not None:
            live.start()
        while True:
            snap = lag_snapshot(config, group, list(topics) or None)
            progress = tracker.update(snap)
            iterations += 1
            if fmt == "json":
                # One compact object per refresh: JSON lines under --watch.
                click.echo(json.dumps(_json_doc(snap, progress), separators=(",", ":")))
            elif fmt == "csv":
                emit_csv_rows(iterations == 1, snap)
            elif live is not None:
                live.update(_live_view(snap, progress), refresh=True)
            else:
                if iterations > 1:
                    click.echo()
                print_table(LAG_COLUMNS, _rows(snap), console)
                click.echo(summary_line(progress))
            if not watch:
                return
            if until_zero and progress.done:
                return
            if max_iterations is not None and iterations >= max_iterations:
                break
            time.sleep(interval)
    finally:
        if live is not None:
            live.stop()
    if until_zero and progress is not None and not progress.done:
        raise click.ClickException(
            f"lag of group '{group}' is still {progress.lag} after {iterations} checks"
        )

