"""Prometheus metrics of the pipeline, served over HTTP.

- ``messages_processed_total{status}``: records handled, by outcome (``success``:
  a prediction was written; ``deadletter``: the record went to the dead-letter
  topic);
- ``message_processing_latency_seconds``: per record, from taking it off the
  consumer to its output being acknowledged by the broker;
- ``consumer_lag_messages{topic,partition}``: the log end offset minus the
  pipeline's committed offset, per assigned partition;
- ``churn_batch_size``: records per batch (the backpressure bound is visible here);
- ``sink_upserts_total{result}``: ``applied``, or ``stale`` when the sink already
  held that version or a newer one.

Each pipeline owns a :class:`~prometheus_client.CollectorRegistry` rather than
using the global one, so several pipelines can live in one process (in unit tests)
without clashing registrations.
"""

from __future__ import annotations

import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.process_collector import ProcessCollector

#: Latency buckets in seconds: a batch on a local broker takes milliseconds; the
#: upper buckets catch a slow broker or database.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 10, 25, 50, 100, 250, 500, 1000)


class PipelineMetrics:
    """The pipeline's metrics and, once :meth:`serve` is called, their HTTP endpoint."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # process_resident_memory_bytes and friends (Linux only; a no-op elsewhere).
        ProcessCollector(registry=self.registry)
        self.processed = Counter(
            "messages_processed",
            "Records handled, by outcome.",
            ["status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "message_processing_latency_seconds",
            "Seconds from taking a record off the consumer to its output being acknowledged.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.lag = Gauge(
            "consumer_lag_messages",
            "Log end offset minus the committed offset, per assigned input partition.",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "churn_batch_size",
            "Records per processed batch.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.upserts = Counter(
            "sink_upserts",
            "Sink writes: applied, or stale (an equal or newer version held).",
            ["result"],
            registry=self.registry,
        )
        # Export zeros from the start, so a scrape before the first record shows them.
        for status in ("success", "deadletter"):
            self.processed.labels(status=status)
        for result in ("applied", "stale"):
            self.upserts.labels(result=result)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``host:port`` (0 picks a free port); return the port.

        Raises:
            OSError: the port cannot be bound.
        """
        # prometheus_client's start_http_server would do, but its serve_forever()
        # checks for shutdown every 0.5 s, which every clean stop would then wait out.
        self._server = make_server(
            host,
            port,
            make_wsgi_app(self.registry),
            ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="churn-metrics",
            daemon=True,
        )
        self._thread.start()
        return int(self._server.server_port)

    def close(self) -> None:
        """Stop the HTTP endpoint, if it was started."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def set_lag(self, topic: str, partition: int, lag: int) -> None:
        """Record ``lag`` for one partition."""
        self.lag.labels(topic=topic, partition=str(partition)).set(lag)

    def forget_lag(self, topic: str, partition: int) -> None:
        """Drop a partition's lag series (it was revoked: another instance owns it)."""
        try:
            self.lag.remove(topic, str(partition))
        except KeyError:
            pass


class _QuietHandler(WSGIRequestHandler):
    """Serves requests without logging each one to stderr (our logs are JSON)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Log nothing."""
