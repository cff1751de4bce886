"""The churn scenario suite: crashes.

11. crash mid-batch: SIGKILL between the sink write and the offset commit, then
restart, in at-least-once and in exactly-once mode.

This file's name sorts first on purpose: it holds the longest scenarios, and
pytest-xdist's ``--dist loadfile`` hands files out in order, so starting with it
balances the workers.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from churn.publisher import sample_customers
from churn.sink import read_predictions
from churn.testing import DEADLINE, StartPipeline, group_lag, values
from churn.topics import Topics

from streamtest import Cluster, eventually

pytestmark = pytest.mark.scenario


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_11_crash_mid_batch(churn_cluster: Cluster, topics: Topics, publish_to: Any,
                            pipeline: StartPipeline, group_id: str, db_path: Path,
                            mode: str) -> None:
    """SIGKILL the pipeline after a batch's outputs and sink write, before its commit;
    restart it. Nothing is lost and the sink has no duplicates; with --exactly-once,
    a read_committed reader of the output sees no duplicates either."""
    customers = sample_customers(600, seed=11)
    publish_to(topics.input, customers)
    flags = ["--instance-id", "churn-0", "--batch-size", "100"]
    if mode == "exactly-once":
        flags.append("--exactly-once")

    crashed = pipeline(*flags, "--hang-before-commit", "3")
    crashed.wait_for_log("fault injection: hanging before commit")
    assert crashed.kill() == -signal.SIGKILL
    written_before_restart = len(read_predictions(db_path))
    assert written_before_restart == 300  # batch 3 reached the sink, not the commit

    restarted = pipeline(*flags)  # same group, instance and transactional id
    restarted.wait_processed(400)  # the uncommitted batch 3, then batches 4-6
    eventually(lambda: group_lag(churn_cluster, group_id, topics.input) == 0, timeout=DEADLINE)
    assert restarted.metric("sink_upserts_total", result="stale") == 100  # batch 3 again
    assert restarted.terminate() == 0

    expected = {c.customer_id for c in customers}
    sink = read_predictions(db_path)
    assert set(sink) == expected  # nothing lost; one row per customer by construction
    everything = Counter(p["customer_id"] for p in values(churn_cluster.records(topics.output)))
    assert set(everything) == expected
    if mode == "at-least-once":
        # Batch 3 was produced, then replayed: at-least-once may duplicate outputs.
        assert sum(everything.values()) == 700
    else:
        committed = Counter(p["customer_id"] for p in values(
            churn_cluster.records(topics.output, isolation_level="read_committed")))
        assert committed == Counter(expected)  # each exactly once
        assert sum(everything.values()) == 700  # the aborted batch is in the log, hidden
