"""PySpark Structured Streaming against Kafka, for tests: a session with the Kafka
connector, and the seed's patterns as one-liners that never sleep.

Install with ``pip install 'streamtest[spark]'`` (Java 17+ must be there too).
The ``spark`` pytest fixture (:func:`streamtest.factories.spark_session`) builds
the session with :func:`spark_session`; everything else takes that session::

    from streamtest.kit.spark import read_kafka, read_kafka_stream, run_to_memory

    def test_counts(spark, kafka, kafka_topic):
        kafka.send(kafka_topic, [("u1", "click"), ("u2", "view"), ("u1", "buy")])
        events = read_kafka_stream(spark, kafka, kafka_topic)
        rows = run_to_memory(events.groupBy("key").count(), output_mode="complete")
        assert {(r.key, r["count"]) for r in rows} == {(b"u1", 2), (b"u2", 1)}

What each helper waits for, and how:

- :func:`process_all_available` wraps ``StreamingQuery.processAllAvailable``
  (which blocks until every record available *now* has been processed, including
  the no-data batch that advances the watermark) with a deadline. A query that
  fails raises its own exception (PySpark's ``StreamingQueryException``, carrying
  the cause) at once, never a timeout.
- :class:`ProgressCollector` is a ``StreamingQueryListener``. Spark delivers
  listener events asynchronously, so it waits on a condition variable for the
  event it needs, with a deadline.
- :class:`ForeachBatchRecorder` records what ``foreachBatch`` saw, batch by batch.

pyspark is imported only inside these functions: ``import streamtest`` never
imports it.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engines import (
    ConnectorUnavailable,
    EngineUnavailable,
    MavenNotFound,
    not_shipped,
    require_java,
    resolve_connector,
)
from .reference_kafka import cache_dir

if TYPE_CHECKING:  # pragma: no cover - types only
    from pyspark.sql import DataFrame, Row, SparkSession
    from pyspark.sql.streaming import StreamingQuery

#: The pyspark release streamtest's own suite runs; recommended when the Kafka
#: connector for the installed one cannot be resolved.
SPARK_TESTED_VERSION = "4.2.0"

#: Spark's Kafka source and sink, ``{scala}`` being the Scala binary version.
SPARK_KAFKA_ARTIFACT = "org.apache.spark:spark-sql-kafka-0-10_{scala}"

#: What the session sets unless the caller says otherwise: small, local, quiet,
#: in UTC (so windows and timestamps read the same on every machine).
DEFAULT_CONF: Mapping[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    "spark.default.parallelism": "2",
    "spark.sql.streaming.forceDeleteTempCheckpointLocation": "true",
    # Stream-stream and stateful tests assert exact rows; AQE's re-planning of
    # tiny batches only costs time here.
    "spark.sql.adaptive.enabled": "false",
}

#: JVM options for the driver (in local mode, the whole of Spark). A test JVM lives
#: for seconds to minutes and runs tiny jobs: the C1 compiler alone reaches steady
#: speed sooner and spends far less CPU compiling than C1+C2 (Spark's session and
#: first queries took about half the time in a side-by-side run on a loaded 2-core
#: machine), and the serial collector needs no GC threads. Neither changes results.
TEST_JVM_OPTIONS: tuple[str, ...] = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

# Keep Spark's and the Kafka client's INFO lines off the test output; warnings
# and errors still show.
_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex
logger.kafka.name = org.apache.kafka
logger.kafka.level = error
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
"""


# -- the session ---------------------------------------------------------------------------


def _pyspark() -> Any:
    try:
        import pyspark
    except ImportError:
        raise EngineUnavailable(
            "pyspark is not installed: pip install 'streamtest[spark]'"
        ) from None
    return pyspark


def spark_version() -> str:
    """Return the installed pyspark version, e.g. ``"4.2.0"``.

    Raises:
        EngineUnavailable: pyspark is not installed.
    """
    return str(_pyspark().__version__)


