"""``streamtest lag --prometheus-port`` (the lag exporter) and ``--status`` (Burrow-style
status per group and partition); the plain lag table stays in ``cmd_lag.py``."""

from __future__ import annotations

import signal
import threading
import time

import click
from rich.console import Console

from ..ops.client import ClientConfig
from ..ops.lag_exporter import LagExporter, LagMonitor, LagPoll
from ..ops.render import print_table

STATUS_COLUMNS = (
    "GROUP",
    "TOPIC",
    "PARTITION",
    "CURRENT-OFFSET",
    "LOG-END-OFFSET",
    "LAG",
    "OWNED",
    "STATUS",
)


def serve(
    config: ClientConfig, groups: list[str], port: int, host: str, interval: float, window: int
) -> None:
    """Serve the exporter until SIGINT or SIGTERM."""
    exporter = LagExporter(LagMonitor(config, groups or None, window), interval)
    try:
        bound = exporter.start(port, host)
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve metrics on {host}:{port}: {exc.strerror}"
        ) from None
    if exporter.last_error:
        click.echo(f"WARN: first poll failed: {exporter.last_error}", err=True)
    watched = ", ".join(groups) if groups else "all groups"
    click.echo(
        f"serving lag of {watched} at http://127.0.0.1:{bound}/metrics (every {interval:g}s)",
        err=True,
    )
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        exporter.stop()


def _rows(poll: LagPoll) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for view in poll.groups:
        for p in view.partitions:
            rows.append(
                (
                    view.group,
                    p.tp.topic,
                    p.tp.partition,
                    p.committed,
                    p.log_end_offset,
                    p.lag,
                    "yes" if p.owned else "no",
                    p.status.name,
                )
            )
    return rows


def show_status(
    config: ClientConfig, groups: list[str], interval: float, samples: int, window: int, watch: bool
) -> None:
    """Sample ``samples`` times, ``interval`` apart, then print each partition's and each
    group's status; with ``watch``, keep sampling and printing."""
    monitor = LagMonitor(config, groups or None, max(window, 2))
    console = Console(highlight=False)
    taken = 0
    while True:
        poll = monitor.poll()
        taken += 1
        if taken >= samples:
            if taken > samples:
                click.echo()
            print_table(STATUS_COLUMNS, _rows(poll), console)
            for view in poll.groups:
                click.echo(
                    f"GROUP {view.group}: {view.status.name} (state {view.state}, "
                    f"{view.members} members, total lag {view.total_lag})"
                )
            if not watch:
                return
        elif taken == 1:
            click.echo(f"sampling offsets {samples} times, {interval:g}s apart ...", err=True)
        time.sleep(interval)
