"""The churn scenario suite: stopping and restarting the pipeline.

6. consumer resilience: 25 records, the first run processes 10 and stops, a
restart in the same group processes exactly the other 15.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from churn.publisher import sample_customers
from churn.testing import StartPipeline, group_lag, values, wait_records
from churn.topics import Topics

from streamtest import Cluster

pytestmark = pytest.mark.scenario


def test_06_consumer_resilience(
    churn_cluster: Cluster, topics: Topics, publish_to: Any, pipeline: StartPipeline, group_id: str
) -> None:
    """25 records; the first run processes 10 and stops; a restart in the same group
    processes exactly the other 15: nothing twice, nothing skipped."""
    customers = sample_customers(25, seed=6)
    publish_to(topics.input, customers)

    first = pipeline("--max-messages", "10")
    assert first.wait_exit() == 0
    first_ids = [p["customer_id"] for p in values(churn_cluster.records(topics.output))]
    assert len(first_ids) == 10
    assert group_lag(churn_cluster, group_id, topics.input) == 15

    second = pipeline()
    out = wait_records(churn_cluster, topics.output, 25)
    second.wait_processed(15)
    assert second.metric("messages_processed_total") == 15  # exactly the remaining 15
    assert second.terminate() == 0  # SIGTERM: finish, commit, leave, exit 0

    ids = Counter(p["customer_id"] for p in values(churn_cluster.records(topics.output)))
    assert len(out) == 25
    assert set(ids) == {c.customer_id for c in customers}  # nothing skipped
    assert max(ids.values()) == 1  # nothing processed twice
    assert group_lag(churn_cluster, group_id, topics.input) == 0
    assert any(e.get("message") == "pipeline stopped" for e in second.log_events())
