"""``streamtest lag``: a group's lag per partition and in total, with progress
towards zero and a time estimate; ``--watch`` makes it the backfill monitor."""

from __future__ import annotations

import time

import click
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.text import Text

from ..ops.client import ClientConfig
from ..ops.lag import LagProgress, LagSnapshot, LagTracker, lag_snapshot, summary_line
from ..ops.render import cell, print_table
from ._app import main
from ._ops_options import cluster_options

LAG_COLUMNS = ("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG")


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
@click.option("--group", required=True, help="The consumer group.")
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
@cluster_options
def lag(
    config: ClientConfig,
    group: str,
    topics: tuple[str, ...],
    watch: bool,
    interval: float,
    until_zero: bool,
    max_iterations: int | None,
) -> None:
    """Show a group's lag: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG,
    then the total lag, progress towards zero since the first look, the rate at
    which the group commits, and the time left at the pace seen so far.

    A partition with no committed offset shows '-' and does not count in the total.
    """
    watch = watch or until_zero
    tracker = LagTracker()
    console = Console(highlight=False)
    live = Live(console=console, auto_refresh=False) if watch and console.is_terminal else None
    iterations = 0
    progress: LagProgress | None = None
    try:
        if live is not None:
            live.start()
        while True:
            snap = lag_snapshot(config, group, list(topics) or None)
            progress = tracker.update(snap)
            iterations += 1
            if live is not None:
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

