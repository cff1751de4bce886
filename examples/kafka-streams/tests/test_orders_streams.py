"""Kafka Streams (exactly_once_v2) on streamtest's embedded broker and on Apache Kafka.

The same deterministic input goes to both brokers, the same app runs on each, and
the read_committed output topics must match record for record: with the model in
``orders_model.py`` (so with each other), and between a clean run and a run whose
JVM is SIGKILLed in the middle of an open transaction and then restarted.

Under exactly_once_v2 a downstream task reads its repartition topic read_committed,
so it sees nothing its upstream task wrote until the next commit. The crash run
uses that, with a 10-minute commit interval, to put the crash at a known point:

A. the first half of the input is there; the app starts and its first sub-topology
   re-keys every order into the orders-by-customer repartition topic, inside one
   open transaction; the app is then closed cleanly, which commits it (its empty
   window store's directory is then removed, see ``drop_empty_window_store``);
B. the app restarts (same state directory); the join now sees those records and
   writes enriched-orders and the orders-by-region repartition topic, again in one
   open transaction: read_uncommitted shows every enriched order, read_committed
   none. That is when the JVM is SIGKILLed;
C. the second half is produced; the app restarts with the default 100 ms commit
   interval (the persisted process id gives it the same transactional.id, which
   fences the dead producer and aborts its transaction), redoes B's work and
   processes everything else.

Exactly-once means C's read_committed output is the same as the clean run's, and
B's aborted records are still in the log for read_uncommitted readers.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orders_model as model
import pytest
from confluent_kafka import Producer
from orders_app import AppDied, StreamsApp

from streamtest import EmbeddedKafka, ExternalCluster, KafkaRecord, eventually
from streamtest.kit.jvm import MavenBuild

pytestmark = [pytest.mark.slow, pytest.mark.interop]

OUTPUTS = ("enriched-orders", "region-totals")
DEADLINE = 120.0
#: For launches that must not commit on their own while the test looks at them.
NO_COMMIT = {"commit_interval_ms": 600_000, "transaction_timeout_ms": 600_000}


@dataclass
class Broker:
    """A broker under test and its own view of its topics."""

    name: str
    bootstrap: str
    records: Callable[[str, bool], list[KafkaRecord]]
    create_topic: Callable[[str], None]
    topics: Callable[[], list[str]]


@pytest.fixture(scope="module", params=["embedded", "reference"])
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """The embedded broker (process mode) and Apache Kafka."""
    if request.param == "embedded":
        kafka: EmbeddedKafka = request.getfixturevalue("embedded_process_broker")
        yield Broker(
            "embedded",
            kafka.bootstrap_servers,
            lambda topic, committed: kafka.records(topic, read_committed=committed),
            lambda name: kafka.create_topic(name, 1),
            kafka.topics,
        )
        return
    reference = request.getfixturevalue("reference_kafka")
    with ExternalCluster(reference.bootstrap_servers) as cluster:
        yield Broker(
            "reference",
            reference.bootstrap_servers,
            lambda topic, committed: cluster.records(
                topic, isolation_level="read_committed" if committed else "read_uncommitted"
            ),
            lambda name: cluster.create_topic(name, partitions=1),
            cluster.topics,
        )


@dataclass
class Run:
    """One run's outputs, by topic, as the broker stores them (without offsets)."""

    outputs: dict[str, list[model.Output]]
    uncommitted: dict[str, list[model.Output]]


def as_outputs(records: list[KafkaRecord]) -> list[model.Output]:
    """Strip offsets (transaction markers and aborted records shift them)."""
    assert {r.partition for r in records} <= {0}
    return [
        model.Output((r.key or b"").decode(), (r.value or b"").decode(), r.timestamp)
        for r in records
    ]


def expected(inputs: list[model.Input]) -> dict[str, list[model.Output]]:
    """The model's outputs for ``inputs``, by topic."""
    enriched, totals = model.expected_outputs(inputs)
    return {"enriched-orders": enriched, "region-totals": totals}


