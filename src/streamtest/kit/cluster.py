"""``Cluster``: one interface over every Kafka a test can run against.

A test talks to a :class:`Cluster` and never needs to know which backend sits
behind it: the embedded broker (the default), a Kafka or Redpanda container, or
an existing cluster given by bootstrap servers. The helpers (:meth:`Cluster.send`,
:meth:`Cluster.records`, topic management) go through confluent-kafka on the wire
for every backend, so a suite behaves the same on the embedded broker as on a real
Kafka; nothing takes a backend-specific shortcut.

confluent-kafka is imported lazily, inside the methods that need it, so that
``import streamtest`` stays cheap.
"""

from __future__ import annotations

import abc
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..types import KafkaRecord
from .compat import close_producer
from .events import Event

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Producer, ShareConsumer
    from confluent_kafka.admin import AdminClient

    from ..embedded import EmbeddedKafka
    from .share import ShareGroupState

#: What ``headers=`` accepts: a mapping, or ``(key, value)`` pairs (Kafka allows
#: repeated keys, which only the pair form can express).
Headers = Mapping[str, str | bytes | None] | Sequence[tuple[str, str | bytes | None]]

IsolationLevel = Literal["read_uncommitted", "read_committed"]


class BackendUnavailable(RuntimeError):
    """The chosen backend cannot run here (no Docker engine, cluster unreachable, a
    missing optional dependency). The message says why and what to use instead."""


# -- encoding --------------------------------------------------------------------------


def encode(data: Any) -> bytes | None:
    """Return the bytes a key or value is sent as.

    ``None`` stays ``None`` (a null key, or a tombstone value); bytes-like objects are
    sent as they are; ``str`` as UTF-8; anything else as compact JSON.

    Raises:
        TypeError: ``data`` is none of those and is not JSON-serialisable.
    """
    if data is None:
        return None
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str):
        return data.encode()
    try:
        return json.dumps(data, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"cannot send {data!r}: a key or value must be bytes, str or JSON-serialisable"
        ) from exc


