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
def test_11_crash_mid_batch(
    churn_cluster: Cluster,
    topics: Topics,
    publish_to: Any,
    pipeline: StartPipeline,
    group_id: str,
    db_path: Path,
    mode: str,
) -> None:
    """SIGKILL the pipeline after a batch's outputs and sink write, before its commit;
    restart it. Nothing is lost and the sink has no duplicates; with --exactly-once,
    a read_committed reader of the output sees no duplicates either."""
    customers = sample_customers(600, seed=11)
    publish_to(topics.input, customers)
    flags = ["--instance-id", "churn-0", "--batch-size", "100"]
    if mode == "exactly-once":
        flags.append("--exactly-once")

    crashed = pipeline(*flags, "--hang-before-commit", "3")
    hung = crashed.wait_for_log("fault injection: hanging before commit")
    assert crashed.kill() == -signal.SIGKILL
    # Batches hold at most 100 records, but may hold fewer: the pipeline takes what
    # its consumer has fetched. The log says what batch 3 held.
    committed, in_flight = hung["committed_records"], hung["batch_records"]
    assert 0 < in_flight <= 100 and committed > 0
    # Batch 3 reached the outputs and the sink, but not the offset commit.
    assert len(read_predictions(db_path)) == committed + in_flight

    restarted = pipeline(*flags)  # same group, instance and transactional id
    restarted.wait_processed(600 - committed)  # batch 3 again, then the rest
    eventually(lambda: group_lag(churn_cluster, group_id, topics.input) == 0, timeout=DEADLINE)
    # The replayed batch changed nothing in the sink: those versions were there.
    assert restarted.metric("sink_upserts_total", result="stale") == in_flight
    assert restarted.metric("messages_processed_total") == 600 - committed
    assert restarted.terminate() == 0

    expected = {c.customer_id for c in customers}
    sink = read_predictions(db_path)
    assert set(sink) == expected  # nothing lost; one row per customer by construction
    everything = Counter(p["customer_id"] for p in values(churn_cluster.records(topics.output)))
    assert set(everything) == expected
    # Batch 3 was produced twice: visible duplicates at least once; with
    # transactions the first copy belongs to an aborted transaction.
    assert sum(everything.values()) == 600 + in_flight
    if mode == "exactly-once":
        read_committed = Counter(
            p["customer_id"]
            for p in values(churn_cluster.records(topics.output, isolation_level="read_committed"))
        )
        assert read_committed == Counter(expected)  # each exactly once