FIRST = model.first_half()
ALL_INPUT = FIRST + model.second_half()


class Pipeline:
    """The app's topics on one broker, its state directory, and its launches."""

    def __init__(self, broker: Broker, jar: MavenBuild, workdir: Path) -> None:
        self.broker = broker
        self.jar = jar
        self.workdir = workdir
        self.prefix = f"orders-{uuid.uuid4().hex[:8]}-"
        self.app_id = f"{self.prefix}app"
        self.launches = 0
        for name in ("orders", "customers", *OUTPUTS):
            broker.create_topic(self.prefix + name)

    def produce(self, inputs: list[model.Input]) -> None:
        """Write ``inputs`` in order, with their event timestamps."""
        producer = Producer(
            {"bootstrap.servers": self.broker.bootstrap, "enable.idempotence": True}
        )
        for r in inputs:
            topic = self.prefix + r.topic
            producer.produce(topic, r.value.encode(), r.key.encode(), timestamp=r.timestamp)
        assert producer.flush(30) == 0

    def start(self, **settings: int) -> StreamsApp:
        """Launch the app (with the same state directory every time)."""
        self.launches += 1
        return StreamsApp(
            self.jar,
            self.workdir / f"app-{self.launches}.log",
            bootstrap_servers=self.broker.bootstrap,
            application_id=self.app_id,
            state_dir=self.workdir / "state",
            topic_prefix=self.prefix,
            **settings,
        )

    def count(self, topic: str, committed: bool) -> int:
        """How many records ``topic`` has (by its full name)."""
        return len(self.broker.records(topic, committed))

    def outputs(self, committed: bool = True) -> dict[str, list[model.Output]]:
        """The output topics as the broker stores them."""
        return {
            name: as_outputs(self.broker.records(self.prefix + name, committed)) for name in OUTPUTS
        }

    def repartition_topic(self, name: str) -> str:
        """The full name of the app's repartition topic ``name`` (Streams names it).

        Raises:
            AssertionError: there is no such topic (yet).
        """
        found = [
            t
            for t in self.broker.topics()
            if t.startswith(f"{self.app_id}-{name}") and t.endswith("-repartition")
        ]
        assert len(found) == 1, (name, found)
        return found[0]

    def drop_empty_window_store(self) -> None:
        """Remove task 2_0's state directory, which holds nothing after launch A.

        A closes cleanly, but under EOS Kafka Streams writes no checkpoint for a store
        whose changelog has no offsets yet, and the window store's segment directory
        is there all the same. The next launch then declares task 2_0 corrupted and,
        before wiping it, commits its other tasks: launch B would commit whatever
        its join had written by then, on Apache Kafka as on streamtest (seen on both
        in the apps' logs; only the timing decides whether anything was written).
        The changelog is checked empty first, so nothing is lost that a restore
        would have read.
        """
        changelog = f"{self.app_id}-region-minute-totals-changelog"
        assert self.count(changelog, committed=False) == 0, changelog
        task = self.workdir / "state" / self.app_id / "2_0"
        assert not list(task.glob("*checkpoint*")), list(task.iterdir())
        shutil.rmtree(task)

    def wait_until(
        self, app: StreamsApp, what: str, counts: dict[str, int], committed: bool
    ) -> None:
        """Wait, with a deadline, until each topic (full name) has its count of records."""
        view = "read_committed" if committed else "read_uncommitted"

        def reached() -> bool:
            app.check_alive()
            return all(self.count(t, committed) >= n for t, n in counts.items())

        try:
            eventually(reached, timeout=DEADLINE, interval=0.25, reraise=(AppDied,))
        except AssertionError as exc:
            got = {t: self.count(t, committed) for t in counts}
            raise AssertionError(
                f"{exc}\nlaunch {self.launches}, waiting for {what}: {view} counts {got}, "
                f"expected {counts}\nlog {app.log}:\n{app.tail()}"
            ) from None

    def output_counts(self, outputs: dict[str, list[model.Output]]) -> dict[str, int]:
        """``{full output topic name: number of records}`` for an expected output."""
        return {self.prefix + name: len(records) for name, records in outputs.items()}


