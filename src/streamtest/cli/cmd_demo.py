"""``streamtest demo``: start the embedded broker, run the reference pipeline's
scenario suite against it, and report.

The suite runs in a child pytest process that reaches the broker over a real
socket, exactly as it would reach any Kafka (``--bootstrap-server`` points it at
one). The broker stays in this process, in a thread, so its log and a count of
the requests it served end up in ``reports/broker.log``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import IO, Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..demo import (
    REPORT_ENTRIES,
    REPORT_MARKER,
    SuiteNotFound,
    find_suite,
    parse_result_line,
    pytest_command,
    read_junit,
)
from ._app import main
from ._ops_options import bootstrap_option

#: The consumer group of the pipeline ``--keep`` leaves running.
KEEP_GROUP = "churn-demo"

_STYLE = {"passed": "green", "failed": "bold red", "error": "bold red", "skipped": "yellow"}


@main.command()
@click.option(
    "--keep",
    is_flag=True,
    help="Afterwards, leave the broker and a pipeline running, print how to "
    "inspect them, and wait for Ctrl-C.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Stream pytest's output and log broker requests."
)
@bootstrap_option(help_text="Run the suite against this Kafka instead of the embedded broker.")
@click.option(
    "--reports",
    "reports_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Where JUnit XML, logs and metrics go.",
)
@click.option(
    "-k",
    "select",
    metavar="EXPR",
    default=None,
    help="Only the scenarios matching this pytest -k expression.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 8),
    default=None,
    help="Run the scenario files in this many pytest-xdist workers "
    "(default: 2 when pytest-xdist is installed, else 1).",
)
@click.option(
    "--brokers",
    type=click.IntRange(1, 9),
    default=1,
    show_default=True,
    help="Nodes of the embedded cluster; with 3 or more, topics are replicated "
    "3 times and the failover scenario runs.",
)
@click.option(
    "--suite",
    "suite_dir",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="The reference pipeline (default: ./examples/churn).",
)
def demo(
    keep: bool,
    verbose: bool,
    bootstrap_server: str | None,
    reports_dir: Path,
    select: str | None,
    jobs: int | None,
    brokers: int,
    suite_dir: str | None,
) -> None:
    """Run the reference pipeline's scenario suite on the embedded broker.

    Prints each scenario with its result and duration, then the total; writes
    reports/ (junit.xml, pytest.log, broker.log, pipeline logs, metrics); exits 1
    if any scenario fails.
    """
    started = time.perf_counter()
    console = Console(highlight=False)
    try:
        suite = find_suite(suite_dir)
    except SuiteNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    if importlib.util.find_spec("pytest") is None:
        raise click.ClickException("the scenario suite needs pytest: pip install 'streamtest[dev]'")
    have_xdist = importlib.util.find_spec("xdist") is not None
    if jobs is None:
        # Most of a scenario's time is spent waiting on clients and processes, so
        # two workers roughly halve the run, even on two cores.
        jobs = 2 if have_xdist else 1
    elif jobs > 1 and not have_xdist:
        raise click.ClickException("--jobs needs pytest-xdist: pip install pytest-xdist")
    bootstrap_servers = bootstrap_server
    reports = reports_dir.resolve()
    _clear_reports(reports)

    broker: _DemoBroker | None = None
    if bootstrap_servers is None:
        broker = _DemoBroker(reports / "broker.log", verbose, brokers)
        bootstrap_servers = broker.start()
        what = "embedded broker" if brokers == 1 else f"embedded {brokers}-node cluster"
        console.print(f"{what} on [bold]{bootstrap_servers}[/]")
    else:
        (reports / "broker.log").write_text(
            f"The suite ran against {bootstrap_servers}; its broker logs are its own.\n"
        )
        console.print(f"using the Kafka at [bold]{bootstrap_servers}[/]")

    # SIGTERM ends the demo as Ctrl-C does, stopping the suite and the broker.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        suite_started = time.perf_counter()
        control = broker.control_address if broker is not None else None
        code = _run_suite(
            console, suite, bootstrap_servers, reports, verbose, select, jobs, control
        )
        suite_seconds = time.perf_counter() - suite_started
        results = _report(console, reports, started, suite_seconds, jobs, code, select)
        failed = code != 0 or not results or any(r.outcome in ("failed", "error") for r in results)
        if keep:
            _keep_running(console, suite, bootstrap_servers, reports, broker is not None)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if broker is not None:
            broker.stop()
    if failed:
        raise SystemExit(1)


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _clear_reports(reports: Path) -> None:
    """Remove what an earlier demo run wrote to ``reports``, and nothing else.

    The demo marks a directory it writes with ``REPORT_MARKER``. A directory that
    holds anything else (no marker, and entries the demo never writes) is refused
    rather than cleared: ``--reports ~/work`` must not delete ``~/work/keep``.

    Raises:
        click.ClickException: ``reports`` is a non-empty directory that is not a report.
    """
    if reports.exists() and not reports.is_dir():
        raise click.ClickException(f"--reports {reports} is a file, not a directory")
    if reports.is_dir():
        entries = sorted(p.name for p in reports.iterdir())
        if entries and not _is_demo_report(reports):
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise click.ClickException(
                f"--reports {reports} holds files the demo did not write ({shown}); "
                "give an empty or new directory"
            )
    reports.mkdir(parents=True, exist_ok=True)
    (reports / REPORT_MARKER).write_text(
        "Written by streamtest demo. The demo replaces "
        + ", ".join(REPORT_ENTRIES)
        + " here on each run, and nothing else.\n"
    )
    for name in REPORT_ENTRIES:
        path = reports / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _is_demo_report(reports: Path) -> bool:
    """Return whether ``reports`` was written by the demo: it has the marker, or (a
    report from before the marker) a ``pytest.log`` that starts with the demo's
    own command line."""
    if (reports / REPORT_MARKER).is_file():
        return True
    try:
        with open(reports / "pytest.log", encoding="utf-8", errors="replace") as log:
            first = log.readline()
    except OSError:
        return False
    return first.startswith("$ ") and "--churn-reports" in first


# -- the suite ---------------------------------------------------------------------------


def _run_suite(
    console: Console,
    suite: Path,
    bootstrap_servers: str,
    reports: Path,
    verbose: bool,
    select: str | None,
    jobs: int,
    control: str | None = None,
) -> int:
    """Run the scenario suite in a child pytest; return its exit status."""
    cmd = pytest_command(
        suite, bootstrap_servers, reports, verbose=verbose, select=select, jobs=jobs
    )
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if control:
        # The failover scenario operates the cluster through its control endpoint.
        env["STREAMTEST_CONTROL"] = control
    done: Counter[str] = Counter()
    with open(reports / "pytest.log", "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=suite.parents[1],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        try:
            with console.status("running the scenarios") as status:
                assert proc.stdout is not None
                for line in proc.stdout:
                    log.write(line)
                    if verbose:
                        console.out(line.rstrip("\n"), highlight=False)
                    parsed = parse_result_line(line)
                    if parsed:
                        done[parsed[1]] += 1
                        status.update(
                            f"running the scenarios: {sum(done.values())} done, "
                            f"last {parsed[0]} {parsed[1]}"
                        )
            return proc.wait()
        except BaseException:
            _stop_child(proc)
            raise


def _stop_child(proc: subprocess.Popen[Any]) -> None:
    """Interrupt the child pytest (it then tears its fixtures down), or kill it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _report(
    console: Console,
    reports: Path,
    started: float,
    suite_seconds: float,
    jobs: int,
    code: int,
    select: str | None = None,
) -> list[Any]:
    """Print the results table and the total; return the results."""
    junit = reports / "junit.xml"
    try:
        results = read_junit(junit)
    except (OSError, SyntaxError) as exc:
        console.print(
            f"[bold red]no test report ({exc}); pytest exited with {code}; "
            f"see {reports / 'pytest.log'}[/]"
        )
        return []
    if not results:
        # pytest's exit status 5: nothing was collected (or everything deselected).
        what = f"matches -k {select!r}" if select else "was collected"
        console.print(f"[bold red]no scenario {what}[/]; see {reports / 'pytest.log'}")
        return []
    table = Table(title="churn pipeline scenarios", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("scenario")
    table.add_column("result")
    table.add_column("duration", justify="right")
    for r in results:
        table.add_row(
            str(r.number or ""),
            r.title,
            Text(r.outcome.upper(), _STYLE[r.outcome]),
            f"{r.seconds:.2f} s",
        )
    console.print(table)
    counts = Counter(r.outcome for r in results)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    workers = f"{jobs} workers" if jobs > 1 else "1 worker"
    console.print(
        f"[bold]{summary}[/] in {suite_seconds:.2f} s ({workers}; scenario durations add up "
        f"to {sum(r.seconds for r in results):.2f} s); the demo took "
        f"{time.perf_counter() - started:.2f} s in all, broker start included"
    )
    for r in results:
        if r.outcome in ("failed", "error"):
            first = r.message.splitlines()[0] if r.message else ""
            console.print(f"[red]{r.title}[/]: {first}")
    if code not in (0, 1):  # 1 is "tests failed"; anything else is pytest itself failing
        console.print(f"[bold red]pytest exited with {code}; see {reports / 'pytest.log'}[/]")
    console.print(f"reports in {reports}")
    return results


# -- the broker --------------------------------------------------------------------------


class _DemoBroker:
    """The embedded cluster, logging to ``log_path`` and counting requests per API."""

    def __init__(self, log_path: Path, verbose: bool, brokers: int = 1) -> None:
        self.log_path = log_path
        self.verbose = verbose
        self.brokers = brokers
        self.control_address: str | None = None
        self.requests: Counter[str] = Counter()
        self._handler: logging.Handler | None = None
        self._kafka: Any = None
        self._lock = threading.Lock()

    def start(self) -> str:
        """Start the broker; return its bootstrap address."""
        from ..broker.dispatch import REGISTRY
        from ..embedded import EmbeddedKafka

        self._handler = logging.FileHandler(self.log_path)
        self._handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        logger = logging.getLogger("streamtest.broker")
        logger.addHandler(self._handler)
        logger.setLevel(logging.DEBUG if self.verbose else logging.INFO)
        settings: dict[str, object] = {}
        if self.brokers >= 3:
            # Replicate the pipeline's topics three times, as production does, so
            # the failover scenario loses no acknowledged record when a node dies.
            settings = {"default.replication.factor": 3, "min.insync.replicas": 2}
        self._kafka = EmbeddedKafka(
            brokers=self.brokers, settings=settings, control_port=0
        ).start()
        self.control_address = self._kafka.control_address
        request_log = logger.getChild("requests")

        def count(ctx: Any) -> None:
            spec = REGISTRY.get(ctx.header.api_key)
            name = spec.name if spec else f"api-{ctx.header.api_key}"
            self.requests[name] += 1
            if self.verbose:
                request_log.debug(
                    "%s v%d from %s (%s)",
                    name,
                    ctx.header.api_version,
                    ctx.client_host,
                    getattr(ctx.header, "client_id", ""),
                )

        # An observer only watches, on the broker's loop; it never changes a request.
        self._kafka.call(lambda c: c.observers.append(count))
        return str(self._kafka.bootstrap_servers)

    def stop(self) -> None:
        """Stop the broker and write the request counts to its log."""
        kafka, self._kafka = self._kafka, None
        if kafka is not None:
            kafka.stop()
        if self._handler is not None:
            stream: IO[str] = self._handler.stream
            stream.write(
                "requests served: "
                + ", ".join(f"{name} {n}" for name, n in self.requests.most_common())
                + "\n"
            )
            logging.getLogger("streamtest.broker").removeHandler(self._handler)
            self._handler.close()
            self._handler = None


# -- --keep ------------------------------------------------------------------------------


def _keep_running(
    console: Console, suite: Path, bootstrap_servers: str, reports: Path, own_broker: bool
) -> None:
    """Start the pipeline on the standard topics, feed it a few records, print how
    to look at everything, and wait for Ctrl-C (or SIGTERM); then stop the pipeline.
    """
    keep_dir = reports / "keep"
    keep_dir.mkdir(parents=True, exist_ok=True)
    log_path = reports / "pipeline" / "keep.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(suite), *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    churn = [sys.executable, "-m", "churn"]
    common = ["--bootstrap-server", bootstrap_servers]
    subprocess.run(
        [*churn, "create-topics", *common],
        env=env,
        cwd=suite,
        check=True,
        stderr=subprocess.DEVNULL,
    )
    with open(log_path, "ab") as log:
        pipeline = subprocess.Popen(
            [
                *churn,
                "run",
                *common,
                "--group-id",
                KEEP_GROUP,
                "--db",
                str(keep_dir / "churn.db"),
                "--metrics-port",
                "0",
                "--log-level",
                "DEBUG",
            ],
            env=env,
            cwd=suite,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        port = _wait_for_metrics_port(log_path, pipeline)
        subprocess.run(
            [*churn, "publish", *common, "--count", "20", "--invalid"],
            env=env,
            cwd=suite,
            check=True,
            stderr=subprocess.DEVNULL,
        )
        py = f"PYTHONPATH={suite} {Path(sys.executable).name} -m churn"
        console.print(f"""
[bold]Left running[/] ({"embedded broker and " if own_broker else ""}pipeline pid {pipeline.pid}):
  bootstrap servers  {bootstrap_servers}
  metrics            curl -s http://127.0.0.1:{port}/metrics | grep -E '^(messages|consumer_lag)'
  predictions        streamtest consume -t telco.churn.predictions -o beginning -e \
--bootstrap-server {bootstrap_servers}
  dead letters       streamtest consume -t telco.deadletter -o beginning -e -J \
--bootstrap-server {bootstrap_servers}
  lag                streamtest lag --group {KEEP_GROUP} --bootstrap-server {bootstrap_servers}
  publish more       {py} publish --bootstrap-server {bootstrap_servers} --count 100 --start 100
  sink               sqlite3 {keep_dir / "churn.db"} 'select * from predictions limit 5'
  pipeline log       tail -f {log_path}
Press Ctrl-C to stop.""",
            # One line per command, however narrow the terminal: a wrapped command
            # breaks when pasted.
            soft_wrap=True,
        )
        # Ctrl-C and SIGTERM only set a flag here: a KeyboardInterrupt raised
        # wherever the signal lands (inside Popen.poll, say) can leave a lock held,
        # and stopping the pipeline afterwards then hangs.
        signals: list[int] = []
        previous = {
            sig: signal.signal(sig, lambda signum, _frame: signals.append(signum))
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while pipeline.poll() is None and not signals:
                # Noticing Ctrl-C or a pipeline that died on its own: there is no
                # event to block on for both, so look twice a second.
                time.sleep(0.5)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if signals:
            # Ctrl-C is how --keep is meant to end: the exit status stays the suite's.
            console.print("stopping the pipeline and the broker")
        else:
            console.print(f"[red]the pipeline exited with {pipeline.returncode}; see {log_path}[/]")
    finally:
        if pipeline.poll() is None:
            pipeline.send_signal(signal.SIGTERM)
            try:
                pipeline.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pipeline.kill()
                pipeline.wait(timeout=15)
        if not own_broker:
            _delete_demo_group(bootstrap_servers, KEEP_GROUP)


def _delete_demo_group(bootstrap_servers: str, group: str) -> None:
    """Delete the consumer group ``--keep`` made, so a demo against someone's Kafka
    leaves no group behind (its topics are the pipeline's standard ones and stay)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    try:
        admin.delete_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
    except (KafkaException, TimeoutError) as exc:
        click.echo(f"could not delete consumer group {group}: {exc}", err=True)


def _wait_for_metrics_port(log_path: Path, pipeline: subprocess.Popen[bytes]) -> int:
    """Return the metrics port the pipeline logs once it has started.

    Raises:
        click.ClickException: it exited first, or did not start within 30 s.
    """
    import json

    from ..kit.wait import eventually

    def started() -> int | None:
        if pipeline.poll() is not None:
            raise click.ClickException(
                f"the pipeline exited with {pipeline.returncode}; see {log_path}"
            )
        for line in log_path.read_text(errors="replace").splitlines():
            if '"pipeline started"' in line:
                return int(json.loads(line)["metrics_port"])
        return None

    try:
        return eventually(started, timeout=30, reraise=(click.ClickException,))
    except AssertionError as exc:
        raise click.ClickException(f"the pipeline did not start; see {log_path}") from exc