def pyspark_jars_dir() -> Path:
    """Return the folder of the jars pyspark ships (its Spark distribution)."""
    return Path(_pyspark().__file__).parent / "jars"


def scala_binary_version() -> str:
    """Return the Scala binary version of the installed Spark, e.g. ``"2.13"``, read
    from the ``scala-library`` jar it ships."""
    for jar in pyspark_jars_dir().glob("scala-library-*.jar"):
        match = re.match(r"scala-library-(\d+\.\d+)\.", jar.name)
        if match:
            return match.group(1)
    # Spark 4 is built for Scala 2.13 only; 3.x defaulted to 2.12.
    return "2.13" if int(spark_version().split(".")[0]) >= 4 else "2.12"


def kafka_connector_coordinate(version: str | None = None, scala: str | None = None) -> str:
    """Return the Maven coordinate of Spark's Kafka connector for ``version``
    (default: the installed pyspark), e.g.
    ``org.apache.spark:spark-sql-kafka-0-10_2.13:4.1.4``."""
    version = version or spark_version()
    scala = scala or scala_binary_version()
    return f"{SPARK_KAFKA_ARTIFACT.format(scala=scala)}:{version}"


def kafka_connector_conf(version: str | None = None) -> dict[str, str]:
    """Return the Spark settings that put the Kafka connector on the classpath.

    The connector and its dependencies are resolved with Maven into the cache
    (``$STREAMTEST_CACHE_DIR``) once, then reused offline; the jars Spark already
    ships are left out (``spark.jars``). Without Maven it falls back to Spark's own
    resolver (``spark.jars.packages``, its Ivy cache also under the cache folder).

    Raises:
        ConnectorUnavailable: the connector for ``version`` cannot be resolved.
        EngineUnavailable: pyspark is not installed.
    """
    version = version or spark_version()
    coordinate = kafka_connector_coordinate(version)
    use = f"pyspark=={SPARK_TESTED_VERSION}"
    try:
        jars = resolve_connector(
            coordinate, "Spark", use, installed_is_tested=version == SPARK_TESTED_VERSION
        )
    except MavenNotFound:
        return {
            "spark.jars.packages": coordinate,
            "spark.jars.ivy": str(cache_dir() / "ivy"),
            # What Spark ships already (hadoop-client alone is 50 MB).
            "spark.jars.excludes": ",".join(
                [
                    "org.apache.hadoop:hadoop-client-runtime",
                    "org.apache.hadoop:hadoop-client-api",
                    "org.slf4j:slf4j-api",
                    "org.lz4:lz4-java",
                    "org.xerial.snappy:snappy-java",
                    "com.google.code.findbugs:jsr305",
                ]
            ),
        }
    extra = not_shipped(jars, pyspark_jars_dir())
    if not any(p.name.startswith("spark-sql-kafka") for p in extra):
        raise ConnectorUnavailable(
            f"{coordinate} resolved without its jar; install {use}", coordinate, use
        )
    return {"spark.jars": ",".join(str(p) for p in extra)}


def _quiet_log4j() -> Path:
    path = cache_dir() / "spark" / "log4j2-streamtest.properties"
    if not path.is_file() or path.read_text() != _LOG4J2:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_text(_LOG4J2)
        tmp.replace(path)  # atomic: xdist workers may write it at once
    return path