@pytest.fixture(scope="module")
def clean_run(
    broker: Broker, orders_app_jar: MavenBuild, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    """All input first, then one launch of the app to the end, closed cleanly."""
    pipeline = Pipeline(broker, orders_app_jar, tmp_path_factory.mktemp(f"clean-{broker.name}"))
    pipeline.produce(ALL_INPUT)
    app = pipeline.start()
    try:
        counts = pipeline.output_counts(expected(ALL_INPUT))
        pipeline.wait_until(app, "every output", counts, committed=True)
    finally:
        app.stop()
    return Run(pipeline.outputs(), pipeline.outputs(committed=False))


@pytest.fixture(scope="module")
def crash_run(
    broker: Broker, orders_app_jar: MavenBuild, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    """Launches A, B (SIGKILLed) and C of the module docstring."""
    pipeline = Pipeline(broker, orders_app_jar, tmp_path_factory.mktemp(f"crash-{broker.name}"))
    pipeline.produce(FIRST)
    first_orders = sum(1 for r in FIRST if r.topic == "orders")

    app = pipeline.start(**NO_COMMIT)  # A
    try:
        # Kafka Streams creates its repartition topics once it has joined its group.
        def created() -> str:
            app.check_alive()
            return pipeline.repartition_topic("orders-by-customer")

        by_customer = eventually(created, timeout=DEADLINE, reraise=(AppDied,))
        pipeline.wait_until(
            app, "the re-keyed orders", {by_customer: first_orders}, committed=False
        )
    finally:
        app.stop()
    assert pipeline.count(by_customer, committed=True) == first_orders
    pipeline.drop_empty_window_store()

    app = pipeline.start(**NO_COMMIT)  # B
    enriched = pipeline.prefix + "enriched-orders"
    try:
        first_enriched = len(expected(FIRST)["enriched-orders"])
        pipeline.wait_until(app, "the enriched orders", {enriched: first_enriched}, committed=False)
        assert pipeline.count(enriched, committed=True) == 0, "B committed before the crash"
    finally:
        app.kill()
    assert pipeline.count(enriched, committed=True) == 0

    pipeline.produce(model.second_half())
    app = pipeline.start()  # C
    try:
        counts = pipeline.output_counts(expected(ALL_INPUT))
        pipeline.wait_until(app, "every output", counts, committed=True)
    finally:
        app.stop()
    return Run(pipeline.outputs(), pipeline.outputs(committed=False))


def test_kafka_streams_clean_run_matches_the_model(clean_run: Run) -> None:
    assert clean_run.outputs == expected(ALL_INPUT)
    # Nothing was aborted: read_uncommitted sees the same.
    assert clean_run.uncommitted == clean_run.outputs


def test_kafka_streams_exactly_once_across_a_sigkill(crash_run: Run, clean_run: Run) -> None:
    assert crash_run.outputs == clean_run.outputs == expected(ALL_INPUT)
    # B's aborted transaction is still in the log: read_uncommitted readers see its
    # enriched orders (the first half) before C's.
    aborted = expected(FIRST)["enriched-orders"]
    assert (
        crash_run.uncommitted["enriched-orders"] == aborted + crash_run.outputs["enriched-orders"]
    )
    assert crash_run.uncommitted["region-totals"] == crash_run.outputs["region-totals"]


def test_kafka_streams_input_covers_the_edge_cases() -> None:
    """The input exercises what it is meant to: a dropped join, a late record inside
    the grace period and one past it, a customer that arrives mid-stream."""
    enriched, totals = model.expected_outputs(ALL_INPUT)
    assert len(enriched) == model.ORDERS - 1  # the unknown customer's order is dropped
    assert len(totals) == len(enriched) - 1  # the order past its window's grace is dropped
    assert any(r.key == model.LATE_CUSTOMER[0] for r in enriched)
    late = model.order_timestamp(model.LATE_WITHIN_GRACE)
    assert any(o.timestamp == late for o in enriched)