def encode_headers(headers: Headers | None) -> list[tuple[str, bytes | None]] | None:
    """Return ``headers`` as the list of ``(str, bytes | None)`` pairs clients take."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(k), encode(v)) for k, v in pairs]


def _split_message(
    message: Any,
) -> tuple[bytes | None, bytes | None, int | None, list[tuple[str, bytes | None]] | None]:
    """Return ``(key, value, timestamp_ms, headers)`` for one message given to ``send``.

    A 2-tuple is a ``(key, value)`` pair; a :class:`~streamtest.types.KafkaRecord` or
    an :class:`~streamtest.kit.events.Event` brings its own key, value and timestamp;
    anything else is a bare value. (A JSON array must therefore be passed as a list,
    not a 2-tuple.)
    """
    if isinstance(message, tuple) and len(message) == 2:
        return encode(message[0]), encode(message[1]), None, None
    if isinstance(message, Event):
        return encode(message.key), encode(message.value), message.timestamp, None
    if isinstance(message, KafkaRecord):
        return message.key, message.value, message.timestamp, list(message.headers) or None
    return None, encode(message), None, None


# -- naming ----------------------------------------------------------------------------

_ILLEGAL = re.compile(r"[^a-zA-Z0-9._-]+")


def unique_name(hint: str = "", prefix: str = "st") -> str:
    """Return a Kafka-legal name that no other test, worker or session will pick.

    ``hint`` (say, the test's name) is kept, shortened and cleaned, so a kept topic
    tells you which test made it; the random suffix makes the name unique even when
    many sessions share one external cluster.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    parts = [prefix, _ILLEGAL.sub("-", hint).strip("-.")[:60], worker, uuid.uuid4().hex[:10]]
    return "-".join(p for p in parts if p)


# -- the interface ---------------------------------------------------------------------


class Cluster(abc.ABC):
    """A Kafka cluster for tests, with helpers that never sleep.

    Subclasses only say how to start and stop the cluster; every helper is shared.
    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with EmbeddedCluster() as kafka:
            kafka.create_topic("orders", partitions=3)
            kafka.send("orders", [("k1", {"amount": 5})])
            assert [r.key for r in kafka.records("orders")] == [b"k1"]

    Args:
        client_config: librdkafka settings added to every client this cluster makes
            (for example ``security.protocol`` for an external cluster).
    """

    #: The backend's name, as chosen with ``--kafka-backend``.
    backend: str = "?"

    def __init__(self, client_config: Mapping[str, Any] | None = None) -> None:
        self.client_config_overrides: dict[str, Any] = dict(client_config or {})
        self._bootstrap: str | None = None
        # The shared clients behind the helpers are made on first use and destroyed
        # in stop(), so no librdkafka thread outlives the cluster.
        self._lock = threading.RLock()
        self._admin: AdminClient | None = None
        self._producer: Producer | None = None
        self._readers: dict[str, Consumer] = {}

    # -- lifecycle (subclasses implement _start/_stop) ----------------------------------

    @abc.abstractmethod
    def _start(self) -> str:
        """Start (or connect to) the cluster and return its bootstrap servers."""

    @abc.abstractmethod
    def _stop(self) -> None:
        """Stop what :meth:`_start` started."""

    def start(self) -> Cluster:
        """Start the cluster and return it, ready for clients.

        Raises:
            BackendUnavailable: the backend cannot run here; the message says why.
            RuntimeError: it is already running.
        """
        if self._bootstrap is not None:
            raise RuntimeError(f"{self!r} is already running")
        self._bootstrap = self._start()
        # Make the helpers' clients now, so they connect while the caller gets on
        # with other work: librdkafka's idempotent producer takes ~500 ms to get its
        # producer id, which would otherwise land on the first test that sends.
        try:
            self._shared_admin()
            self._shared_producer()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Destroy the helpers' clients, then stop the cluster. A second call is a no-op."""
        if self._bootstrap is None:
            return
        # Clients go first: destroyed after the broker, they would log reconnect errors.
        self._close_clients()
        self._bootstrap = None
        self._stop()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Return whether the cluster is started."""
        return self._bootstrap is not None

    @property
    def bootstrap_servers(self) -> str:
        """Return the ``host:port[,host:port...]`` list for ``bootstrap.servers``.

        Raises:
            RuntimeError: the cluster is not started.
        """
        if self._bootstrap is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        return self._bootstrap

    def client_config(self, **overrides: Any) -> dict[str, Any]:
        """Return librdkafka settings for a client of this cluster, plus ``overrides``."""
        return {
            "bootstrap.servers": self.bootstrap_servers,
            **self.client_config_overrides,
            **overrides,
        }

    def __repr__(self) -> str:
        where = self._bootstrap or "stopped"
        return f"<{type(self).__name__} {self.backend} {where}>"

    # -- clients ------------------------------------------------------------------------

    def producer(self, **config: Any) -> Producer:
        """Return a new confluent-kafka ``Producer`` for this cluster.

        ``config`` takes librdkafka settings; dots may be written as underscores
        (``linger_ms=0`` is ``linger.ms=0``). The caller owns it: ``close()`` it.
        """
        from confluent_kafka import Producer

        return Producer(self.client_config(**_dotted(config)))

    def consumer(self, group_id: str | None = None, **config: Any) -> Consumer:
        """Return a new confluent-kafka ``Consumer`` for this cluster.

        It joins ``group_id`` (a fresh, unique group when ``None``) and starts from
        the earliest offset when the group has none (``auto.offset.reset=earliest``).
        The caller owns it: ``close()`` it.
        """
        from confluent_kafka import Consumer

        settings: dict[str, Any] = {
            "group.id": group_id or unique_name(prefix="st-group"),
            "auto.offset.reset": "earliest",
        }
        settings.update(_dotted(config))
        return Consumer(self.client_config(**settings))

    def admin(self, **config: Any) -> AdminClient:
        """Return a new confluent-kafka ``AdminClient`` for this cluster."""
        from confluent_kafka.admin import AdminClient

        return AdminClient(self.client_config(**_dotted(config)))

    # -- share groups (KIP-932) -------------------------------------------------------------

    def configure_group(
        self, group_id: str, configs: Mapping[str, Any], *, timeout: float = 10.0
    ) -> None:
        """Set group configs (the GROUP config resource, IncrementalAlterConfigs), e.g.
        ``{"share.record.lock.duration.ms": 15000}``; values may be Python values.
        Returns once the broker describes the new values, so a group joined next
        is already governed by them.

        Raises:
            confluent_kafka.KafkaException: the broker refused (unknown name, a value
                outside the broker's bounds).
            TimeoutError: the broker did not describe the values within ``timeout``.
        """
        from confluent_kafka.admin import (
            AlterConfigOpType,
            ConfigEntry,
            ConfigResource,
            ResourceType,
        )

        entries = [
            ConfigEntry(k, _config_value(v), incremental_operation=AlterConfigOpType.SET)
            for k, v in configs.items()
        ]
        resource = ConfigResource(ResourceType.GROUP, group_id, incremental_configs=entries)
        admin = self._shared_admin()
        for future in admin.incremental_alter_configs(
            [resource], request_timeout=timeout
        ).values():
            future.result()
        # Apache Kafka stores a group config through its controller and a broker
        # applies it when the metadata record arrives, after the answer above. A
        # share partition initialised in between starts from the default
        # share.auto.offset.reset (latest) and skips what the test produced, so
        # return only once the broker describes the new values (it answers from the
        # same cache). The embedded broker applies them before answering.
        wanted = {e.name: e.value for e in entries}
        described = ConfigResource(ResourceType.GROUP, group_id)
        deadline = time.monotonic() + timeout
        while True:
            [future] = admin.describe_configs([described], request_timeout=timeout).values()
            current = future.result()
            if all(k in current and current[k].value == v for k, v in wanted.items()):
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"group {group_id!r}: the broker did not apply {wanted} within {timeout} s"
                )
            time.sleep(0.05)  # polling a deadline, not waiting for a guess

    def share_consumer(
        self,
        group_id: str | None = None,
        *,
        acknowledgement_mode: Literal["implicit", "explicit"] = "implicit",
        auto_offset_reset: str = "earliest",
        group_config: Mapping[str, Any] | None = None,
        **config: Any,
    ) -> ShareConsumer:
        """Return a new confluent-kafka ``ShareConsumer`` (KIP-932) for this cluster.

        It joins share group ``group_id`` (a fresh, unique group when ``None``), which
        is first configured to start from ``auto_offset_reset`` (the group config
        ``share.auto.offset.reset``: earliest here, where Kafka's default, latest,
        would skip what the test produced before the consumer joined) plus
        ``group_config``. ``acknowledgement_mode`` is ``share.acknowledgement.mode``:
        ``implicit`` accepts each batch at the next poll, ``explicit`` needs
        ``acknowledge()``. The caller owns it: ``close()`` it.

        Raises:
            confluent_kafka.KafkaException: the broker refused the group config.
            streamtest.kit.compat.ShareConsumerUnavailable: the installed
                confluent-kafka has no ShareConsumer.
        """
        from .compat import share_consumer_class

        share_consumer = share_consumer_class()
        group = group_id or unique_name(prefix="st-share")
        self.configure_group(
            group, {"share.auto.offset.reset": auto_offset_reset, **(group_config or {})}
        )
        settings: dict[str, Any] = {
            "group.id": group,
            "share.acknowledgement.mode": acknowledgement_mode,
        }
        settings.update(_dotted(config))
        return share_consumer(self.client_config(**settings))  # type: ignore[no-any-return]

    def share_group_state(self, group_id: str, *, timeout: float = 10.0) -> ShareGroupState:
        """Describe share group ``group_id`` for assertions: its state, members and,
        per partition, the start offset and lag; on the embedded broker also each
        in-flight record's state and delivery count (see :mod:`streamtest.kit.share`).

        On the embedded broker the start offset is the live one. Elsewhere it is
        what Kafka has persisted (DescribeShareGroupOffsets), which moves past newly
        acknowledged records only with the partition's next state write; the lag
        counts them as done either way, so assert on the lag there.

        Raises:
            streamtest.ops.errors.UnknownGroupError: no such share group.
            streamtest.ops.errors.OpsError: the cluster refused or is unreachable.
        """
        from ..ops.client import ClientConfig
        from ..ops.share_groups import describe_share_group, share_offsets
        from .share import from_admin

        config = ClientConfig(
            self.bootstrap_servers,
            {k: _config_value(v) for k, v in self.client_config_overrides.items()},
            timeout,
        )
        info = describe_share_group(config, group_id)
        return from_admin(info, share_offsets(config, group_id), self._share_records(group_id))

    def _share_records(self, group_id: str) -> list[dict[str, Any]] | None:
        """Return the broker's view of the group's in-flight records, where the
        backend has one (the embedded broker), else ``None``."""
        return None

    # -- topics -------------------------------------------------------------------------

    def topics(self, timeout: float = 10.0) -> list[str]:
        """Return the names of the cluster's topics, sorted, without internal
        topics (those starting with ``__``, such as ``__consumer_offsets``)."""
        md = self._shared_admin().list_topics(timeout=timeout)
        return sorted(t for t in md.topics if not t.startswith("__"))

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        config: Mapping[str, Any] | None = None,
        *,
        replication_factor: int = -1,
        timeout: float = 10.0,
    ) -> str:
        """Create topic ``name`` and return its name once clients can use it.

        ``config`` values may be given as Python values (``True``, ``1000``); they are
        sent as Kafka's strings. ``replication_factor=-1`` takes the broker default,
        which is what a multi-broker external cluster wants.

        Raises:
            confluent_kafka.KafkaException: the broker refused (for example, the
                topic exists or a config is invalid).
            TimeoutError: the topic did not show up in metadata within ``timeout``.
        """
        from confluent_kafka.admin import NewTopic

        new = NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=replication_factor,
            config={k: _config_value(v) for k, v in (config or {}).items()},
        )
        admin = self._shared_admin()
        for future in admin.create_topics(
            [new], operation_timeout=timeout, request_timeout=timeout
        ).values():
            future.result()
        # On a multi-broker cluster, CreateTopics returns before every broker knows the
        # topic; wait until metadata shows every partition with a leader, so the
        # caller's first produce does not race the propagation. On one broker this
        # is a single round trip.
        self._wait_for_metadata(name, partitions, timeout)
        return name

    def _wait_for_metadata(self, name: str, partitions: int, timeout: float) -> None:
        from .wait import eventually

        admin = self._shared_admin()

        def ready() -> bool:
            t = admin.list_topics(name, timeout=timeout).topics.get(name)
            return bool(
                t is not None
                and t.error is None
                and len(t.partitions) >= partitions
                and all(p.leader >= 0 for p in t.partitions.values())
            )

        try:
            eventually(ready, timeout=timeout, interval=0.02)
        except AssertionError as exc:
            raise TimeoutError(f"topic {name!r} was created but is not in metadata: {exc}") from exc

    def delete_topic(self, name: str, *, missing_ok: bool = False, timeout: float = 10.0) -> None:
        """Delete topic ``name`` and return once metadata no longer lists it.

        Raises:
            confluent_kafka.KafkaException: the broker refused, or the topic does not
                exist and ``missing_ok`` is false.
            TimeoutError: the topic was still in metadata after ``timeout``.
        """
        from confluent_kafka import KafkaError, KafkaException

        admin = self._shared_admin()
        for future in admin.delete_topics(
            [name], operation_timeout=timeout, request_timeout=timeout
        ).values():
            try:
                future.result()
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                unknown = isinstance(err, KafkaError) and (
                    err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
                )
                if not (missing_ok and unknown):
                    raise
        # Kafka answers DeleteTopics once the controller has the deletion; brokers
        # drop the topic from metadata a moment later, and a test that deletes then
        # lists (or re-creates) would race that. (Found on Apache Kafka, issue 12.)
        from .wait import eventually

        def gone() -> bool:
            return name not in admin.list_topics(timeout=timeout).topics

        try:
            eventually(gone, timeout=timeout, interval=0.02)
        except AssertionError as exc:
            raise TimeoutError(f"topic {name!r} was deleted but is still in metadata") from exc

    # -- producing ----------------------------------------------------------------------

    def send(
        self,
        topic: str,
        messages: Iterable[Any],
        headers: Headers | None = None,
        *,
        partition: int | None = None,
        timeout: float = 10.0,
    ) -> list[tuple[int, int]]:
        """Send ``messages`` to ``topic``, wait until all are acknowledged, and return
        the ``(partition, offset)`` of each, in the order given.

        A message is a ``(key, value)`` pair or a bare value (sent with a null key), or
        an :class:`~streamtest.kit.events.Event` or :class:`~streamtest.KafkaRecord`,
        which bring their own timestamp. Keys and values may be bytes, str (sent as
        UTF-8) or JSON-serialisable objects (sent as JSON); see :func:`encode`.
        ``headers`` are added to every message. Keyed messages are partitioned with
        murmur2, as Java clients and Kafka Streams do.

        Raises:
            TypeError: a key or value cannot be encoded.
            confluent_kafka.KafkaException: a message was not delivered (the first
                delivery error; the others are in ``args``).
            TimeoutError: some messages were still unacknowledged after ``timeout``.
        """
        from confluent_kafka import KafkaException

        producer = self._shared_producer()
        common_headers = encode_headers(headers)
        results: list[tuple[int, int] | None] = []
        errors: list[Any] = []

        def on_delivery(index: int) -> Any:
            def report(err: Any, msg: Any) -> None:
                if err is not None:
                    errors.append(err)
                else:
                    results[index] = (msg.partition(), msg.offset())

            return report

        deadline = time.monotonic() + timeout
        for message in messages:
            key, value, timestamp, own_headers = _split_message(message)
            kwargs: dict[str, Any] = {}
            if partition is not None:
                kwargs["partition"] = partition
            if timestamp is not None:
                kwargs["timestamp"] = timestamp
            all_headers = (own_headers or []) + (common_headers or [])
            if all_headers:
                kwargs["headers"] = all_headers
            results.append(None)
            callback = on_delivery(len(results) - 1)
            while True:
                try:
                    producer.produce(topic, value=value, key=key, on_delivery=callback, **kwargs)
                    break
                except BufferError:
                    # The local queue is full: serve delivery reports to make room.
                    if time.monotonic() > deadline:
                        raise TimeoutError("the producer queue stayed full") from None
                    producer.poll(0.05)
        remaining = producer.flush(max(0.0, deadline - time.monotonic()))
        if errors:
            raise KafkaException(*errors)
        if remaining:
            raise TimeoutError(
                f"{remaining} of {len(results)} messages to {topic!r} were not acknowledged "
                f"within {timeout:g}s"
            )
        return [r for r in results if r is not None]

    # -- reading ------------------------------------------------------------------------

    def records(
        self,
        topic: str,
        timeout: float = 10.0,
        *,
        partition: int | None = None,
        isolation_level: IsolationLevel = "read_uncommitted",
    ) -> list[KafkaRecord]:
        """Return every record in ``topic`` now, ordered by partition then offset.

        The read needs no consumer group: it snapshots each partition's end offset
        (the high watermark, or the last stable offset under ``read_committed``),
        assigns the partitions from their start, and reads up to that snapshot.
        Records produced after the snapshot are not included, so the result is a
        consistent "what is there now". Use it inside :func:`~streamtest.eventually`
        to wait for a pipeline's output.

        Raises:
            KeyError: the topic (or ``partition``) does not exist.
            TimeoutError: the records could not all be read within ``timeout``.
        """
        from confluent_kafka import KafkaError, KafkaException, TopicPartition

        deadline = time.monotonic() + timeout
        with self._lock:
            reader = self._reader(isolation_level)
            md = reader.list_topics(topic, timeout=timeout).topics.get(topic)
            if md is None or md.error is not None:
                reason = md.error.str() if md is not None and md.error is not None else "absent"
                raise KeyError(f"topic {topic!r} does not exist ({reason})")
            numbers = sorted(md.partitions)
            if partition is not None:
                if partition not in md.partitions:
                    raise KeyError(f"topic {topic!r} has no partition {partition}")
                numbers = [partition]
            # end[p] is the offset to read up to (exclusive); start[p] the log start.
            start: dict[int, int] = {}
            end: dict[int, int] = {}
            for p in numbers:
                low, high = reader.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=timeout, cached=False
                )
                if high > low:
                    start[p], end[p] = low, high
            if not end:
                return []
            pending = set(end)
            # An upper bound on what will be returned: control records take offsets too.
            expected = sum(end[p] - start[p] for p in end)
            out: list[KafkaRecord] = []
            reader.assign([TopicPartition(topic, p, start[p]) for p in sorted(end)])
            try:
                while pending:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(
                            f"read {len(out)} records of {topic!r} in {timeout:g}s but "
                            f"partitions {sorted(pending)} did not reach their end offsets"
                        )
                    # Ask for exactly what is still missing, so consume() returns as
                    # soon as it has arrived instead of waiting for a fuller batch.
                    wanted = max(1, min(10_000, expected - len(out)))
                    for msg in reader.consume(num_messages=wanted, timeout=min(left, 0.2)):
                        p = msg.partition()
                        err = msg.error()
                        if err is not None:
                            if err.code() == KafkaError._PARTITION_EOF:
                                # EOF also covers ends reached past control records or
                                # aborted transactional data, which are not returned.
                                if msg.topic() == topic and msg.offset() >= end.get(p, 0):
                                    pending.discard(p)
                                continue
                            raise KafkaException(err)
                        offset = msg.offset()
                        if msg.topic() != topic or p not in end or offset >= end[p]:
                            continue  # beyond the snapshot, or left over from elsewhere
                        out.append(KafkaRecord.from_message(msg))
                        if offset >= end[p] - 1:
                            pending.discard(p)
            finally:
                reader.unassign()
        out.sort(key=lambda r: (r.partition, r.offset))
        return out

    def dump(self, topic: str, *, limit: int = 50, width: int = 100, timeout: float = 10.0) -> str:
        """Return a short, readable view of ``topic``'s records: one line per record
        with partition, offset, timestamp, key, value and headers, values cut to
        ``width`` characters, at most ``limit`` records (the last ones, which a
        failing test usually wants). Printed by the plugin when a test that used a
        topic fixture fails.

        Raises:
            KeyError: the topic does not exist.
            TimeoutError: the records could not be read within ``timeout``.
        """
        records = self.records(topic, timeout=timeout)
        counts: dict[int, int] = {}
        for r in records:
            counts[r.partition] = counts.get(r.partition, 0) + 1
        per = ", ".join(f"p{p}: {n}" for p, n in sorted(counts.items())) or "empty"
        lines = [f"{topic}: {len(records)} records ({per})"]
        shown = records[-limit:] if limit >= 0 else records
        if len(shown) < len(records):
            lines.append(f"  ... {len(records) - len(shown)} earlier records not shown")
        for r in shown:
            head = f"  p{r.partition}@{r.offset}  ts={r.timestamp}  key={_short(r.key, 40)}"
            text = f"{head}  value={_short(r.value, width)}"
            if r.headers:
                text += "  headers=" + ",".join(f"{k}={_short(v, 20)}" for k, v in r.headers)
            lines.append(text)
        return "\n".join(lines)

    # -- consumer groups ----------------------------------------------------------------

    def committed(self, group: str, topic: str, *, timeout: float = 10.0) -> dict[int, int]:
        """Return ``{partition: committed offset}`` of ``group`` on ``topic``; partitions
        the group has not committed are left out (so ``{}`` means nothing committed).

        Raises:
            confluent_kafka.KafkaException: the request failed.
        """
        return {
            p: off
            for (t, p), off in self._group_offsets(group, timeout).items()
            if t == topic
        }

    def lag(self, group: str, topic: str | None = None, *, timeout: float = 10.0) -> int:
        """Return how many records ``group`` has yet to consume: over every partition of
        ``topic`` (or of each topic the group has committed on), the high watermark
        minus the committed offset, or minus the log start offset where the group has
        committed nothing. Wait for a consumer to catch up with
        ``eventually(lambda: kafka.lag(group), equals=0)``.

        Raises:
            KeyError: ``topic`` does not exist.
            confluent_kafka.KafkaException: a request failed.
        """
        from confluent_kafka import TopicPartition

        committed = self._group_offsets(group, timeout)
        topics = [topic] if topic is not None else sorted({t for t, _ in committed})
        total = 0
        with self._lock:
            reader = self._reader("read_uncommitted")
            for name in topics:
                md = reader.list_topics(name, timeout=timeout).topics.get(name)
                if md is None or md.error is not None:
                    raise KeyError(f"topic {name!r} does not exist")
                for p in md.partitions:
                    low, high = reader.get_watermark_offsets(
                        TopicPartition(name, p), timeout=timeout, cached=False
                    )
                    start = committed.get((name, p), low)
                    total += max(0, high - max(start, low))
        return total

    def delete_group(self, group: str, *, missing_ok: bool = True, timeout: float = 10.0) -> None:
        """Delete consumer group ``group`` and its committed offsets.

        A group whose members are still leaving (``NON_EMPTY_GROUP`` just after a
        consumer's ``close()``) is retried until ``timeout``.

        Raises:
            confluent_kafka.KafkaException: the broker refused (the group still has
                members after ``timeout``, or it does not exist and ``missing_ok`` is
                false).
        """
        from confluent_kafka import KafkaError, KafkaException

        from .wait import eventually

        admin = self._shared_admin()

        def attempt() -> bool:
            future = admin.delete_consumer_groups([group], request_timeout=timeout)[group]
            try:
                future.result()
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                code = err.code() if isinstance(err, KafkaError) else None
                if code == KafkaError.GROUP_ID_NOT_FOUND and missing_ok:
                    return True
                if code == KafkaError.NON_EMPTY_GROUP:
                    raise  # retried by eventually until the members have left
                raise _Final(exc) from exc
            return True

        try:
            eventually(attempt, timeout=timeout, interval=0.05, reraise=(_Final,))
        except _Final as final:
            raise final.error from None
        except AssertionError as exc:
            raise exc.last_exception or exc from None  # type: ignore[attr-defined]

    def _group_offsets(self, group: str, timeout: float) -> dict[tuple[str, int], int]:
        from confluent_kafka import ConsumerGroupTopicPartitions

        admin = self._shared_admin()
        future = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=timeout
        )[group]
        result = future.result()
        return {
            (tp.topic, tp.partition): tp.offset
            for tp in result.topic_partitions or []
            if tp.error is None and tp.offset >= 0
        }

    # -- shared clients -----------------------------------------------------------------

    def _shared_admin(self) -> AdminClient:
        with self._lock:
            if self._admin is None:
                self._admin = self.admin()
            return self._admin

    def _shared_producer(self) -> Producer:
        with self._lock:
            if self._producer is None:
                self._producer = self.producer(
                    **{
                        # A test helper wants each send() acknowledged as soon as possible,
                        # in order, exactly once: no lingering, idempotence on.
                        "linger.ms": 0,
                        "enable.idempotence": True,
                        # Java's partitioner, so keys land where Java clients put them.
                        "partitioner": "murmur2_random",
                    }
                )
            return self._producer

    def _reader(self, isolation_level: IsolationLevel) -> Consumer:
        # One reader per isolation level, reused across records() calls (under
        # self._lock): making a librdkafka client costs more than a whole read.
        reader = self._readers.get(isolation_level)
        if reader is None:
            reader = self.consumer(
                group_id=unique_name(prefix="st-reader"),  # required by librdkafka, never joined
                **{
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "enable.partition.eof": True,
                    "isolation.level": isolation_level,
                    # A new assignment waits for the fetch already in flight, which the
                    # broker may hold for this long: keep it short, as a read only
                    # lasts until the partitions' end offsets (1 ms: ~2 ms per read).
                    "fetch.wait.max.ms": 1,
                },
            )
            self._readers[isolation_level] = reader
        return reader

    def _close_clients(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
            readers, self._readers = list(self._readers.values()), {}
            self._admin = None  # AdminClient has no close(); dropping it destroys it
        if producer is not None:
            producer.flush(5)
            close_producer(producer)
        for reader in readers:
            reader.close()


#: confluent-kafka's own (non-librdkafka) settings, whose names really have underscores.
_PYTHON_SETTINGS = frozenset(
    {"error_cb", "stats_cb", "throttle_cb", "oauth_cb", "on_delivery", "on_commit", "logger"}
)


def _dotted(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``config`` with ``_`` in keys read as ``.`` (``group_id`` -> ``group.id``),
    so settings can be passed as Python keyword arguments. librdkafka names never
    contain ``_``; confluent-kafka's callbacks (``error_cb``...) keep theirs."""
    return {
        k if ("." in k or k in _PYTHON_SETTINGS) else k.replace("_", "."): v
        for k, v in config.items()
    }


def _config_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Final(Exception):
    """A failure that retrying cannot fix (carries the original error)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _short(data: bytes | None, width: int) -> str:
    """Return ``data`` for a dump line: UTF-8 text when it decodes (quoted), else
    ``0x`` hex; cut to ``width`` characters with ``...``."""
    if data is None:
        return "null"
    try:
        text = repr(data.decode("utf-8"))
    except UnicodeDecodeError:
        text = "0x" + data.hex()
    return text if len(text) <= width else text[: width - 3] + "..."


# -- backends ----------------------------------------------------------------------------


class EmbeddedCluster(Cluster):
    """The embedded broker (:class:`~streamtest.EmbeddedKafka`) as a :class:`Cluster`.

    Args:
        mode: ``"thread"`` (default) or ``"process"``, as for ``EmbeddedKafka``.
        client_config: see :class:`Cluster`.
        **options: further ``EmbeddedKafka`` arguments (``partitions``, ``data_dir``,
            broker settings).
    """

    backend = "embedded"

    def __init__(
        self,
        mode: Literal["thread", "process"] = "thread",
        client_config: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(client_config)
        self.mode = mode
        self.options = options
        self._embedded: EmbeddedKafka | None = None

    @property
    def embedded(self) -> EmbeddedKafka:
        """Return the running ``EmbeddedKafka`` (for control hooks and inspection).

        Raises:
            RuntimeError: the cluster is not started.
        """
        if self._embedded is None:
            raise RuntimeError("EmbeddedCluster is not running; call start() first")
        return self._embedded

    def _start(self) -> str:
        from ..embedded import EmbeddedKafka

        self._embedded = EmbeddedKafka(mode=self.mode, **self.options).start()
        return self._embedded.bootstrap_servers

    def _stop(self) -> None:
        embedded, self._embedded = self._embedded, None
        if embedded is not None:
            embedded.stop()

    def _share_records(self, group_id: str) -> list[dict[str, Any]] | None:
        return self.embedded.share_group_state(group_id)


class ExternalCluster(Cluster):
    """An existing cluster, reached through ``bootstrap_servers``.

    Starting it only checks that the cluster answers; stopping it only closes the
    helpers' clients. Topics the tests create are deleted by the fixtures, not here.

    Args:
        bootstrap_servers: ``host:port[,host:port...]``.
        client_config: see :class:`Cluster` (security settings go here).
        connect_timeout: seconds to wait for the cluster's first answer.
    """

    backend = "external"

    def __init__(
        self,
        bootstrap_servers: str,
        client_config: Mapping[str, Any] | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        super().__init__(client_config)
        if not bootstrap_servers:
            raise ValueError("ExternalCluster needs bootstrap servers (host:port)")
        self.address = bootstrap_servers
        self.connect_timeout = connect_timeout

    def _start(self) -> str:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        probe = AdminClient({"bootstrap.servers": self.address, **self.client_config_overrides})
        try:
            probe.list_topics(timeout=self.connect_timeout)
        except KafkaException as exc:
            raise BackendUnavailable(
                f"the 'external' backend could not reach a Kafka cluster at {self.address} "
                f"within {self.connect_timeout:g}s ({exc.args[0]}). Check the bootstrap "
                "servers, or use the 'embedded' backend, which needs nothing running."
            ) from exc
        finally:
            del probe
        return self.address

    def _stop(self) -> None:
        pass  # not ours to stop


class ApacheKafkaCluster(Cluster):
    """Apache Kafka itself, from Maven Central, as a :class:`Cluster` (no Docker).

    A single-node KRaft broker in a JVM (see
    :class:`~streamtest.kit.reference_kafka.ReferenceKafka`); it needs Java 17+
    and Maven (the jars are downloaded once into the cache folder). It takes
    seconds to start where the embedded broker takes milliseconds: use it to check
    that a suite behaves the same on the real broker.

    Args:
        version: the Kafka release (``reference_kafka.KAFKA_VERSION`` by default).
        broker_properties: ``server.properties`` entries added to the defaults.
        client_config: see :class:`Cluster`.
        **options: further ``ReferenceKafka`` arguments (``cache_dir``,
            ``jvm_options``, ``startup_timeout``).
    """

    backend = "apache"

    def __init__(
        self,
        version: str | None = None,
        broker_properties: Mapping[str, Any] | None = None,
        client_config: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(client_config)
        self.version = version
        self.broker_properties = dict(broker_properties or {})
        self.options = options
        self.reference: Any = None

    def _start(self) -> str:
        from . import reference_kafka as ref

        kafka = ref.ReferenceKafka(
            self.version or ref.KAFKA_VERSION,
            broker_properties=self.broker_properties,
            **self.options,
        )
        try:
            kafka.start()
        except ref.ToolNotFound as exc:
            raise BackendUnavailable(
                f"The 'apache' backend runs Apache Kafka in a JVM, but {exc}. Install it, or "
                "choose the 'embedded' backend (the default; nothing to install)."
            ) from exc
        except ref.MavenResolutionError as exc:
            raise BackendUnavailable(
                f"The 'apache' backend could not download Apache Kafka: {exc}"
            ) from exc
        self.reference = kafka
        return kafka.bootstrap_servers

    def _stop(self) -> None:
        kafka, self.reference = self.reference, None
        if kafka is not None:
            kafka.stop()
