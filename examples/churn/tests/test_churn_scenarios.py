"""The churn pipeline's scenario suite: eleven scenarios, each one test.

The seeds' suite runs six scenarios in about two minutes on a Redpanda container
and accepts 80% of the predictions. This one adds ordering, late updates,
backpressure, lag and crash recovery, demands 100%, and runs on the embedded broker
in a few seconds, with the pipeline as a real process and real clients over real
sockets. Nothing sleeps: every wait polls with a deadline (``eventually``).

Run it with ``pytest examples/churn/tests``, against an existing Kafka with
``--bootstrap-servers HOST:PORT``, or through ``streamtest demo``.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from churn.model import MODEL_VERSION
from churn.pipeline import HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION, HEADER_SOURCE_TOPIC
from churn.publisher import Delivery, invalid_samples, producer_config, publish, sample_customers
from churn.sink import read_predictions
from churn.testing import DEADLINE, PipelineProcess
from churn.topics import CONFIGS, Topics
from confluent_kafka import Producer
from confluent_kafka.admin import ConfigResource

from streamtest import Cluster, KafkaRecord, eventually
from streamtest.ops.client import ClientConfig
from streamtest.ops.lag import lag_snapshot
from streamtest.ops.offsets import commit_offsets
from streamtest.ops.plan import TP

StartPipeline = Callable[..., PipelineProcess]

PREDICTION_FIELDS = {"customer_id", "churn_probability", "prediction", "model_version",
                     "processed_at", "version", "event_id"}


@pytest.fixture(scope="module")
def publish_to(churn_cluster: Cluster) -> Any:
    """``publish_to(topic, records) -> [Delivery]`` with the pipeline's own publisher.

    One producer serves the module: an idempotent producer spends its first ~0.5 s
    getting a producer id, which would otherwise be paid by every test."""
    producer = Producer(producer_config(churn_cluster.bootstrap_servers))

    def send(topic: str, records: Sequence[Any]) -> list[Delivery]:
        return publish(producer, topic, records, timeout=DEADLINE)

    yield send
    producer.flush(10)


def values(records: Sequence[KafkaRecord]) -> list[dict[str, Any]]:
    """Return the JSON values of ``records``."""
    return [json.loads(r.value) for r in records if r.value is not None]


def wait_records(cluster: Cluster, topic: str, count: int, *,
                 isolation_level: str = "read_uncommitted") -> list[KafkaRecord]:
    """Wait until ``topic`` holds at least ``count`` records; return them all."""
    seen: list[KafkaRecord] = []

    def enough() -> bool:
        seen[:] = cluster.records(topic, isolation_level=isolation_level)  # type: ignore[arg-type]
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


# -- 1-3: the cluster, the topics, the publisher --------------------------------------------


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
        topics.input: 3, topics.output: 3, topics.deadletter: 1}
    resources = {role: ConfigResource(ConfigResource.Type.TOPIC, name)
                 for role, name in topics.by_role().items()}
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
        c.customer_id.encode() for c in customers)
    assert {r.partition for r in stored} == {0, 1, 2}  # keys spread over the partitions


# -- 4-5: the flow, and dead letters ------------------------------------------------------------


def test_04_end_to_end(churn_cluster: Cluster, topics: Topics, publish_to: Any,
                       pipeline: StartPipeline, db_path: Path) -> None:
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
    logged = {e.get("event_id") for e in run.log_events() if e.get("message") == "predicted"}
    assert logged == {c.event_id for c in customers}
    assert run.terminate() == 0


def test_05_deadletter(churn_cluster: Cluster, topics: Topics, publish_to: Any,
                       pipeline: StartPipeline) -> None:
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
        source = inputs[(int(headers[HEADER_SOURCE_PARTITION]),
                         int(headers[HEADER_SOURCE_OFFSET]))]
        assert source.value == raw  # the headers name the very record that failed
        if body["original_encoding"] == "utf-8":
            assert body["original_message"].encode() == raw
    run.wait_processed(len(good) + len(bad))
    assert run.metric("messages_processed_total", status="deadletter") == len(bad)
    assert run.metric("messages_processed_total", status="success") == len(good)
    warned = [e for e in run.log_events() if e.get("message") == "dead-lettered"]
    assert len(warned) == len(bad) and all(e["event_id"] for e in warned)
    assert {"bad-type", "bad-range"} <= {e["event_id"] for e in warned}
    assert run.terminate() == 0


# -- 6-8: restarts, order, late updates ---------------------------------------------------------


def test_06_consumer_resilience(churn_cluster: Cluster, topics: Topics, publish_to: Any,
                                pipeline: StartPipeline, group_id: str) -> None:
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


def test_07_ordering(churn_cluster: Cluster, topics: Topics, publish_to: Any,
                     pipeline: StartPipeline, db_path: Path) -> None:
    """Ten versions of each of 20 customers, interleaved: every customer's predictions
    come out in version order, in one partition, and the sink ends at version 10."""
    versions = range(1, 11)
    publish_to(topics.input, [c for v in versions for c in sample_customers(20, version=v)])
    # Small batches, so each customer's versions span several batches.
    run = pipeline("--batch-size", "7")

    out = wait_records(churn_cluster, topics.output, 200)

    seen: dict[str, list[tuple[int, int, int]]] = {}
    for record, p in zip(out, values(out), strict=True):  # partition, then offset order
        seen.setdefault(p["customer_id"], []).append((record.partition, record.offset,
                                                      p["version"]))
    assert len(seen) == 20
    for customer_id, rows in seen.items():
        assert len({partition for partition, _, _ in rows}) == 1, customer_id
        assert [v for _, _, v in sorted(rows)] == list(versions), customer_id
    assert {cid: row["version"] for cid, row in read_predictions(db_path).items()} == {
        cid: 10 for cid in seen}
    assert run.terminate() == 0


def test_08_out_of_order_updates(churn_cluster: Cluster, topics: Topics, publish_to: Any,
                                 pipeline: StartPipeline, db_path: Path) -> None:
    """An older version that arrives late, in the same batch or long after the newer
    one was stored, never overwrites the newer one in the sink."""
    run = pipeline()
    # Same batch: version 3, then version 2 right behind it.
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


# -- 9-11: load, lag, crashes -------------------------------------------------------------------


def _peak_rss_kib(pid: int) -> int | None:
    """Return the process's peak resident set size (VmHWM) in KiB (Linux only)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def test_09_backpressure(churn_cluster: Cluster, topics: Topics, publish_to: Any,
                         pipeline: StartPipeline, group_id: str, db_path: Path) -> None:
    """A backlog of 10,000 records drains in batches of at most 100, with memory that
    stays bounded: the pipeline never holds more than a batch plus a capped prefetch."""
    publish_to(topics.input, sample_customers(10_000, seed=9))
    run = pipeline("--batch-size", "100")
    start_rss = _peak_rss_kib(run.pid)

    run.wait_processed(10_000, timeout=60)

    metrics = run.metrics()
    batches = {dict(ls).get("le"): v for (n, ls), v in metrics.items()
               if n == "churn_batch_size_bucket"}
    assert batches["100.0"] == batches["+Inf"]  # no batch above 100
    assert metrics[("churn_batch_size_sum", frozenset())] == 10_000
    assert metrics[("churn_batch_size_count", frozenset())] >= 100
    peak_rss = _peak_rss_kib(run.pid)
    assert run.terminate() == 0
    eventually(lambda: group_lag(churn_cluster, group_id, topics.input) == 0, timeout=DEADLINE)
    assert len(read_predictions(db_path)) == 10_000
    if start_rss is not None and peak_rss is not None:
        # 10,000 records are ~3 MB of JSON; holding them all as Python objects would
        # add tens of MB. A batch plus the 2 MB prefetch cap stays far below this.
        assert peak_rss - start_rss < 48 * 1024, f"peak RSS grew by {peak_rss - start_rss} KiB"


def test_10_lag_monitoring(churn_cluster: Cluster, topics: Topics, publish_to: Any,
                           pipeline: StartPipeline, group_id: str, reports_dir: Path) -> None:
    """Lag is 1,000 before processing and 0 after, both from the group's committed
    offsets and from the pipeline's metrics endpoint."""
    publish_to(topics.input, sample_customers(1000, seed=10))
    # Point the group at the start of the log, as `streamtest offsets reset
    # --to-earliest` would before a backfill: its lag is now the whole backlog.
    commit_offsets(ClientConfig(churn_cluster.bootstrap_servers), group_id,
                   {TP(topics.input, p): 0 for p in range(3)})
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
