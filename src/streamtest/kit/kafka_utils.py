"""``KafkaUtils``: the seeds' (and PySpark's test suite's) helper class, on any backend.

A test written against the seed's ``KafkaUtils`` ports unchanged: the same methods,
arguments and properties. The differences are deliberate:

- it starts the embedded broker by default (milliseconds, no Docker); pass
  ``backend="kafka"`` for the seed's container, or set ``STREAMTEST_BACKEND``;
- ``producer`` and ``admin_client`` are confluent-kafka clients (streamtest's one
  runtime client library) rather than kafka-python's ``KafkaProducer`` and
  ``KafkaAdminClient``;
- ``assert_eventually`` and ``wait_for_query_alive`` poll every 0.1 s by default
  rather than every second: the polls are cheap, and a passing test should not
  wait a second for nothing. Their ``interval`` argument is still honoured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .backends import env_level, make_cluster, resolve_settings
from .cluster import Cluster
from .compat import close_producer
from .wait import assert_eventually as _assert_eventually
from .wait import eventually


class KafkaUtils:
    """Start a Kafka cluster for a test class, manage topics, send and read data.

    Args:
        kafka_version: the Confluent Platform image tag for the ``kafka`` backend
            (as in the seed); ignored by the other backends.
        backend: ``"embedded"`` (default), ``"kafka"``, ``"redpanda"`` or
            ``"external"``; when ``None``, ``STREAMTEST_BACKEND`` decides.
        bootstrap_servers: the cluster for ``external`` (or
            ``STREAMTEST_BOOTSTRAP_SERVER``).
        **options: further backend options (see :func:`streamtest.kit.make_cluster`).
    """

    def __init__(
        self,
        kafka_version: str = "7.4.0",
        *,
        backend: str | None = None,
        bootstrap_servers: str | None = None,
        **options: Any,
    ) -> None:
        self.kafka_version = kafka_version
        self.backend = backend
        self.bootstrap_servers = bootstrap_servers
        self.options = options
        self._cluster: Cluster | None = None
        self._producer: Any = None
        self._admin: Any = None

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def initialized(self) -> bool:
        """Return whether :meth:`setup` has run (and :meth:`teardown` has not)."""
        return self._cluster is not None

    def setup(self) -> None:
        """Start the cluster and the clients; a second call is a no-op.

        Raises:
            streamtest.BackendUnavailable: the backend cannot run here (for
                ``kafka``/``redpanda``: no Docker engine, or testcontainers missing).
            ValueError: an unknown backend, or ``external`` without servers.
        """
        if self._cluster is not None:
            return
        settings = resolve_settings(
            [
                (
                    "KafkaUtils argument",
                    {"backend": self.backend, "bootstrap_servers": self.bootstrap_servers},
                ),
                ("environment", env_level()),
            ]
        )
        options = dict(self.options)
        if settings.backend == "kafka":
            options.setdefault("image", f"confluentinc/cp-kafka:{self.kafka_version}")
        cluster = make_cluster(settings.backend, settings.bootstrap_servers, **options)
        cluster.start()
        try:
            self._admin = cluster.admin()
            self._producer = cluster.producer(**{"linger.ms": 0})
        except BaseException:
            cluster.stop()
            raise
        self._cluster = cluster

    def teardown(self) -> None:
        """Close the clients and stop the cluster. Safe to call more than once, and
        after a failed :meth:`setup`."""
        producer, self._producer = self._producer, None
        self._admin = None
        cluster, self._cluster = self._cluster, None
        try:
            if producer is not None:
                producer.flush(5)
                close_producer(producer)
        finally:
            if cluster is not None:
                cluster.stop()

    def __enter__(self) -> KafkaUtils:
        self.setup()
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()

    def _require(self) -> Cluster:
        if self._cluster is None:
            raise RuntimeError("KafkaUtils has not been initialized. Call setup() first.")
        return self._cluster

    # -- properties ---------------------------------------------------------------------

    @property
    def cluster(self) -> Cluster:
        """Return the :class:`~streamtest.Cluster` behind this helper."""
        return self._require()

    @property
    def broker(self) -> str:
        """Return the bootstrap servers, e.g. ``"127.0.0.1:39113"``."""
        return self._require().bootstrap_servers

    @property
    def producer(self) -> Any:
        """Return the confluent-kafka ``Producer`` used by :meth:`send_messages`."""
        self._require()
        return self._producer

    @property
    def admin_client(self) -> Any:
        """Return the confluent-kafka ``AdminClient``."""
        self._require()
        return self._admin

    # -- topics -------------------------------------------------------------------------

    def create_topics(
        self, topic_names: Sequence[str], num_partitions: int = 1, replication_factor: int = 1
    ) -> None:
        """Create the topics; ones that already exist are left as they are (as in the
        seed, so a shared topic can be "created" by every test that uses it).

        Raises:
            confluent_kafka.KafkaException: the broker refused for another reason.
        """
        from confluent_kafka import KafkaError, KafkaException

        cluster = self._require()
        for name in topic_names:
            try:
                cluster.create_topic(name, num_partitions, replication_factor=replication_factor)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if not (
                    isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS
                ):
                    raise

    def delete_topics(self, topic_names: Sequence[str]) -> None:
        """Delete the topics; ones that do not exist are ignored."""
        cluster = self._require()
        for name in topic_names:
            cluster.delete_topic(name, missing_ok=True)

    # -- data -----------------------------------------------------------------------------

    def send_messages(self, topic: str, messages: Iterable[tuple[Any, Any]]) -> None:
        """Send ``(key, value)`` pairs and wait until every one is acknowledged.

        Keys and values may be str, bytes, ``None`` or JSON-serialisable values.

        Raises:
            confluent_kafka.KafkaException, TimeoutError: see ``Cluster.send``.
        """
        self._require().send(topic, [(k, v) for k, v in messages])

    def get_all_records(
        self,
        spark: Any,
        topic: str,
        key_deserializer: str = "STRING",
        value_deserializer: str = "STRING",
    ) -> dict[Any, Any]:
        """Return ``{key: value}`` for every record in ``topic`` (later offsets win).

        With ``spark=None`` the records are read directly (no consumer group, up to
        the high watermark) and decoded as Spark's ``CAST(x AS STRING)`` or
        ``CAST(x AS BINARY)`` would. With a SparkSession they are read by Spark's
        ``kafka`` batch source, ``earliest`` to ``latest``: ``STRING`` and
        ``BINARY`` cast the raw bytes, and any other Spark type (``INT``,
        ``DOUBLE``, ``DATE``, ...) casts their UTF-8 text, so ``"42"`` becomes 42.

        Raises:
            ValueError: ``spark`` is None and a deserializer is not STRING or BINARY.
            KeyError: ``spark`` is None and the topic does not exist.
        """
        cluster = self._require()
        if spark is not None:
            return _read_with_spark(
                spark, cluster.bootstrap_servers, topic, key_deserializer, value_deserializer
            )
        decode_key = _decoder(key_deserializer)
        decode_value = _decoder(value_deserializer)
        out: dict[Any, Any] = {}
        for record in cluster.records(topic):
            out[decode_key(record.key)] = decode_value(record.value)
        return out

    # -- waiting --------------------------------------------------------------------------

    def assert_eventually(
        self,
        result_func: Callable[[], Any],
        expected: Any,
        timeout: float = 60,
        interval: float = 0.1,
    ) -> None:
        """Wait until ``result_func()`` equals ``expected``.

        Raises:
            AssertionError: not within ``timeout`` seconds; says what was last seen.
        """
        __tracebackhide__ = True
        _assert_eventually(result_func, expected, timeout=timeout, interval=interval)

    def wait_for_query_alive(self, query: Any, timeout: float = 60, interval: float = 0.1) -> None:
        """Wait until a Spark ``StreamingQuery`` is alive: it has data available, a
        trigger running, or a finished micro-batch behind it (a query that has
        already caught up and sits between triggers is alive too).

        Raises:
            Exception: the query failed (its own exception, re-raised at once).
            AssertionError: the query was not alive within ``timeout`` seconds.
        """

        def alive() -> bool:
            failure = query.exception()
            if failure is not None:
                raise _QueryFailed(failure)
            status = query.status
            return bool(
                status.get("isDataAvailable")
                or status.get("isTriggerActive")
                or query.lastProgress is not None
            )

        try:
            eventually(alive, timeout=timeout, interval=interval, reraise=(_QueryFailed,))
        except _QueryFailed as failed:
            raise failed.failure from None
        except AssertionError as exc:
            raise AssertionError(f"Query did not become active within {timeout:g}s.") from exc


class _QueryFailed(Exception):
    """Carries a streaming query's own exception out of the polling loop."""

    def __init__(self, failure: BaseException) -> None:
        super().__init__(str(failure))
        self.failure = failure


