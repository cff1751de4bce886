"""``streamtest broker``: run the embedded cluster in the foreground."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import click

from ._app import main


def _settings(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    from ..broker.config import BrokerSettings, ConfigError, parse_setting_line

    out: dict[str, str] = {}
    for line in values:
        try:
            key, value = parse_setting_line(line)
            BrokerSettings({key: value})
        except ConfigError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
        out[key] = value
    return out


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=9092, show_default=True, type=click.IntRange(0, 65535),
              help="Port of node 0; node i binds PORT+i (0 picks free ports).")
@click.option("--brokers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Number of nodes in the cluster.")
@click.option("--partitions", default=None, type=click.IntRange(1, 100_000),
              help="Partitions of auto-created topics (num.partitions).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Persist the cluster here; without it everything stays in memory.")
@click.option("--no-auto-create-topics", is_flag=True,
              help="Refuse unknown topics (auto.create.topics.enable=false).")
@click.option("--advertised-host", default=None, help="Host to advertise in Metadata.")
@click.option("--setting", "settings", multiple=True, callback=_settings, metavar="KEY=VALUE",
              help="A broker setting in Kafka's name, e.g. log.retention.ms=60000 "
              "(repeatable).")
@click.option("-v", "--verbose", count=True,
              help="Log connections and errors; -vv also logs every request.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="json: one JSON object per line, with request_id and client_id.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Serve Prometheus metrics at http://HOST:PORT/metrics (0 picks a port).")
def broker(
    host: str,
    port: int,
    brokers: int,
    partitions: int | None,
    data_dir: str | None,
    no_auto_create_topics: bool,
    advertised_host: str | None,
    settings: dict[str, str],
    verbose: int,
    log_format: str,
    metrics_port: int | None,
) -> None:
    """Run a Kafka-compatible cluster in the foreground until SIGINT or SIGTERM.

    Prints the bootstrap list (every node's host:port) on one line once all
    nodes accept connections (and, with --metrics-port, the metrics URL on stderr).
    """
    from ..broker.cluster import Cluster
    from ..broker.observe import configure_logging

    levels = {0: logging.WARNING, 1: logging.INFO}
    configure_logging(levels.get(verbose, logging.DEBUG), log_format, sys.stderr)
    if partitions is not None:
        settings["num.partitions"] = str(partitions)
    if no_auto_create_topics:
        settings["auto.create.topics.enable"] = "false"

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            cluster = Cluster(
                brokers=brokers,
                settings=settings,
                host=host,
                port=port,
                advertised_host=advertised_host,
                data_dir=data_dir,
            )
        except OSError as exc:
            raise click.ClickException(
                f"cannot use data dir {exc.filename or data_dir}: {exc.strerror or exc}"
            ) from exc
        try:
            await cluster.start()
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from exc
        if metrics_port is not None:
            from ..broker.metrics import enable_metrics

            try:
                metrics = enable_metrics(cluster, metrics_port, host)
            except OSError as exc:
                await cluster.stop()
                raise click.ClickException(
                    f"cannot serve metrics on {host}:{metrics_port}: {exc.strerror}"
                ) from exc
            click.echo(f"metrics: http://{host}:{metrics.port}/metrics", err=True)
        click.echo(cluster.bootstrap_servers, nl=True)
        sys.stdout.flush()
        await stop.wait()
        await cluster.stop()
        click.echo("broker stopped", err=True)

    asyncio.run(run())
