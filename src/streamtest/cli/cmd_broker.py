"""``streamtest broker``: run the embedded broker in the foreground."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import click

from ._app import main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=9092, show_default=True, type=click.IntRange(0, 65535),
              help="Port to bind (0 picks a free one).")
@click.option("--partitions", default=1, show_default=True, type=click.IntRange(1, 100_000),
              help="Partitions of auto-created topics.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Persist the log here; without it everything stays in memory.")
@click.option("--no-auto-create-topics", is_flag=True, help="Refuse unknown topics.")
@click.option("--advertised-host", default=None, help="Host to advertise in Metadata.")
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
    partitions: int,
    data_dir: str | None,
    no_auto_create_topics: bool,
    advertised_host: str | None,
    verbose: int,
    log_format: str,
    metrics_port: int | None,
) -> None:
    """Run a Kafka-compatible broker in the foreground until SIGINT or SIGTERM.

    Prints its bootstrap address on one line once it accepts connections (and,
    with --metrics-port, the metrics URL on stderr).
    """
    from ..broker.core import Broker
    from ..broker.observe import configure_logging
    from ..broker.state.cluster import BrokerConfig

    levels = {0: logging.WARNING, 1: logging.INFO}
    configure_logging(levels.get(verbose, logging.DEBUG), log_format, sys.stderr)
    config = BrokerConfig(
        host=host,
        port=port,
        default_partitions=partitions,
        auto_create_topics=not no_auto_create_topics,
        advertised_host=advertised_host,
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        b = Broker(config, data_dir)
        try:
            await b.start()
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        if metrics_port is not None:
            from ..broker.metrics import enable_metrics

            try:
                metrics = enable_metrics(b, metrics_port, host)
            except OSError as exc:
                await b.stop()
                raise click.ClickException(
                    f"cannot serve metrics on {host}:{metrics_port}: {exc.strerror}"
                ) from exc
            click.echo(f"metrics: http://{host}:{metrics.port}/metrics", err=True)
        click.echo(f"{b.host}:{b.port}", nl=True)
        sys.stdout.flush()
        await stop.wait()
        await b.stop()
        click.echo("broker stopped", err=True)

    asyncio.run(run())
