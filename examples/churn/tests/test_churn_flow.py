"""The churn scenario suite: the cluster, the topics and the data flow.

1. broker connectivity, 2. topic creation, 3. batch publish, 4. end to end,
5. dead-letter queue.

The whole suite demands 100% of the predictions where the seeds settle for 80%,
runs the pipeline as a real process with real clients over real sockets, and
never sleeps: every wait polls with a deadline (``streamtest.eventually``). Run it
with ``pytest examples/churn/tests``, against an existing Kafka with
``--bootstrap-servers HOST:PORT``, or through ``streamtest demo``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from churn.model import MODEL_VERSION
from churn.pipeline import HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION, HEADER_SOURCE_TOPIC
from churn.publisher import invalid_samples, sample_customers
from churn.sink import read_predictions
from churn.testing import DEADLINE, StartPipeline, values, wait_records
from churn.topics import CONFIGS, Topics
from confluent_kafka.admin import ConfigResource

from streamtest import Cluster

pytestmark = pytest.mark.scenario

PREDICTION_FIELDS = {
    "customer_id",
    "churn_probability",
    "prediction",
    "model_version",
    "processed_at",
    "version",
    "event_id",
}


def test_01_broker_connectivity(churn_cluster: Cluster) -> None:
    """Cluster metadata is available: a cluster id, brokers with addresses, a controller."""
    admin = churn_cluster.admin()
    described = admin.describe_cluster(request_timeout=DEADLINE).result()
    assert described.cluster_id
    assert described.nodes and all(n.host and n.port > 0 for n in described.nodes)
    assert described.controller is not None
    metadata = admin.list_topics(timeout=DEADLINE)
    assert {b.id for b in metadata.brokers.values()} == {n.id for n in described.nodes}


def test_02_topic_creation(churn_cluster: Cluster, topics: Topics) -> None:
    """Input and output have 3 partitions, the dead-letter topic 1, with their configs."""
    admin = churn_cluster.admin()
    md = admin.list_topics(timeout=DEADLINE).topics
    assert {name: len(md[name].partitions) for name in topics.by_role().values()} == {
        topics.input: 3,
        topics.output: 3,
        topics.deadletter: 1,
    }
    resources = {
        role: ConfigResource(ConfigResource.Type.TOPIC, name)
        for role, name in topics.by_role().items()
    }
    futures = admin.describe_configs(list(resources.values()), request_timeout=DEADLINE)
    by_name = {res.name: fut.result() for res, fut in futures.items()}
    for role, name in topics.by_role().items():
        applied = {k: v.value for k, v in by_name[name].items()}
        assert {k: applied.get(k) for k in CONFIGS[role]} == CONFIGS[role], role


def test_03_batch_publish(churn_cluster: Cluster, topics: Topics, publish_to: Any) -> None:
    """50 records published as one batch: all 50 acknowledged, each at its own offset,
    and all 50 readable from the topic."""
    customers = sample_customers(50, seed=3)
    deliveries = publish_to(topics.input, customers)
    assert len(deliveries) == 50
    assert len({(d.partition, d.offset) for d in deliveries}) == 50
    stored = churn_cluster.records(topics.input)
    assert sorted(r.key for r in stored if r.key) == sorted(
        c.customer_id.encode() for c in customers
    )
    assert {r.partition for r in stored} == {0, 1, 2}  # keys spread over the partitions


def test_04_end_to_end(
    churn_cluster: Cluster, topics: Topics, publish_to: Any, pipeline: StartPipeline, db_path: Path
) -> None:
    """50 in, 50 predictions out (100%), with a valid schema and matching ids; the
    sink holds all 50, and the pipeline's logs carry every event id."""
    run = pipeline("--log-level", "DEBUG")
    customers = sample_customers(50, seed=4)
    publish_to(topics.input, customers)

    out = values(wait_records(churn_cluster, topics.output, 50))

    assert len(out) == 50
    assert {p["customer_id"] for p in out} == {c.customer_id for c in customers}
    for p in out:
        assert set(p) == PREDICTION_FIELDS
        assert isinstance(p["churn_probability"], float)
        assert 0.0 <= p["churn_probability"] <= 1.0
        assert p["prediction"] in (0, 1)
        assert p["prediction"] == int(p["churn_probability"] >= 0.5)
        assert p["model_version"] == MODEL_VERSION
        assert datetime.fromisoformat(p["processed_at"]).tzinfo is not None
    assert churn_cluster.records(topics.deadletter) == []
    run.wait_processed(50)
    assert run.metric("messages_processed_total", status="success") == 50
    assert set(read_predictions(db_path)) == {c.customer_id for c in customers}
    assert run.terminate() == 0  # the log is complete once the process has exited
    logged = {e.get("event_id") for e in run.log_events() if e.get("message") == "predicted"}
    assert logged == {c.event_id for c in customers}


def test_05_deadletter(
    churn_cluster: Cluster, topics: Topics, publish_to: Any, pipeline: StartPipeline
) -> None:
    """Invalid records land in the dead-letter topic with their error and the original
    message, and headers pointing back at the input record; valid ones still flow."""
    run = pipeline()
    bad = invalid_samples()
    good = sample_customers(20, seed=5)
    # Interleave, so valid records follow every bad one in the same partitions.
    mixed: list[Any] = []
    for i, customer in enumerate(good):
        mixed.append(customer)
        if i < len(bad):
            mixed.append((b"bad-%d" % i, bad[i][1]))
    publish_to(topics.input, mixed)

    dead = wait_records(churn_cluster, topics.deadletter, len(bad))
    out = wait_records(churn_cluster, topics.output, len(good))

    assert {p["customer_id"] for p in values(out)} == {c.customer_id for c in good}
    assert len(dead) == len(bad)
    inputs = {(r.partition, r.offset): r for r in churn_cluster.records(topics.input)}
    by_key = {r.key: r for r in dead}
    for i, (error_type, raw) in enumerate(bad):
        letter = by_key[b"bad-%d" % i]
        body = json.loads(letter.value)
        headers = dict(letter.headers)
        assert body["error_type"] == error_type
        assert body["error_message"]
        assert headers[HEADER_SOURCE_TOPIC] == topics.input.encode()
        source = inputs[(int(headers[HEADER_SOURCE_PARTITION]), int(headers[HEADER_SOURCE_OFFSET]))]
        assert source.value == raw  # the headers name the very record that failed
        if body["original_encoding"] == "utf-8":
            assert body["original_message"].encode() == raw
    run.wait_processed(len(good) + len(bad))
    assert run.metric("messages_processed_total", status="deadletter") == len(bad)
    assert run.metric("messages_processed_total", status="success") == len(good)
    assert run.terminate() == 0  # the log is complete once the process has exited
    warned = [e for e in run.log_events() if e.get("message") == "dead-lettered"]
    assert len(warned) == len(bad) and all(e["event_id"] for e in warned)
    assert {"bad-type", "bad-range"} <= {e["event_id"] for e in warned}
