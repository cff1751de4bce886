"""The churn scenario suite, part 3: load and lag.

9. backpressure (10,000 records in batches of at most 100, bounded memory) and
10. lag monitoring (1,000 before, 0 after, from the group and from /metrics).
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from churn.publisher import sample_customers
from churn.sink import read_predictions
from churn.testing import DEADLINE, StartPipeline, group_lag
from churn.topics import Topics

from streamtest import Cluster, eventually
from streamtest.ops.client import ClientConfig
from streamtest.ops.offsets import commit_offsets
from streamtest.ops.plan import TP

pytestmark = pytest.mark.scenario


def test_09_backpressure(
    churn_cluster: Cluster,
    topics: Topics,
    publish_to: Any,
    pipeline: StartPipeline,
    group_id: str,
    db_path: Path,
) -> None:
    """A backlog of 10,000 records drains in batches of at most 100, with memory that
    stays bounded: the pipeline never holds more than a batch plus a capped prefetch."""
    publish_to(topics.input, sample_customers(10_000, seed=9))
    # Started paused, so its memory can be measured with the backlog waiting.
    run = pipeline("--batch-size", "100", "--start-paused")
    run.wait_for_log("partitions assigned")
    idle_rss = run.peak_rss_kib()
    assert run.proc is not None
    run.proc.send_signal(signal.SIGUSR1)  # resume: drain the backlog

    run.wait_processed(10_000, timeout=60)

    metrics = run.metrics()
    batches = {
        dict(ls).get("le"): v for (n, ls), v in metrics.items() if n == "churn_batch_size_bucket"
    }
    assert batches["100.0"] == batches["+Inf"]  # no batch above 100
    assert metrics[("churn_batch_size_sum", frozenset())] == 10_000
    assert metrics[("churn_batch_size_count", frozenset())] >= 100
    peak_rss = run.peak_rss_kib()
    assert run.terminate() == 0
    eventually(lambda: group_lag(churn_cluster, group_id, topics.input) == 0, timeout=DEADLINE)
    assert len(read_predictions(db_path)) == 10_000
    if idle_rss is not None and peak_rss is not None:
        # The backlog is ~2.5 MB of JSON; holding it all as Python objects would take
        # 20-30 MB. A batch plus librdkafka's prefetch, capped at 2 MB, grows the
        # process by ~5 MB.
        grown = peak_rss - idle_rss
        assert grown < 16 * 1024, f"peak RSS grew by {grown} KiB while draining"


def test_10_lag_monitoring(
    churn_cluster: Cluster,
    topics: Topics,
    publish_to: Any,
    pipeline: StartPipeline,
    group_id: str,
    reports_dir: Path,
) -> None:
    """Lag is 1,000 before processing and 0 after, both from the group's committed
    offsets and from the pipeline's metrics endpoint."""
    publish_to(topics.input, sample_customers(1000, seed=10))
    # Point the group at the start of the log, as `streamtest offsets reset
    # --to-earliest` would before a backfill: its lag is now the whole backlog.
    commit_offsets(
        ClientConfig(churn_cluster.bootstrap_servers),
        group_id,
        {TP(topics.input, p): 0 for p in range(3)},
    )
    assert group_lag(churn_cluster, group_id, topics.input) == 1000

    run = pipeline("--start-paused")

    def metrics_lag() -> float:
        return run.metric("consumer_lag_messages", topic=topics.input)

    eventually(lambda: metrics_lag() == 1000, timeout=DEADLINE)
    assert run.metric("messages_processed_total") == 0
    assert run.proc is not None
    run.proc.send_signal(signal.SIGUSR1)  # resume

    run.wait_processed(1000)
    eventually(lambda: metrics_lag() == 0, timeout=DEADLINE)
    eventually(lambda: group_lag(churn_cluster, group_id, topics.input) == 0, timeout=DEADLINE)
    (reports_dir / "metrics.prom").write_text(run.scrape())
    assert run.terminate() == 0
