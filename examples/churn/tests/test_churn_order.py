"""The churn scenario suite: order.

7. per-key ordering end to end, 8. out-of-order updates never overwrite newer
ones in the sink.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from churn.publisher import sample_customers
from churn.sink import read_predictions
from churn.testing import StartPipeline, values, wait_records
from churn.topics import Topics

from streamtest import Cluster

pytestmark = pytest.mark.scenario


def test_07_ordering(
    churn_cluster: Cluster, topics: Topics, publish_to: Any, pipeline: StartPipeline, db_path: Path
) -> None:
    """Ten versions of each of 20 customers, interleaved: every customer's predictions
    come out in version order, in one partition, and the sink ends at version 10."""
    versions = range(1, 11)
    publish_to(topics.input, [c for v in versions for c in sample_customers(20, version=v)])
    # Small batches, so each customer's versions span several batches.
    run = pipeline("--batch-size", "7")

    out = wait_records(churn_cluster, topics.output, 200)

    seen: dict[str, list[tuple[int, int, int]]] = {}
    for record, p in zip(out, values(out), strict=True):  # partition, then offset order
        seen.setdefault(p["customer_id"], []).append(
            (record.partition, record.offset, p["version"])
        )
    assert len(seen) == 20
    for customer_id, rows in seen.items():
        assert len({partition for partition, _, _ in rows}) == 1, customer_id
        assert [v for _, _, v in sorted(rows)] == list(versions), customer_id
    assert {cid: row["version"] for cid, row in read_predictions(db_path).items()} == {
        cid: 10 for cid in seen
    }
    assert run.terminate() == 0


def test_08_out_of_order_updates(
    churn_cluster: Cluster, topics: Topics, publish_to: Any, pipeline: StartPipeline, db_path: Path
) -> None:
    """An older version that arrives late, in the same batch or long after the newer
    one was stored, never overwrites the newer one in the sink."""
    run = pipeline()
    # Version 3, then version 2 right behind it (usually in the same batch).
    publish_to(topics.input, sample_customers(10, version=3) + sample_customers(10, version=2))
    run.wait_processed(20)
    assert {row["version"] for row in read_predictions(db_path).values()} == {3}
    # Much later: version 1 (and a duplicate of version 3) arrive after version 3 was
    # committed; the sink keeps version 3, with its original prediction.
    before = read_predictions(db_path)
    publish_to(topics.input, sample_customers(10, version=1) + sample_customers(10, version=3))
    run.wait_processed(40)

    after = read_predictions(db_path)
    assert after == before
    assert run.metric("sink_upserts_total", result="applied") == 10
    assert run.metric("sink_upserts_total", result="stale") == 30
    # The topic is a log: it has every prediction, old ones included; the sink
    # is what enforces "newest wins".
    assert len(churn_cluster.records(topics.output)) == 40
    assert run.terminate() == 0