def spark_session(
    app_name: str = "streamtest",
    *,
    master: str = "local[2]",
    shuffle_partitions: int = 2,
    conf: Mapping[str, str] | None = None,
    kafka_connector: bool = True,
    log_level: str = "WARN",
) -> SparkSession:
    """Return a SparkSession for tests: ``local[2]``, ``shuffle_partitions`` shuffle
    partitions, no UI, UTC, quiet logs, a JVM tuned for short runs
    (:data:`TEST_JVM_OPTIONS`), and Spark's Kafka connector for the installed
    version on the classpath (unless ``kafka_connector=False``).

    ``conf`` overrides any of those settings. If a session is already running in
    this process, Spark returns it (``getOrCreate``) with ``conf`` applied to its
    SQL settings only.

    Raises:
        EngineUnavailable: pyspark is not installed, or Java 17+ is missing.
        ConnectorUnavailable: the Kafka connector cannot be resolved for the
            installed Spark (the message names the artifact and the version to use).
    """
    _pyspark()
    require_java("Spark")
    from pyspark.sql import SparkSession

    # The JVM inherits this: Spark binds to loopback, like the embedded broker,
    # instead of guessing an interface (and warning that it did).
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    settings: dict[str, str] = dict(DEFAULT_CONF)
    settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    settings["spark.driver.extraJavaOptions"] = " ".join(
        [f"-Dlog4j2.configurationFile=file:{_quiet_log4j()}", *TEST_JVM_OPTIONS]
    )
    if kafka_connector:
        settings.update(kafka_connector_conf())
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        packages = settings.get("spark.jars.packages")
        if not packages or "JAVA_GATEWAY_EXITED" not in str(exc):
            raise
        # Spark's resolver runs inside spark-submit: when it cannot fetch the
        # connector the JVM exits, and Spark only says that it did.
        use = f"pyspark=={SPARK_TESTED_VERSION}"
        raise ConnectorUnavailable(
            f"Spark exited while resolving {packages} with its own resolver (its output is "
            f"above); install Maven, or {use}, the version streamtest is tested with",
            packages,
            use,
        ) from exc
    session.sparkContext.setLogLevel(log_level)
    return session


# -- reading Kafka -------------------------------------------------------------------------

#: Kafka consumer settings for Spark's executors in tests. After the records of a
#: micro-batch, the Java consumer sends its next Fetch at once (it pipelines) and
#: the broker parks it for ``fetch.max.wait.ms`` (500 ms by default) since no new
#: data is there; the task's following ListOffsets waits behind it on the same
#: connection. Apache Kafka and the embedded broker both do this (seen in the
#: clients' debug log), so each task of each micro-batch waited half a second.
#: 50 ms keeps the long poll and gives most of that back.
TEST_CONSUMER_OPTIONS: Mapping[str, str] = {"kafka.fetch.max.wait.ms": "50"}


def _servers(bootstrap_servers: Any) -> str:
    """Accept ``"host:port"`` or anything with ``bootstrap_servers`` (a Cluster, an
    EmbeddedKafka, a ReferenceKafka, KafkaUtils' ``broker``)."""
    return str(getattr(bootstrap_servers, "bootstrap_servers", bootstrap_servers))