def _decoder(name: str) -> Callable[[bytes | None], Any]:
    kind = name.strip().upper()
    if kind == "STRING":
        # Spark casts binary to string as UTF-8, replacing invalid bytes.
        return lambda b: None if b is None else b.decode("utf-8", errors="replace")
    if kind == "BINARY":
        return lambda b: b
    raise ValueError(f"without a SparkSession, deserializer must be STRING or BINARY, not {name!r}")


def _spark_cast(column: str, type_name: str) -> str:
    """Return the SQL that turns Kafka's binary ``column`` into ``type_name``: Spark
    casts binary only to STRING (as UTF-8) and BINARY, so other types go through
    the text."""
    kind = type_name.strip().upper()
    if kind in ("STRING", "BINARY"):
        return f"CAST({column} AS {kind}) AS {column}"
    return f"CAST(CAST({column} AS STRING) AS {type_name}) AS {column}"


def _read_with_spark(
    spark: Any, bootstrap_servers: str, topic: str, key_type: str, value_type: str
) -> dict[Any, Any]:
    """Read ``topic`` with Spark's Kafka batch source (see ``examples/spark``)."""
    df = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap_servers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        # See streamtest.kit.spark.TEST_CONSUMER_OPTIONS: without it each task
        # waits half a second for a prefetch the broker parks.
        .option("kafka.fetch.max.wait.ms", "50")
        .load()
        .orderBy("partition", "offset")  # so later offsets win, as without Spark
        .selectExpr(_spark_cast("key", key_type), _spark_cast("value", value_type))
    )
    return {row["key"]: row["value"] for row in df.collect()}
