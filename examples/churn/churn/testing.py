"""Running the pipeline as a process under test: :class:`PipelineProcess`.

The scenario suite (``examples/churn/tests``) starts ``python -m churn run`` with
this, reads its JSON log and scrapes its ``/metrics``, and stops it the ways an
operator or a crash would: SIGTERM, SIGKILL, or letting ``--max-messages`` run out.
Every wait polls with a deadline (``streamtest.eventually``); nothing sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from streamtest import Cluster, KafkaRecord, eventually
from streamtest.ops.client import ClientConfig
from streamtest.ops.lag import lag_snapshot

#: examples/churn, the directory that holds the ``churn`` package.
CHURN_DIR = Path(__file__).resolve().parents[1]

#: Seconds any single wait may take before the test fails.
DEADLINE = 30.0


class ProcessExited(AssertionError):
    """The pipeline process ended while a test was waiting for it."""


class PipelineProcess:
    """One ``python -m churn run`` process, its JSON log and its metrics endpoint.

    Args:
        args: the arguments after ``run``.
        log_path: where its stderr (JSON log lines) goes.
        metrics_path: where :meth:`terminate` saves a last ``/metrics`` snapshot.
    """

    def __init__(self, args: list[str], log_path: Path, metrics_path: Path | None = None) -> None:
        self.args = args
        self.log_path = log_path
        self.metrics_path = metrics_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    def start(self) -> PipelineProcess:
        """Start the process and return once its metrics endpoint is up."""
        # The pipeline is not installed: it runs from its directory, on PYTHONPATH.
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(
                [str(CHURN_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        )
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "churn", "run", *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                cwd=CHURN_DIR,
            )
        started = self.wait_for_log("pipeline started")
        self._port = started.get("metrics_port")
        return self

    @property
    def pid(self) -> int:
        """Return the process id."""
        assert self.proc is not None
        return self.proc.pid

    # -- logs --------------------------------------------------------------------------

    def log_events(self) -> list[dict[str, Any]]:
        """Return the JSON log lines written so far (librdkafka's own stderr lines,
        which are not JSON, are skipped)."""
        events = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass  # a line being written right now
        return events

    def wait_for_log(self, message: str, timeout: float = DEADLINE) -> dict[str, Any]:
        """Wait until the process logs ``message``; return that log event.

        Raises:
            AssertionError: it did not within ``timeout``, or the process exited.
        """

        def logged() -> dict[str, Any] | None:
            for event in self.log_events():
                if event.get("message") == message:
                    return event
            if self.proc is not None and self.proc.poll() is not None:
                raise ProcessExited(
                    f"pipeline exited ({self.proc.returncode}) before "
                    f"logging {message!r}; log: {self.log_path}"
                )
            return None

        return eventually(logged, timeout=timeout, reraise=(ProcessExited,))

    # -- metrics -----------------------------------------------------------------------

    def scrape(self) -> str:
        """Return the text of ``/metrics``."""
        assert self._port is not None, "the pipeline serves no metrics"
        with urllib.request.urlopen(f"http://127.0.0.1:{self._port}/metrics", timeout=5) as r:
            return r.read().decode()

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Return every sample of ``/metrics`` as ``{(name, labels): value}``."""
        from prometheus_client.parser import text_string_to_metric_families

        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(self.scrape())
            for s in family.samples
        }

    def metric(self, name: str, **labels: str) -> float:
        """Return the sum of the samples called ``name`` whose labels include
        ``labels`` (0 if there are none)."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.metrics().items() if n == name and wanted <= ls)

    def wait_processed(self, count: int, timeout: float = DEADLINE) -> None:
        """Wait until ``messages_processed_total`` (all statuses) reaches ``count``."""
        eventually(lambda: self.metric("messages_processed_total") >= count, timeout=timeout)

    # -- ending ------------------------------------------------------------------------

    def terminate(self, timeout: float = DEADLINE) -> int:
        """Save a last metrics snapshot, send SIGTERM, and return the exit status once
        the process has exited."""
        assert self.proc is not None
        if self.proc.poll() is None:
            if self.metrics_path is not None and self._port is not None:
                self.metrics_path.write_text(self.scrape())
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> int:
        """SIGKILL the process; return its exit status (``-9``)."""
        assert self.proc is not None
        self.proc.kill()
        return self.proc.wait(timeout=DEADLINE)

    def wait_exit(self, timeout: float = DEADLINE) -> int:
        """Wait for the process to exit on its own; return its exit status."""
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def peak_rss_kib(self) -> int | None:
        """Return the process's peak resident set size so far (``VmHWM``), in KiB, or
        ``None`` where ``/proc`` does not say (not Linux)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None


#: The ``pipeline`` fixture: ``pipeline(*args) -> PipelineProcess``.
StartPipeline = Callable[..., PipelineProcess]


# -- reading what the pipeline wrote --------------------------------------------------------


def values(records: Sequence[KafkaRecord]) -> list[dict[str, Any]]:
    """Return the JSON values of ``records``."""
    return [json.loads(r.value) for r in records if r.value is not None]


def wait_records(
    cluster: Cluster,
    topic: str,
    count: int,
    *,
    isolation_level: Literal["read_uncommitted", "read_committed"] = "read_uncommitted",
) -> list[KafkaRecord]:
    """Wait until ``topic`` holds at least ``count`` records; return them all."""
    seen: list[KafkaRecord] = []

    def enough() -> bool:
        seen[:] = cluster.records(topic, isolation_level=isolation_level)
        return len(seen) >= count

    eventually(enough, timeout=DEADLINE)
    return seen


def group_lag(cluster: Cluster, group: str, topic: str) -> int:
    """Return the group's total lag on ``topic``, from its committed offsets.

    A partition without a committed offset counts in full: the pipeline starts there
    from the beginning (``auto.offset.reset=earliest``), and these topics are never
    truncated, so the log start is 0.
    """
    snap = lag_snapshot(ClientConfig(cluster.bootstrap_servers), group, [topic])
    return sum(p.log_end_offset if p.committed is None else p.lag or 0 for p in snap.partitions)