def _offsets(value: str | Mapping[str, Any]) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def kafka_options(
    bootstrap_servers: Any,
    topic: str | Sequence[str] | None = None,
    *,
    pattern: str | None = None,
    **options: Any,
) -> dict[str, str]:
    """Return the options of Spark's ``kafka`` source for ``topic`` (one name or
    several) or ``pattern``: ``kafka.bootstrap.servers`` plus ``subscribe`` or
    ``subscribePattern``, :data:`TEST_CONSUMER_OPTIONS`, plus ``options`` (which
    win; dict values, such as
    ``startingOffsets={"t": {"0": 5}}``, are written as JSON, booleans as
    ``true``/``false``).

    Raises:
        ValueError: neither or both of ``topic`` and ``pattern`` are given.
    """
    if (topic is None) == (pattern is None):
        raise ValueError("give exactly one of topic and pattern")
    out = {"kafka.bootstrap.servers": _servers(bootstrap_servers), **TEST_CONSUMER_OPTIONS}
    if pattern is not None:
        out["subscribePattern"] = pattern
    else:
        out["subscribe"] = topic if isinstance(topic, str) else ",".join(topic or ())
    for key, value in options.items():
        if isinstance(value, Mapping):
            out[key] = _offsets(value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"  # Spark's spelling, not Python's
        else:
            out[key] = str(value)
    return out


def read_kafka(
    spark: SparkSession,
    bootstrap_servers: Any,
    topic: str | Sequence[str] | None = None,
    *,
    pattern: str | None = None,
    starting_offsets: str | Mapping[str, Any] = "earliest",
    ending_offsets: str | Mapping[str, Any] = "latest",
    **options: Any,
) -> DataFrame:
    """Return a topic (or several) as a batch DataFrame with Spark's Kafka source
    columns (``key``, ``value``, ``topic``, ``partition``, ``offset``,
    ``timestamp``, ``timestampType``), from ``starting_offsets`` to
    ``ending_offsets``. Further Spark options (``startingOffsetsByTimestamp``,
    ``includeHeaders``, ``kafka.*``) go in ``options``."""
    reader = spark.read.format("kafka")
    opts = kafka_options(
        bootstrap_servers,
        topic,
        pattern=pattern,
        startingOffsets=starting_offsets,
        endingOffsets=ending_offsets,
        **options,
    )
    return reader.options(**opts).load()


def read_kafka_stream(
    spark: SparkSession,
    bootstrap_servers: Any,
    topic: str | Sequence[str] | None = None,
    *,
    pattern: str | None = None,
    starting_offsets: str | Mapping[str, Any] = "earliest",
    **options: Any,
) -> DataFrame:
    """Return a topic (or several) as a streaming DataFrame, from
    ``starting_offsets`` (``earliest`` by default, so a test sees what it sent
    before starting the query). Further Spark options go in ``options``."""
    reader = spark.readStream.format("kafka")
    opts = kafka_options(
        bootstrap_servers, topic, pattern=pattern, startingOffsets=starting_offsets, **options
    )
    return reader.options(**opts).load()


# -- running streaming queries -------------------------------------------------------------


class QueryTimeout(AssertionError):
    """A streaming query did not get through its input before the deadline.

    Raised only when the query is still healthy: a failed query raises its own
    exception instead.
    """


def process_all_available(query: StreamingQuery, timeout: float = 60.0) -> None:
    """Block until ``query`` has processed everything available in its sources now.

    This is ``StreamingQuery.processAllAvailable()`` with a deadline: Spark's own
    call has none, and a query whose source never runs dry would block forever.

    Raises:
        pyspark.errors.StreamingQueryException: the query failed; this is the
            query's own exception, raised as soon as it fails.
        QueryTimeout: ``timeout`` seconds passed first. The query is stopped, and
            the message gives its last status and progress.
    """
    done = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            query.processAllAvailable()
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
        finally:
            done.set()

    waiter = threading.Thread(target=run, name=f"processAllAvailable-{query.id}", daemon=True)
    waiter.start()
    if not done.wait(timeout):
        status, progress = query.status, query.lastProgress
        # Stopping the query wakes processAllAvailable, so no thread is left behind.
        query.stop()
        waiter.join(30)
        batch = progress["batchId"] if progress else "none yet"
        raise QueryTimeout(
            f"streaming query {query.name or query.id} did not process all available "
            f"input within {timeout:g}s (last batch: {batch}; status: {status['message']})"
        )
    if failure:
        raise failure[0]


def _query_name(prefix: str) -> str:
    # Memory-sink names are SQL table names: letters, digits and underscores.
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class MemorySink:
    """A streaming query into Spark's memory sink, to read what it produced.

    Use it as a context manager (the query stops on exit)::

        with MemorySink(counts, output_mode="update") as sink:
            kafka.send(topic, more_events)
            sink.process_all_available()
            assert sink.rows() == [...]

    Args:
        df: the streaming DataFrame.
        output_mode: ``append``, ``update`` or ``complete``.
        query_name: the memory table's name (default: a unique one).
        trigger: keyword arguments for ``DataStreamWriter.trigger``.
        timeout: the default deadline of :meth:`process_all_available`.
    """

    def __init__(
        self,
        df: DataFrame,
        *,
        output_mode: str = "append",
        query_name: str | None = None,
        trigger: Mapping[str, Any] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.df = df
        self.output_mode = output_mode
        self.query_name = query_name or _query_name("st_memory")
        self.trigger = dict(trigger or {})
        self.timeout = timeout
        self._query: StreamingQuery | None = None

    def start(self) -> MemorySink:
        """Start the query and return ``self``."""
        writer = (
            self.df.writeStream.format("memory")
            .queryName(self.query_name)
            .outputMode(self.output_mode)
        )
        if self.trigger:
            writer = writer.trigger(**self.trigger)
        self._query = writer.start()
        return self

    @property
    def query(self) -> StreamingQuery:
        """Return the running ``StreamingQuery``.

        Raises:
            RuntimeError: :meth:`start` has not been called.
        """
        if self._query is None:
            raise RuntimeError("MemorySink is not started; call start() first")
        return self._query

    def process_all_available(self, timeout: float | None = None) -> MemorySink:
        """Process all available input (see :func:`process_all_available`) and
        return ``self``."""
        process_all_available(self.query, self.timeout if timeout is None else timeout)
        return self

    def rows(self) -> list[Row]:
        """Return the memory table's rows now (for ``complete`` mode, the latest
        result; for ``append``/``update``, every row written so far)."""
        if self._query is None:
            raise RuntimeError("MemorySink is not started; call start() first")
        return self.df.sparkSession.table(self.query_name).collect()

    def stop(self) -> None:
        """Stop the query; a second call does nothing."""
        if self._query is not None:
            self._query.stop()

    def __enter__(self) -> MemorySink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_to_memory(
    df: DataFrame, *, output_mode: str = "append", timeout: float = 60.0
) -> list[Row]:
    """Run a streaming DataFrame into the memory sink until all available input is
    processed, stop it, and return the rows it wrote.

    Raises:
        pyspark.errors.StreamingQueryException: the query failed (its own error).
        QueryTimeout: it did not finish within ``timeout`` seconds.
    """
    with MemorySink(df, output_mode=output_mode, timeout=timeout) as sink:
        sink.process_all_available()
        return sink.rows()


# -- listening to progress -----------------------------------------------------------------


class ProgressCollector:
    """A ``StreamingQueryListener`` that keeps every event, and waits for one.

    ``started``, ``progress`` and ``terminated`` hold PySpark's event objects
    (``progress`` holds ``StreamingQueryProgress``: ``batchId``, ``numInputRows``,
    ``sources``, ``durationMs``, ...). Spark posts listener events on its own
    thread, after the batch, so use :meth:`wait_for_batch` or :meth:`wait_for`
    rather than reading the lists right after ``processAllAvailable``.

    Use :func:`collect_progress` to add and remove it around a block.
    """

    def __init__(self, query_id: str | None = None) -> None:
        self.query_id = query_id
        self.started: list[Any] = []
        self.progress: list[Any] = []
        self.idle: list[Any] = []
        self.terminated: list[Any] = []
        self._changed = threading.Condition()
        self.listener = self._make_listener()

    def _mine(self, event: Any) -> bool:
        return self.query_id is None or str(event.id) == self.query_id

    def _record(self, bucket: list[Any], event: Any) -> None:
        with self._changed:
            bucket.append(event)
            self._changed.notify_all()

    def _make_listener(self) -> Any:
        from pyspark.sql.streaming import StreamingQueryListener

        collector = self

        class _Listener(StreamingQueryListener):  # type: ignore[misc]
            def onQueryStarted(self, event: Any) -> None:
                if collector._mine(event):
                    collector._record(collector.started, event)

            def onQueryProgress(self, event: Any) -> None:
                if collector._mine(event.progress):
                    collector._record(collector.progress, event.progress)

            def onQueryIdle(self, event: Any) -> None:
                if collector._mine(event):
                    collector._record(collector.idle, event)

            def onQueryTerminated(self, event: Any) -> None:
                if collector._mine(event):
                    collector._record(collector.terminated, event)

        return _Listener()

    def wait_for(self, predicate: Callable[[ProgressCollector], Any], timeout: float = 30.0) -> Any:
        """Wait until ``predicate(self)`` is truthy and return its value. Woken by
        each event, not by polling.

        Raises:
            AssertionError: not within ``timeout`` seconds (the message counts the
                events seen).
        """
        with self._changed:
            result = self._changed.wait_for(lambda: predicate(self), timeout)
        if not result:
            raise AssertionError(
                f"listener condition not met within {timeout:g}s: saw {len(self.started)} "
                f"started, {len(self.progress)} progress, {len(self.terminated)} terminated"
            )
        return result

    def wait_for_batch(self, batch_id: int, timeout: float = 30.0) -> Any:
        """Wait for the progress event of micro-batch ``batch_id`` and return it."""

        def find(c: ProgressCollector) -> Any:
            return next((p for p in c.progress if p.batchId == batch_id), None)

        return self.wait_for(find, timeout)

    def input_rows(self) -> int:
        """Return the total ``numInputRows`` over the progress events seen so far."""
        with self._changed:
            return sum(p.numInputRows for p in self.progress)


@contextmanager
def collect_progress(
    spark: SparkSession, query_id: str | None = None
) -> Iterator[ProgressCollector]:
    """Add a :class:`ProgressCollector` to ``spark``'s streams for the block, then
    remove it. With ``query_id``, only that query's events are kept."""
    collector = ProgressCollector(query_id)
    spark.streams.addListener(collector.listener)
    try:
        yield collector
    finally:
        spark.streams.removeListener(collector.listener)


# -- foreachBatch --------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedBatch:
    """One micro-batch as ``foreachBatch`` saw it."""

    batch_id: int
    rows: list[Any]


class ForeachBatchRecorder:
    """A ``foreachBatch`` function that records each batch's rows, then calls yours.

    ``writeStream.foreachBatch(recorder)`` records every micro-batch in
    :attr:`batches`; with ``then=upsert`` it then calls ``upsert(batch_df,
    batch_id)``, the function under test. An exception from ``then`` fails the
    query, and :func:`process_all_available` raises it.

    A batch replayed after a restart (same ``batch_id``) is recorded again: that is
    what the sink saw, and what an idempotent sink must cope with.
    """

    def __init__(self, then: Callable[[Any, int], None] | None = None) -> None:
        self.then = then
        self.batches: list[RecordedBatch] = []
        self._lock = threading.Lock()

    def __call__(self, batch_df: DataFrame, batch_id: int) -> None:
        """Record ``batch_df``'s rows as batch ``batch_id``, then call ``then``."""
        rows = batch_df.collect()
        with self._lock:
            self.batches.append(RecordedBatch(batch_id, rows))
        if self.then is not None:
            self.then(batch_df, batch_id)

    @property
    def batch_ids(self) -> list[int]:
        """Return the ids of the batches seen, in order."""
        with self._lock:
            return [b.batch_id for b in self.batches]

    def rows(self) -> list[Any]:
        """Return the rows of every batch, in order."""
        with self._lock:
            return [row for batch in self.batches for row in batch.rows]


__all__ = [
    "DEFAULT_CONF",
    "SPARK_KAFKA_ARTIFACT",
    "SPARK_TESTED_VERSION",
    "TEST_CONSUMER_OPTIONS",
    "TEST_JVM_OPTIONS",
    "ConnectorUnavailable",
    "EngineUnavailable",
    "ForeachBatchRecorder",
    "MemorySink",
    "ProgressCollector",
    "QueryTimeout",
    "RecordedBatch",
    "collect_progress",
    "kafka_connector_conf",
    "kafka_connector_coordinate",
    "kafka_options",
    "process_all_available",
    "read_kafka",
    "read_kafka_stream",
    "run_to_memory",
    "scala_binary_version",
    "spark_session",
    "spark_version",
]
