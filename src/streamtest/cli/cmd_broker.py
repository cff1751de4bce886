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
        try:
            b = Broker(config, data_dir)
        except OSError as exc:
            raise click.ClickException(_data_dir_error(data_dir, exc)) from None
        try:
            await b.start()
        except OSError as exc:
            if data_dir is not None and exc.filename is not None:
                raise click.ClickException(_data_dir_error(data_dir, exc)) from None
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        click.echo(f"{b.host}:{b.port}", nl=True)
        sys.stdout.flush()
        await stop.wait()
        await b.stop()
        click.echo("broker stopped", err=True)

    asyncio.run(run())


def _data_dir_error(data_dir: str | None, exc: OSError) -> str:
    """Return one line naming the data directory (and the file inside it) that failed."""
    where = exc.filename if exc.filename is not None else data_dir
    inside = "" if where == data_dir else f" ({where})"
    return f"cannot use data directory {data_dir}{inside}: {exc.strerror or exc}"
