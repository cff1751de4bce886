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
@click.option("-v", "--verbose", is_flag=True, help="Log connections and errors.")
def broker(
    host: str,
    port: int,
    partitions: int,
    data_dir: str | None,
    no_auto_create_topics: bool,
    advertised_host: str | None,
    verbose: bool,
) -> None:
    """Run a Kafka-compatible broker in the foreground until SIGINT or SIGTERM.

    Prints its bootstrap address on one line once it accepts connections.
    """
    from ..broker.core import Broker
    from ..broker.state.cluster import BrokerConfig

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
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
        click.echo(f"{b.host}:{b.port}", nl=True)
        sys.stdout.flush()
        await stop.wait()
        await b.stop()
        click.echo("broker stopped", err=True)

    asyncio.run(run())
