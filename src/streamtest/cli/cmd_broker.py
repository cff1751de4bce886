"""``streamtest broker``: run the embedded cluster in the foreground."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any

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
@click.option("--control-port", default=None, type=click.IntRange(0, 65535),
              help="Port of the control endpoint for `streamtest cluster` (loopback; "
              "default PORT+10000, or a free port with --port 0).")
@click.option("--schema-registry-port", type=click.IntRange(0, 65535), default=None,
              help="Also serve a Confluent-compatible schema registry on this port "
                   "(0 picks a free one); its URL is printed after the bootstrap address.")
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
    control_port: int | None,
    schema_registry_port: int | None,
    verbose: int,
    log_format: str,
    metrics_port: int | None,
) -> None:
    """Run a Kafka-compatible cluster in the foreground until SIGINT or SIGTERM.

    Prints the bootstrap list (every node's host:port) on one line once all
    nodes accept connections, then, with --schema-registry-port, the schema
    registry's URL on the next; the control endpoint that `streamtest cluster` uses
    (and, with --metrics-port, the metrics URL) on stderr.
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
            raise click.ClickException(_data_dir_error(data_dir, exc)) from None
        try:
            await cluster.start()
        except OSError as exc:
            if data_dir is not None and exc.filename is not None:
                raise click.ClickException(_data_dir_error(data_dir, exc)) from None
            raise click.ClickException(
                f"cannot listen on {host}:{port} (or the control port {wanted}): "
                f"{exc.strerror or exc}"
            ) from None
        endpoint = cluster.control_endpoint
        assert endpoint is not None
        if metrics_port is not None:
            from ..broker.metrics import enable_metrics

            try:
                metrics = enable_metrics(cluster, metrics_port, host)
            except OSError as exc:
                await cluster.stop()
                raise click.ClickException(
                    f"cannot serve metrics on {host}:{metrics_port}: {exc.strerror}"
                ) from exc
            _notice(f"metrics: http://{host}:{metrics.port}/metrics", log_format)
        click.echo(cluster.bootstrap_servers, nl=True)
        registry = None
        if schema_registry_port is not None:
            registry = _start_registry(cluster.bootstrap_servers, host, schema_registry_port)
            click.echo(registry.url, nl=True)
        sys.stdout.flush()
        _notice(
            f"control endpoint {endpoint.address} "
            f"(streamtest cluster --control {endpoint.address} status)",
            log_format,
        )
        await stop.wait()
        if registry is not None:
            await asyncio.get_running_loop().run_in_executor(None, registry.stop)
        await cluster.stop()
        _notice("broker stopped", log_format)

    asyncio.run(run())


def _start_registry(bootstrap: str, host: str, port: int) -> Any:
    """Start the schema registry against the broker we just started, or exit with one
    line naming the problem."""
    try:
        from ..registry import SchemaRegistry
    except ImportError as exc:
        raise click.ClickException(
            f"the schema registry needs the registry extra ({exc.name} is missing): "
            "pip install 'streamtest[registry]'"
        ) from None
    try:
        return SchemaRegistry(bootstrap, host, port).start()
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port} for the schema registry: {exc.strerror}"
        ) from None


def _data_dir_error(data_dir: str | None, exc: OSError) -> str:
    """Return one line naming the data directory (and the file inside it) that failed."""
    where = exc.filename if exc.filename is not None else data_dir
    inside = "" if where == data_dir else f" ({where})"
    return f"cannot use data directory {data_dir}{inside}: {exc.strerror or exc}"


def _notice(message: str, log_format: str) -> None:
    """Tell the operator something on stderr: a line of text, or with
    ``--log-format json`` a JSON line like every other line there."""
    if log_format == "json":
        from ..broker.observe import JsonFormatter

        record = logging.makeLogRecord(
            {"name": "streamtest.cli", "levelno": logging.INFO, "levelname": "INFO",
             "msg": message}
        )
        click.echo(JsonFormatter().format(record), err=True)
    else:
        click.echo(message, err=True)
