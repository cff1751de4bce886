"""The churn scenario suite: failover.

12. The exactly-once pipeline keeps its output exactly-once while the leader of
an output partition is moved and the node leading an input partition is killed
in the middle of a batch (a multi-node cluster: ``streamtest demo --brokers 3``,
or ``pytest --kafka-brokers 3``).
"""

from __future__ import annotations

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


def test_12_failover_keeps_exactly_once(
    churn_cluster: Cluster,
    cluster_control: Any,
    topics: Topics,
    publish_to: Any,
    pipeline: StartPipeline,
    group_id: str,
    db_path: Path,
) -> None:
    """Move an output leader, then kill an input leader mid-batch: the pipeline
    carries on, and a read_committed reader sees every prediction exactly once."""
    if len(cluster_control.node_ids) < 3:
        pytest.skip("needs a cluster of 3 or more nodes (streamtest demo --brokers 3, "
                    "or pytest --kafka-brokers 3)")
    customers = sample_customers(600, seed=12)
    publish_to(topics.input, customers)
    run = pipeline("--instance-id", "churn-0", "--batch-size", "50", "--exactly-once")
    run.wait_processed(100)

    status = cluster_control.cluster_status()
    out0 = status["topics"][topics.output][0]
    target = next(n for n in out0["isr"] if n != out0["leader"])
    cluster_control.move_leader(topics.output, 0, target)
    assert cluster_control.leader(topics.output, 0) == target

    run.wait_processed(250)
    victim = cluster_control.leader(topics.input, 1)
    cluster_control.kill_node(victim)  # mid-batch: the pipeline is still consuming
    try:
        run.wait_processed(600)
        eventually(lambda: group_lag(churn_cluster, group_id, topics.input) == 0,
                   timeout=DEADLINE)
    finally:
        cluster_control.start_node(victim)
    assert run.terminate() == 0

    expected = {c.customer_id for c in customers}
    assert set(read_predictions(db_path)) == expected
    committed = Counter(
        p["customer_id"]
        for p in values(churn_cluster.records(topics.output, isolation_level="read_committed"))
    )
    assert committed == Counter(expected)  # each prediction exactly once
