"""``KafkaStore``: the registry's state, kept in a compacted ``_schemas`` topic and
reached only through the Kafka protocol (confluent-kafka).

Going through the wire rather than broker internals means the registry works
against any Kafka (the embedded broker, a container, a real cluster), and that
its state lives where Confluent's registry keeps it, in the same format.

Reads and writes follow Confluent's ``KafkaStore``:

- a background thread consumes the topic from the beginning (``read_committed``)
  and applies every record to a :class:`~streamtest.registry.state.RegistryState`;
- before answering, a request waits until that thread has read up to the topic's
  end (its last stable offset), so a registry always answers with what any other
  registry on the cluster has written (:meth:`KafkaStore.catch_up`);
- a write is produced, then the registry waits until its reader has applied it
  before answering (read-your-writes).

Several registries on one cluster must not hand out the same id to two schemas.
Confluent elects a leader through a consumer group and forwards writes to it over
HTTP. We get the same guarantee from Kafka transactions instead, with no second
protocol: every registry on a topic writes with the same ``transactional.id``.
Initialising a transactional producer fences every older one (KIP-98), so a
registry that holds the current producer epoch knows no one else has written
since it initialised and caught up; if another registry has written meanwhile,
our commit fails with a fencing error, and the write is recomputed from the
updated state and retried. Writes are thus compare-and-set on the whole log,
with no id ever issued twice. (The cost, one InitProducerId round trip, is paid
only when the writer changes.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from . import errors
from .state import RegistryState, encode

T = TypeVar("T")

log = logging.getLogger(__name__)

# librdkafka logs every refused connection; route its log through ``logging`` under
# this name so that a stopping cluster does not spray the terminal.
_RDKAFKA_LOG = logging.getLogger("streamtest.registry.rdkafka")
_RDKAFKA_LOG.addHandler(logging.NullHandler())
_RDKAFKA_LOG.propagate = False

#: A write: given the state, return the records to produce and the answer.
WriteFn = Callable[[RegistryState], tuple[list[tuple[dict[str, Any], dict[str, Any] | None]], T]]


class KafkaStore:
    """The ``_schemas`` topic as a log of registry records, with a local state.

    Args:
        bootstrap_servers: the Kafka cluster.
        topic: the schemas topic (Confluent's default, ``_schemas``).
        client_config: extra librdkafka settings (security, SASL, ...).
        timeout: seconds a request waits for the store (Confluent's
            ``kafkastore.timeout.ms`` is 500 ms; ours is longer because a loaded test
            machine is slower, and a timeout fails a test).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str = "_schemas",
        client_config: dict[str, Any] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.client_config = dict(client_config or {})
        self.timeout = timeout
        self.state = RegistryState()
        self.lock = threading.Condition(threading.RLock())
        self.position = 0  # every record below this offset is applied
        self._ready = threading.Event()
        self._failure: str | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Any = None
        self._admin: Any = None
        self._latest: Any = None
        self._committed: Any = None
        self._producer: Any = None
        self._write_lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader thread and return at once; the topic is created and read
        in the background (so starting costs no round trip)."""
        self._thread = threading.Thread(
            target=self._run, name=f"streamtest-registry-{self.topic}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop reading and close the clients; a second call is a no-op."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.flush(5)

    def _base(self) -> dict[str, Any]:
        conf: dict[str, Any] = {"logger": _RDKAFKA_LOG, **self.client_config}
        conf["bootstrap.servers"] = self.bootstrap_servers
        return conf

    def _run(self) -> None:
        try:
            self._ensure_topic()
            self._consume()
        except Exception as exc:  # report to every waiting request
            log.exception("the schema registry cannot read %s", self.topic)
            with self.lock:
                self._failure = f"cannot read the {self.topic} topic: {exc}"
                self._ready.set()
                self.lock.notify_all()

    def _ensure_topic(self) -> None:
        """Create the topic (one partition, compacted) unless it exists, and check its
        shape: with more than one partition the log would have no order."""
        from confluent_kafka import IsolationLevel, KafkaError, KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

        admin = AdminClient(self._base())
        # Keep the classes this admin client checks its arguments against: importing
        # them again later could give other class objects if a test runner (pytester)
        # has reloaded confluent_kafka.admin in between.
        self._latest, self._committed = OffsetSpec.latest(), IsolationLevel.READ_COMMITTED
        self._admin = admin
        while not self._stopping.is_set():
            try:
                md = admin.list_topics(timeout=5)
            except KafkaException:
                continue  # the cluster is not up yet: keep trying until stopped
            existing = md.topics.get(self.topic)
            if existing is not None and existing.error is None:
                if len(existing.partitions) != 1:
                    raise RuntimeError(
                        f"the schemas topic {self.topic} must have exactly 1 partition, "
                        f"it has {len(existing.partitions)}"
                    )
                return
            replication = max(1, min(3, len(md.brokers)))
            new = NewTopic(self.topic, 1, replication, config={"cleanup.policy": "compact"})
            try:
                admin.create_topics([new], operation_timeout=10)[self.topic].result(15)
                return
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise

    def _consume(self) -> None:
        from confluent_kafka import Consumer, KafkaError, TopicPartition

        conf = self._base()
        conf.update(
            {
                "group.id": "streamtest-schema-registry-reader",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
                "isolation.level": "read_committed",
                # Low fetch wait: a registry waiting to read its own write should
                # not sit out a long poll that started before the write.
                "fetch.wait.max.ms": 50,
            }
        )
        consumer = Consumer(conf)
        self._consumer = consumer
        consumer.assign([TopicPartition(self.topic, 0, 0)])
        try:
            while not self._stopping.is_set():
                msg = consumer.poll(0.1)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        # The end: everything below it, control records included, is read.
                        with self.lock:
                            self.position = max(self.position, msg.offset())
                            self._ready.set()
                            self.lock.notify_all()
                    else:
                        log.warning("reading %s: %s", self.topic, err.str())
                    continue
                with self.lock:
                    self.state.apply(msg.key(), msg.value())
                    self.position = max(self.position, msg.offset() + 1)
                    self.lock.notify_all()
        finally:
            self._consumer = None
            consumer.close()

    # -- reading ------------------------------------------------------------------------

    def _wait_for(self, offset: int, deadline: float, end: bool = False) -> None:
        """Wait until every record below ``offset`` is applied. With ``end`` (``offset``
        is the topic's last stable offset), one record short is enough: every
        registry writes in transactions, so the last record before the LSO is always
        a commit marker, which the reader skips without reporting (librdkafka says
        so only with the next partition-EOF, a whole fetch wait later)."""
        with self.lock:
            while self.position < offset - (1 if end and offset > 0 else 0):
                if self._failure:
                    raise errors.store_error(self._failure)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise errors.timeout(
                        f"Timed out waiting for the {self.topic} topic to be read up to "
                        f"offset {offset} (at {self.position})"
                    )
                self.lock.wait(min(left, 0.5))

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until the topic has been read to its end once.

        Raises:
            RegistryError: 50001 if the topic cannot be read, 50002 on timeout.
        """
        if not self._ready.wait(self.timeout if timeout is None else timeout):
            raise errors.timeout(
                f"Timed out waiting for the {self.topic} topic at {self.bootstrap_servers}"
            )
        if self._failure:
            raise errors.store_error(self._failure)

    def catch_up(self) -> None:
        """Wait until every record committed to the topic so far is applied.

        Raises:
            RegistryError: 50001/50002 as :meth:`wait_ready`.
        """
        from confluent_kafka import KafkaException, TopicPartition

        deadline = time.monotonic() + self.timeout
        self.wait_ready(self.timeout)
        admin = self._admin
        if admin is None or self._consumer is None:
            raise errors.store_error(f"the {self.topic} reader has stopped")
        # The end for a read_committed reader is the last stable offset. (Asking the
        # reading consumer itself, get_watermark_offsets, blocks while another
        # thread polls it, so a separate client asks.)
        tp = TopicPartition(self.topic, 0)
        try:
            found = admin.list_offsets(
                {tp: self._latest},
                isolation_level=self._committed,
                request_timeout=self.timeout,
            )
            end = found[tp].result(self.timeout).offset
        except KafkaException as exc:
            raise errors.store_error(f"cannot read the end of {self.topic}: {exc}") from None
        self._wait_for(end, deadline, end=True)

    @contextmanager
    def read(self) -> Iterator[RegistryState]:
        """Catch up, then hold the state still while the caller reads it."""
        self.catch_up()
        with self.lock:
            yield self.state

    # -- writing ------------------------------------------------------------------------

    def _new_producer(self) -> Any:
        from confluent_kafka import Producer

        conf = self._base()
        conf.update(
            {
                "transactional.id": f"streamtest-schema-registry-{self.topic}",
                "linger.ms": 0,
                "transaction.timeout.ms": 60000,
            }
        )
        producer = Producer(conf)
        producer.init_transactions(self.timeout)
        return producer

    def write(self, fn: WriteFn[T], attempts: int = 5) -> T:
        """Run ``fn`` on the caught-up state and produce the records it returns in one
        transaction; return its answer once the records are applied locally. If
        another registry wrote in between (we were fenced), ``fn`` runs again on the
        new state.

        Raises:
            RegistryError: what ``fn`` raises; 50001/50002 if the topic cannot be
                written or read back.
        """
        from confluent_kafka import KafkaException

        with self._write_lock:
            last_error = ""
            for _ in range(attempts):
                deadline = time.monotonic() + self.timeout
                try:
                    if self._producer is None:
                        self._producer = self._new_producer()
                    self.catch_up()
                    with self.lock:
                        records, answer = fn(self.state)
                    if not records:
                        return answer
                    offset = self._produce(records)
                except KafkaException as exc:
                    err = exc.args[0]
                    last_error = err.str()
                    if err.fatal() or err.code() in _FENCED_CODES:
                        self._producer = None  # fenced: another registry wrote; redo
                    elif err.txn_requires_abort():
                        try:
                            self._producer.abort_transaction(self.timeout)
                        except KafkaException:
                            self._producer = None
                    continue
                self._wait_for(offset + 1, deadline)
                with self.lock:
                    # Our transaction's commit marker follows our last record.
                    self.position = max(self.position, offset + 2)
                return answer
            raise errors.store_error(f"cannot write to {self.topic}: {last_error}")

    def _produce(self, records: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> int:
        producer = self._producer
        offsets: list[int] = []

        def delivered(err: Any, msg: Any) -> None:
            if err is None:
                offsets.append(msg.offset())

        producer.begin_transaction()
        for key, value in records:
            producer.produce(
                self.topic,
                key=encode(key),
                value=encode(value),
                partition=0,
                on_delivery=delivered,
            )
        producer.commit_transaction(self.timeout)
        producer.poll(0)
        return max(offsets)


def _fenced_codes() -> frozenset[int]:
    from confluent_kafka import KafkaError

    return frozenset(
        {
            KafkaError._FENCED,
            KafkaError.PRODUCER_FENCED,
            KafkaError.INVALID_PRODUCER_EPOCH,
            KafkaError.INVALID_PRODUCER_ID_MAPPING,
        }
    )


class _LazyCodes:
    codes: frozenset[int] | None = None

    def __contains__(self, code: object) -> bool:
        if self.codes is None:
            self.codes = _fenced_codes()
        return code in self.codes


_FENCED_CODES = _LazyCodes()
