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
    from ..broker.config import BrokerSettings, ConfigError, parse, parse_setting_line

    out: dict[str, str] = {}
    try:
        for line in values:
            key, value = parse_setting_line(line)
            parse(BrokerSettings.key(key), value)
            out[key] = value
        # Settings checked against each other (a value and its min/max) once all are in.
        BrokerSettings(out)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
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
@click.option("--control-port", default=None, type=click.IntRange(0, 65535),
              help="Port of the control endpoint for `streamtest cluster` (loopback; "
              "default PORT+10000, or a free port with --port 0).")
@click.option("-v", "--verbose", is_flag=True, help="Log connections and errors.")
def broker(
    host: str,
    port: int,
    brokers: int,
    partitions: int | None,
    data_dir: str | None,
    no_auto_create_topics: bool,
    advertised_host: str | None,
    settings: dict[str, str],
    control_port: int | None,
    verbose: bool,
) -> None:
    """Run a Kafka-compatible cluster in the foreground until SIGINT or SIGTERM.

    Prints the bootstrap list (every node's host:port) on one line once all
    nodes accept connections, and the control endpoint that `streamtest cluster`
    uses on stderr.
    """
    from ..broker.cluster import Cluster

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if partitions is not None:
        settings["num.partitions"] = str(partitions)
    if no_auto_create_topics:
        settings["auto.create.topics.enable"] = "false"

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if control_port is None:
            wanted = port + 10_000 if port and port + 10_000 <= 65535 else 0
        else:
            wanted = control_port
        try:
            cluster = Cluster(
                brokers=brokers,
                settings=settings,
                host=host,
                port=port,
                advertised_host=advertised_host,
                data_dir=data_dir,
                control_port=wanted,
            )
        except OSError as exc:
            raise click.ClickException(
                f"cannot use data dir {exc.filename or data_dir}: {exc.strerror or exc}"
            ) from exc
        try:
            await cluster.start()
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port} (or the control port {wanted}): "
                f"{exc.strerror or exc}"
            ) from exc
        endpoint = cluster.control_endpoint
        assert endpoint is not None
        click.echo(cluster.bootstrap_servers, nl=True)
        sys.stdout.flush()
        click.echo(
            f"control endpoint {endpoint.address} "
            f"(streamtest cluster --control {endpoint.address} status)",
            err=True,
        )
        await stop.wait()
        await cluster.stop()
        click.echo("broker stopped", err=True)

    asyncio.run(run())
