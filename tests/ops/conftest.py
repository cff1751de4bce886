"""Fixtures for the ops tools' tests: topics with known records, a CLI runner bound
to the session broker, group helpers, and snapshot comparison."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from streamtest import EmbeddedKafka, KafkaRecord
from streamtest.cli import main
from streamtest.kit.wait import eventually
from streamtest.ops import ClientConfig

SNAPSHOTS = Path(__file__).parent / "snapshots"


class KafkaBroker:
    """Apache Kafka (the reference broker) behind the small part of
    ``EmbeddedKafka``'s interface these tests use, through real clients: the ops
    tools say they work against any Kafka, so their tests run against both."""

    def __init__(self, bootstrap_servers: str) -> None:
        from confluent_kafka.admin import AdminClient

        from streamtest import ExternalCluster

        self.bootstrap_servers = bootstrap_servers
        #: The one node's id, from Metadata (the reference Kafka runs as node 1).
        (self.node_id,) = AdminClient({"bootstrap.servers": bootstrap_servers}).list_topics(
            timeout=30
        ).brokers
        self.cluster = ExternalCluster(bootstrap_servers, connect_timeout=30)

    def create_topic(
        self, name: str, partitions: int | None = None, config: dict[str, str] | None = None
    ) -> None:
        """Create ``name`` and return once every partition has a leader."""
        self.cluster.create_topic(name, partitions or 1, config, timeout=30)

    def records(self, topic: str, partition: int | None = None) -> list[KafkaRecord]:
        """Return every record of ``topic`` (or one partition), as a consumer reads it."""
        return self.cluster.records(topic, 30, partition=partition)


@pytest.fixture(
    scope="session", params=["embedded", pytest.param("apache", marks=pytest.mark.slow)]
)
def broker(request: pytest.FixtureRequest) -> Iterator[EmbeddedKafka | KafkaBroker]:
    """The broker the ops tools run against: the embedded one, then Apache Kafka
    (the ``reference_kafka`` fixture), so each test runs on both."""
    if request.param == "embedded":
        with EmbeddedKafka(partitions=1) as kafka:
            yield kafka
        return
    reference = request.getfixturevalue("reference_kafka")
    kafka = KafkaBroker(reference.bootstrap_servers)
    kafka.cluster.start()
    try:
        yield kafka
    finally:
        kafka.cluster.stop()

#: 2023-11-14T22:13:20Z: records get BASE_TS + 1000 * i, so times are easy to read.
BASE_TS = 1_700_000_000_000

def timeout_for(broker: EmbeddedKafka | KafkaBroker) -> float:
    """Seconds each operation may take: the tools' default (10) on the embedded
    broker; 30 on Apache Kafka, whose JVM answers group requests slowly on a
    loaded 2-core CI machine (a describe timed out after 10 s there)."""
    return 30.0 if isinstance(broker, KafkaBroker) else 10.0


@pytest.fixture
def config(bootstrap: str, broker: EmbeddedKafka | KafkaBroker) -> ClientConfig:
    """A ClientConfig for the session broker."""
    return ClientConfig(bootstrap, {}, timeout_for(broker))


@pytest.fixture
def group_name() -> str:
    """A consumer group name unique to this test."""
    return f"g-{uuid.uuid4().hex[:10]}"


@dataclass
class Cli:
    """Runs ``streamtest`` in-process against one broker."""

    bootstrap: str
    #: ``--timeout`` for commands that take it (``None``: the tool's default).
    timeout: float | None = None
    #: The broker's node id (0 embedded; the reference Kafka runs as node 1).
    node: int = 0

    def __call__(self, *args: str, input: str | None = None) -> Result:
        """Invoke ``streamtest ARGS --bootstrap-server <broker>``; return click's Result."""
        runner = CliRunner()
        extra = ["--bootstrap-server", self.bootstrap]
        if self.timeout is not None and "--timeout" not in args and _takes_timeout(args):
            extra += ["--timeout", str(self.timeout)]
        return runner.invoke(main, [*args, *extra], input=input)

    def ok(self, *args: str, input: str | None = None) -> Result:
        """Invoke and assert exit status 0 (showing the output if not)."""
        res = self(*args, input=input)
        assert res.exit_code == 0, f"exit {res.exit_code}\nstdout:{res.stdout}\nstderr:{res.stderr}"
        return res


def _takes_timeout(args: tuple[str, ...]) -> bool:
    """Return whether the command ``args`` names accepts ``--timeout``."""
    from click import Group

    command = main
    for word in args:
        if not isinstance(command, Group) or word not in command.commands:
            break
        command = command.commands[word]
    return any("--timeout" in p.opts for p in command.params)


@pytest.fixture
def cli(bootstrap: str, broker: EmbeddedKafka | KafkaBroker) -> Cli:
    """The CLI bound to the session broker (with a longer ``--timeout`` on Apache
    Kafka, see :func:`timeout_for`)."""
    if isinstance(broker, KafkaBroker):
        return Cli(bootstrap, timeout_for(broker), node=broker.node_id)
    return Cli(bootstrap, None, node=0)


