"""``streamtest bench``: produce, consume and end-to-end load tests, and ``compare``.

Each run shows a live view (per interval: records/s, MB/s, p50, p99, max, errors)
on stderr, then the final figures on stdout; ``--json`` and ``--html`` write them.
Ctrl-C stops the run, and what was measured until then is still printed and
written (exit status 130).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from click.core import ParameterSource
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..ops.client import ClientConfig
from ..ops.errors import InvalidInputError
from ._app import main
from ._ops_options import cluster_options

F = TypeVar("F", bound=Callable[..., Any])

#: CLI parameter -> BenchConfig field, for the options a workload file may also set.
_FIELDS = {
    "topic": "topic",
    "topics": "topics",
    "records": "records",
    "duration": "duration_s",
    "record_size": "record_size",
    "producers": "producers",
    "consumers": "consumers",
    "subscriptions": "subscriptions",
    "rate": "rate",
    "batch_size": "batch_size",
    "linger_ms": "linger_ms",
    "acks": "acks",
    "compression": "compression",
    "keys": "keys",
    "partitions": "partitions",
    "replication_factor": "replication_factor",
    "group": "group",
    "interval": "interval_s",
}


def _options(fn: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        fn = option(fn)
    return fn


def common_options(fn: F) -> F:
    """Options every run takes."""
    return _options(
        fn,
        [
            click.option(
                "--topic",
                default="streamtest-bench",
                show_default=True,
                help="Topic (created if missing).",
            ),
            click.option(
                "--topics",
                type=int,
                default=1,
                show_default=True,
                help="Number of topics: TOPIC-0 ... TOPIC-(N-1).",
            ),
            click.option(
                "--records",
                type=int,
                default=None,
                help="Records in total [default: 100000, unless --duration].",
            ),
            click.option(
                "--duration",
                type=float,
                default=None,
                metavar="SECONDS",
                help="Run this long instead of a record count.",
            ),
            click.option(
                "--record-size",
                type=int,
                default=1024,
                show_default=True,
                metavar="BYTES",
                help="Bytes of each record's value.",
            ),
            click.option(
                "--keys",
                type=int,
                default=None,
                metavar="N",
                help="Key records, cycling through N distinct keys.",
            ),
            click.option(
                "--partitions",
                type=int,
                default=1,
                show_default=True,
                help="Partitions of a topic it creates.",
            ),
            click.option(
                "--replication-factor",
                type=int,
                default=-1,
                show_default=True,
                help="Replication factor of a topic it creates (-1: broker default).",
            ),
            click.option(
                "--interval",
                type=float,
                default=1.0,
                show_default=True,
                metavar="SECONDS",
                help="Length of the reported intervals.",
            ),
            click.option(
                "--workload",
                type=click.Path(dir_okay=False),
                default=None,
                help="YAML workload (OpenMessaging Benchmark keys or streamtest's); "
                "options given on the command line win.",
            ),
            click.option(
                "--json",
                "json_path",
                type=click.Path(dir_okay=False),
                default=None,
                help="Write the result as JSON here.",
            ),
            click.option(
                "--html",
                "html_path",
                type=click.Path(dir_okay=False),
                default=None,
                help="Write an HTML page with throughput and latency charts here.",
            ),
            click.option(
                "--embedded",
                is_flag=True,
                help="Run against a new embedded broker (in its own process) "
                "instead of --bootstrap-server.",
            ),
            click.option("-q", "--quiet", is_flag=True, help="No live view."),
        ],
    )


def producer_options(fn: F) -> F:
    """Options of the producing side."""
    return _options(
        fn,
        [
            click.option(
                "--producers", type=int, default=1, show_default=True, help="Producer processes."
            ),
            click.option(
                "--rate",
                type=float,
                default=None,
                metavar="RECORDS/S",
                help="Records per second over all producers [default: unlimited].",
            ),
            click.option(
                "--batch-size",
                type=int,
                default=None,
                metavar="BYTES",
                help="librdkafka batch.size.",
            ),
            click.option(
                "--linger-ms",
                type=float,
                default=None,
                help="librdkafka linger.ms [default: librdkafka's, 5].",
            ),
            click.option("--acks", default="all", show_default=True, help="0, 1 or all."),
            click.option(
                "--compression",
                default="none",
                show_default=True,
                help="none, gzip, snappy, lz4 or zstd.",
            ),
            click.option(
                "--producer-prop",
                "producer_props",
                multiple=True,
                metavar="K=V",
                help="Extra librdkafka producer property; repeatable.",
            ),
        ],
    )


def consumer_options(fn: F) -> F:
    """Options of the consuming side."""
    return _options(
        fn,
        [
            click.option(
                "--consumers",
                type=int,
                default=1,
                show_default=True,
                help="Consumer processes (in each group).",
            ),
            click.option(
                "--subscriptions",
                type=int,
                default=1,
                show_default=True,
                help="Consumer groups reading the topics.",
            ),
            click.option(
                "--group", default=None, help="Consumer group id [default: a new one per run]."
            ),
            click.option(
                "--consumer-prop",
                "consumer_props",
                multiple=True,
                metavar="K=V",
                help="Extra librdkafka consumer property; repeatable.",
            ),
        ],
    )


@main.group("bench")
def bench() -> None:
    """Load-test Kafka: produce, consume or end-to-end, with HDR latency percentiles.

    Works against any Kafka (--bootstrap-server, --command-config) or a new
    embedded broker (--embedded).
    """


def _props(items: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"{what} must be KEY=VALUE, not {item!r}")
        out[key.strip()] = value.strip()
    return out


def _build_config(mode: str, config: ClientConfig, params: dict[str, Any]) -> Any:
    """Return the BenchConfig of the command line and the workload file, if any."""
    from ..bench import BenchConfig, load_workload

    ctx = click.get_current_context()
    explicit = {
        name
        for name in _FIELDS
        if name in params
        and ctx.get_parameter_source(name)
        in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    }
    settings: dict[str, Any] = {}
    for name, field in _FIELDS.items():
        if name in params:
            settings[field] = params[name]
    cfg = BenchConfig(
        mode=mode,  # type: ignore[arg-type]
        client=config,
        producer_properties=_props(params.get("producer_props", ()), "--producer-prop"),
        consumer_properties=_props(params.get("consumer_props", ()), "--consumer-prop"),
        **settings,
    )
    if params.get("workload"):
        workload = load_workload(params["workload"])
        cfg = workload.apply(cfg, {_FIELDS[name] for name in explicit})
    return cfg.validate()


# -- live view ----------------------------------------------------------------------------


class LiveView:
    """The per-interval table on stderr: live on a terminal, one line each otherwise."""

    COLUMNS = ("TIME", "ROLE", "RECORDS/S", "MB/S", "P50 MS", "P99 MS", "MAX MS", "ERRORS")

    def __init__(self, console: Console, quiet: bool, keep: int = 15) -> None:
        self.console = console
        self.quiet = quiet
        self.rows: list[tuple[str, ...]] = []
        self.keep = keep
        self.status = ""
        self.live: Live | None = None
        if not quiet and console.is_terminal:
            self.live = Live(console=console, auto_refresh=False, transient=False)

    def __enter__(self) -> LiveView:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def on_status(self, message: str) -> None:
        """Show a progress note."""
        self.status = message
        if self.live is not None:
            self.live.update(self._render(), refresh=True)
        elif not self.quiet:
            click.echo(f"[bench] {message}", err=True)

    def on_interval(self, role: str, s: Any) -> None:
        """Show one finished interval."""
        row = (
            f"{s.t_s:g}s",
            role,
            f"{s.records_per_s:,.0f}",
            f"{s.mb_per_s:.2f}",
            _ms(s.p50_ms),
            _ms(s.p99_ms),
            _ms(s.max_ms),
            str(s.errors),
        )
        self.rows.append(row)
        if self.live is not None:
            self.live.update(self._render(), refresh=True)
        elif not self.quiet:
            click.echo(
                f"[bench] t={row[0]} {role}: {row[2]} records/s {row[3]} MB/s "
                f"p50={row[4]}ms p99={row[5]}ms max={row[6]}ms errors={row[7]}",
                err=True,
            )

    def _render(self) -> Group:
        table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0))
        for name in self.COLUMNS:
            table.add_column(name, header_style="bold", justify="right", no_wrap=True)
        for row in self.rows[-self.keep :]:
            table.add_row(*row)
        return Group(Text(self.status, style="dim"), table)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_result(result: Any, console: Console) -> None:
    """Print the final figures."""
    data = result.to_json()
    lat = data["latency_ms"]
    what = {"produce": "acknowledged", "consume": "consumed", "e2e": "consumed"}[result.mode]
    kind = {
        "produce": "produce (send to ack)",
        "consume": "consume (wait per poll that returned records)",
        "e2e": "end to end (send to receive)",
    }[result.mode]
    table = Table(
        title=f"streamtest bench {result.mode}",
        box=None,
        pad_edge=False,
        padding=(0, 2, 0, 0),
        title_justify="left",
    )
    table.add_column("METRIC", no_wrap=True)
    table.add_column("VALUE", justify="right", no_wrap=True)
    table.add_row(f"records {what}", f"{data['records']:,}")
    if result.produced is not None:
        table.add_row("records produced", f"{result.produced:,}")
    table.add_row("errors", f"{data['errors']:,}")
    table.add_row("duration s", f"{data['duration_s']:.3f}")
    table.add_row("records/s", f"{data['throughput']['records_per_s']:,.1f}")
    table.add_row("MB/s", f"{data['throughput']['mb_per_s']:.3f}")
    for key in ("p50", "p95", "p99", "p99_9", "max", "mean"):
        table.add_row(f"latency {key.replace('_', '.')} ms", _ms(lat[key]))
    console.print(table)
    console.print(f"latency: {kind}", highlight=False)
    for message in result.error_messages:
        console.print(f"error: {message}", highlight=False)
    if result.interrupted:
        console.print("interrupted: the figures cover the part that ran", highlight=False)


@contextmanager
def _target(embedded: bool, config: ClientConfig) -> Iterator[ClientConfig]:
    if not embedded:
        yield config
        return
    from ..embedded import EmbeddedKafka

    with EmbeddedKafka(mode="process") as kafka:
        yield ClientConfig(kafka.bootstrap_servers, {}, config.timeout)


def _run(mode: str, config: ClientConfig, params: dict[str, Any]) -> None:
    import dataclasses

    from ..bench import run_config
    from ..bench.report import write_html

    err = Console(stderr=True, highlight=False)
    out = Console(highlight=False)
    cfg = _build_config(mode, config, params)  # bad options fail before anything starts
    with _target(params["embedded"], config) as client:
        view = LiveView(err, params["quiet"])
        with view:
            result = run_config(
                dataclasses.replace(cfg, client=client), view.on_interval, view.on_status
            )
    print_result(result, out)
    if params.get("json_path"):
        result.write_json(params["json_path"])
    if params.get("html_path"):
        write_html(result, params["html_path"], f"streamtest bench {mode}: {cfg.topic}")
    if result.interrupted:
        sys.exit(130)


@bench.command("produce")
@common_options
@producer_options
@cluster_options
def bench_produce(config: ClientConfig, **params: Any) -> None:
    """Produce records as fast as possible (or at --rate) and measure acknowledgement
    latency per record."""
    _run("produce", config, params)


@bench.command("consume")
@common_options
@consumer_options
@cluster_options
def bench_consume(config: ClientConfig, **params: Any) -> None:
    """Consume --records records with a consumer group (the topic is filled first if it
    holds fewer), or consume for --duration."""
    _run("consume", config, params)


@bench.command("e2e")
@common_options
@producer_options
@consumer_options
@cluster_options
def bench_e2e(config: ClientConfig, **params: Any) -> None:
    """Produce and consume together; latency is from send to receive, carried in each
    record's first 8 bytes."""
    _run("e2e", config, params)


@bench.command("compare")
@click.argument("a", type=click.Path(dir_okay=False))
@click.argument("b", type=click.Path(dir_okay=False))
def bench_compare(a: str, b: str) -> None:
    """Compare two --json results side by side: A, B, B/A and whether B is better."""
    from ..bench import compare, load_result
    from ._ops_options import user_input

    first = user_input(lambda: load_result(a))
    second = user_input(lambda: load_result(b))
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0))
    for name, justify in (
        ("METRIC", "left"),
        ("A", "right"),
        ("B", "right"),
        ("B/A", "right"),
        ("B IS", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in compare(first, second):
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        table.add_row(row.name, _num(row.a), _num(row.b), ratio, row.verdict)
    console = Console(highlight=False)
    console.print(f"A: {a}\nB: {b}")
    console.print(table)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
