"""Load testing for Kafka and for pipelines: ``streamtest bench`` as a Python API.

* :func:`run`: produce, consume or end-to-end benchmarks against any Kafka (or the
  embedded broker), with HDR latency histograms merged across worker processes;
* :class:`StreamingPerformanceTest`: time your own pipeline steps inside a test
  (``start_test``, ``record_event(latency_ms, success)``, ``calculate_metrics``);
* :func:`load_workload`: OpenMessaging-Benchmark-style YAML workloads;
* :func:`load_result` and :func:`compare`: read ``--json`` results back and compare.

Needs the ``bench`` extra (``pip install 'streamtest[bench]'``) for HdrHistogram,
PyYAML and pygal.
"""

from __future__ import annotations

from typing import Any

from .config import BenchConfig
from .perftest import PerformanceMetrics, StreamingPerformanceTest
from .result import BenchResult, CompareRow, IntervalStats, compare, load_result
from .runner import BenchError, IntervalCallback, StatusCallback
from .runner import run as run_config
from .workload import Workload, load_workload

__all__ = [
    "BenchConfig",
    "BenchError",
    "BenchResult",
    "CompareRow",
    "IntervalStats",
    "PerformanceMetrics",
    "StreamingPerformanceTest",
    "Workload",
    "compare",
    "load_result",
    "load_workload",
    "run",
    "run_config",
]


def run(
    mode: str = "produce",
    *,
    bootstrap_servers: str | None = None,
    config: BenchConfig | None = None,
    on_interval: IntervalCallback | None = None,
    on_status: StatusCallback | None = None,
    **settings: Any,
) -> BenchResult:
    """Run a benchmark and return its :class:`BenchResult`.

    ``settings`` are :class:`BenchConfig` fields (``topic``, ``records``,
    ``duration_s``, ``record_size``, ``producers``, ``consumers``, ``rate``, ...)::

        from streamtest import EmbeddedKafka, bench

        with EmbeddedKafka() as kafka:
            result = bench.run("e2e", bootstrap_servers=kafka.bootstrap_servers,
                               records=50_000, record_size=200)
        print(result.records_per_s, result.latency["p99"])

    Args:
        mode: ``produce``, ``consume`` or ``e2e``.
        bootstrap_servers: the cluster (else ``config.client``, else localhost:9092).
        config: a ready :class:`BenchConfig`; ``mode`` and ``settings`` override it.
        on_interval: called ``(role, IntervalStats)`` once per finished interval.
        on_status: called with one-line progress notes.

    Raises:
        InvalidInputError: a setting is invalid (also for unknown settings).
        BrokerUnreachableError: the cluster cannot be reached.
        BenchError: the topic cannot be prepared or a worker failed.
    """
    import dataclasses

    from ..ops.client import ClientConfig
    from ..ops.errors import InvalidInputError

    base = config or BenchConfig()
    fields = {f.name for f in dataclasses.fields(BenchConfig)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise InvalidInputError(f"unknown bench setting(s): {', '.join(unknown)}")
    cfg = dataclasses.replace(base, mode=mode, **settings)  # type: ignore[arg-type]
    if bootstrap_servers is not None:
        cfg.client = ClientConfig(bootstrap_servers, cfg.client.properties, cfg.client.timeout)
    return run_config(cfg, on_interval, on_status)