def produce(
    bootstrap: str,
    topic: str,
    per_partition: int,
    partitions: int,
    *,
    timestamps: Callable[[int, int], int] | None = None,
) -> None:
    """Write ``per_partition`` records to each partition: key ``k<p>-<i>``, value
    ``v<p>-<i>``, two headers (one repeated name, one null value) and timestamp
    ``BASE_TS + 1000 * i`` unless ``timestamps(p, i)`` says otherwise."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for part in range(partitions):
        for i in range(per_partition):
            p.produce(
                topic,
                key=f"k{part}-{i}".encode(),
                value=f"v{part}-{i}".encode(),
                headers=[("h", f"{part}:{i}".encode()), ("h", b"again"), ("null", None)],
                timestamp=timestamps(part, i) if timestamps else BASE_TS + 1000 * i,
                partition=part,
            )
    assert p.flush(10) == 0


@pytest.fixture
def make_topic(broker: EmbeddedKafka | KafkaBroker, topic_name: str) -> Callable[..., str]:
    """Create a topic (default name from ``topic_name``) with ``partitions`` and
    ``per_partition`` records each; return its name."""
    made = iter(range(100))

    def make(partitions: int = 3, per_partition: int = 10, *, name: str | None = None,
             timestamps: Callable[[int, int], int] | None = None) -> str:
        n = next(made)
        topic = name or (topic_name if n == 0 else f"{topic_name}-{n}")
        # The records carry 2023 timestamps (BASE_TS): with the default 7-day
        # retention, Apache Kafka's retention check (every 5 minutes) deletes them
        # mid-test, and a reset then clamps to the new log start (seen on CI).
        broker.create_topic(topic, partitions, {"retention.ms": "-1"})
        if per_partition:
            produce(broker.bootstrap_servers, topic, per_partition, partitions,
                    timestamps=timestamps)
        return topic

    return make


def _retrying(fn: Callable[[], Any]) -> Any:
    """Call ``fn`` until it does not fail with a retriable Kafka error (Apache Kafka
    answers NOT_COORDINATOR now and then, which a real client retries); return its
    result. Other errors propagate at once."""

    def attempt() -> Any:
        try:
            return (fn(),)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.retriable():
                return None
            raise

    return eventually(attempt, timeout=30, interval=0.1)[0]


def commit(bootstrap: str, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit ``offsets`` for ``group`` as a standalone (non-member) consumer, leaving
    the group Empty."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        _retrying(lambda: c.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
            asynchronous=False))
    finally:
        c.close()


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    """Return ``{partition: committed offset}`` (-1001 when none) for ``group``."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        tps = _retrying(
            lambda: c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        )
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


@pytest.fixture
def active_member(bootstrap: str) -> Iterator[Callable[[str, str], Consumer]]:
    """Start a subscribed consumer in a group and wait until it owns partitions."""
    consumers: list[Consumer] = []

    def join(group: str, topic: str) -> Consumer:
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                      "enable.auto.commit": False, "session.timeout.ms": 6000,
                      "client.id": "member-1"})
        consumers.append(c)
        c.subscribe([topic])

        def assigned() -> bool:
            c.poll(0.1)
            return bool(c.assignment())

        eventually(assigned, timeout=30)
        return c

    yield join
    for c in consumers:
        c.close()


# -- snapshots -----------------------------------------------------------------------


def normalise(text: str, replacements: dict[str, str]) -> str:
    """Replace volatile values (topic and group names, addresses) with placeholders;
    longest first, so a name that extends another is replaced whole."""
    for old in sorted(replacements, key=len, reverse=True):
        text = text.replace(old, replacements[old])
    text = re.sub(r"127\.0\.0\.1:\d+", "<BOOTSTRAP>", text)
    return text


def assert_snapshot(name: str, text: str, replacements: dict[str, str] | None = None) -> None:
    """Compare ``text`` (normalised) with ``snapshots/<name>``.

    With ``STREAMTEST_UPDATE_SNAPSHOTS=1`` the file is (re)written instead; a missing
    file is an error otherwise, so a forgotten snapshot cannot pass silently.
    """
    got = normalise(text, replacements or {})
    path = SNAPSHOTS / name
    if os.environ.get("STREAMTEST_UPDATE_SNAPSHOTS") == "1":
        path.write_text(got, encoding="utf-8")
        return
    assert path.exists(), f"missing snapshot {path}; run with STREAMTEST_UPDATE_SNAPSHOTS=1"
    expected = path.read_text(encoding="utf-8")
    assert got == expected, f"snapshot {name} differs:\n--- expected\n{expected}--- got\n{got}"


def delete_records_before(bootstrap: str, topic: str, partition: int, offset: int) -> None:
    """Advance the log start offset of one partition (DeleteRecords)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.delete_records([TopicPartition(topic, partition, offset)],
                                   request_timeout=10)
    for f in futures.values():
        f.result()
