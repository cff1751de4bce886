"""PyFlink jobs against Kafka, for tests: environments with the Kafka connector jar,
and waiting for a job with a deadline and its own error.

Install with ``pip install 'streamtest[flink]'`` (Java 17+ must be there too).
The ``flink_table_env`` and ``flink_stream_env`` pytest fixtures build their
environments with :func:`table_environment` and :func:`stream_environment`::

    def test_job(flink_table_env, kafka):
        flink_table_env.execute_sql(f"CREATE TABLE src (...) WITH ('connector' = 'kafka', ...)")
        ...
        wait_for_job(flink_table_env.execute_sql("INSERT INTO sink SELECT ..."))

Environments are set up for tests:

- the ``flink-sql-connector-kafka`` jar matching the installed PyFlink minor
  version (:data:`FLINK_KAFKA_CONNECTORS`), resolved from Maven Central into the
  cache (``$STREAMTEST_CACHE_DIR``) once;
- parallelism 1 and no restarts: a failing job fails at once with its own
  error (:class:`JobFailed`), instead of restarting until a timeout;
- Python functions run in this interpreter (``python.executable``), so they see
  the same installed packages;
- Flink's log goes to ``<cache>/flink/log/<xdist worker>`` rather than into
  site-packages.

pyflink is imported only inside these functions: ``import streamtest`` never
imports it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engines import (
    ConnectorUnavailable,
    EngineUnavailable,
    require_java,
    resolve_connector,
)
from .reference_kafka import cache_dir

if TYPE_CHECKING:  # pragma: no cover - types only
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import TableEnvironment, TableResult

#: The PyFlink release streamtest's own suite runs; recommended when no connector
#: is known or resolvable for the installed one.
FLINK_TESTED_VERSION = "2.2.1"

#: Flink's Kafka SQL connector (a shaded jar with the Kafka client inside).
FLINK_KAFKA_ARTIFACT = "org.apache.flink:flink-sql-connector-kafka"

#: The connector release for each Flink minor version. Since Flink 1.17 the Kafka
#: connector is released on its own, as ``<connector>-<flink minor>``, and a jar
#: works only with the Flink minor version it names.
FLINK_KAFKA_CONNECTORS: Mapping[str, str] = {
    "2.2": "5.0.0-2.2",
    "2.0": "4.0.1-2.0",
    "1.20": "3.4.0-1.20",
    "1.19": "3.2.0-1.19",
}

#: Environment variable that overrides the connector release (e.g. for a Flink
#: minor version that is not in :data:`FLINK_KAFKA_CONNECTORS` yet).
ENV_CONNECTOR = "STREAMTEST_FLINK_KAFKA_CONNECTOR"


def _pyflink() -> Any:
    try:
        import pyflink.version
    except ImportError:
        raise EngineUnavailable(
            "pyflink is not installed: pip install 'streamtest[flink]'"
        ) from None
    return pyflink.version


def flink_version() -> str:
    """Return the installed PyFlink version, e.g. ``"2.2.1"``.

    Raises:
        EngineUnavailable: PyFlink (``apache-flink``) is not installed.
    """
    return str(_pyflink().__version__)


def kafka_connector_coordinate(
    version: str | None = None, connector_version: str | None = None
) -> str:
    """Return the Maven coordinate of the Kafka SQL connector for Flink ``version``
    (default: the installed PyFlink), e.g.
    ``org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2``.

    ``connector_version`` (or ``$STREAMTEST_FLINK_KAFKA_CONNECTOR``) picks the
    connector release explicitly.

    Raises:
        ConnectorUnavailable: no connector release is known for that Flink minor
            version (the message names the artifact and the version to use).
    """
    version = version or flink_version()
    minor = ".".join(version.split(".")[:2])
    chosen = connector_version or os.environ.get(ENV_CONNECTOR)
    if not chosen:
        chosen = FLINK_KAFKA_CONNECTORS.get(minor)
    if not chosen:
        known = ", ".join(f"{k} -> {v}" for k, v in FLINK_KAFKA_CONNECTORS.items())
        raise ConnectorUnavailable(
            f"no {FLINK_KAFKA_ARTIFACT} release is known for Flink {version} (known: {known}); "
            f"install apache-flink=={FLINK_TESTED_VERSION}, or set {ENV_CONNECTOR} to the "
            f"connector release for Flink {minor}",
            f"{FLINK_KAFKA_ARTIFACT}:?-{minor}",
            f"apache-flink=={FLINK_TESTED_VERSION}",
        )
    return f"{FLINK_KAFKA_ARTIFACT}:{chosen}"


def kafka_connector_jars(
    version: str | None = None, connector_version: str | None = None
) -> list[Path]:
    """Return the Kafka connector jar(s) for the installed PyFlink, resolving them
    from Maven Central into the cache the first time.

    Raises:
        ConnectorUnavailable: the connector cannot be resolved (one line naming it
            and the version to use).
        MavenNotFound: the jar is not cached and there is no ``mvn``.
    """
    version = version or flink_version()
    coordinate = kafka_connector_coordinate(version, connector_version)
    jars = resolve_connector(
        coordinate,
        "Flink",
        f"apache-flink=={FLINK_TESTED_VERSION}",
        installed_is_tested=version == FLINK_TESTED_VERSION,
    )
    # The SQL connector is one shaded jar; anything Maven brings along with it is
    # already inside it or in Flink's own lib/.
    own = [p for p in jars if p.name.startswith("flink-sql-connector-kafka")]
    return own or jars


#: JVM options for PyFlink's JVM (which also runs the local MiniCluster): short
#: runs of tiny jobs, as for Spark (see ``streamtest.kit.spark.TEST_JVM_OPTIONS``).
TEST_JVM_OPTIONS: tuple[str, ...] = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def _prepare_gateway() -> None:
    """Settle where Flink's JVM logs, and its JVM options, before PyFlink launches it
    (once per process; ``JVM_ARGS`` set by the caller wins)."""
    os.environ.setdefault("JVM_ARGS", " ".join(TEST_JVM_OPTIONS))
    if "FLINK_LOG_DIR" not in os.environ:
        # One folder per pytest-xdist worker: PyFlink names the file after the host
        # only, and two JVMs appending to one file would interleave their lines.
        log_dir = cache_dir() / "flink" / "log" / os.environ.get("PYTEST_XDIST_WORKER", "main")
        log_dir.mkdir(parents=True, exist_ok=True)
        os.environ["FLINK_LOG_DIR"] = str(log_dir)


def flink_settings(
    jars: list[Path] | None = None,
    *,
    parallelism: int = 1,
    checkpoint_interval_ms: int | None = None,
    conf: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the Flink settings the environments get (see the module docstring);
    ``conf`` overrides any of them."""
    settings = {
        "parallelism.default": str(parallelism),
        # Fail fast with the job's own error: by default a checkpointed job
        # restarts (with a growing delay) for ever.
        "restart-strategy.type": "none",
        "python.executable": sys.executable,
        "python.client.executable": sys.executable,
        "rest.bind-address": "127.0.0.1",
        "rest.address": "127.0.0.1",
    }
    if jars:
        settings["pipeline.jars"] = ";".join(p.resolve().as_uri() for p in jars)
    if checkpoint_interval_ms is not None:
        settings["execution.checkpointing.interval"] = f"{checkpoint_interval_ms}ms"
    settings.update(conf or {})
    return settings


def _configuration(settings: Mapping[str, str]) -> Configuration:
    from pyflink.common import Configuration

    configuration = Configuration()
    for key, value in settings.items():
        configuration.set_string(key, value)
    return configuration


def _require() -> None:
    _pyflink()
    require_java("Flink")
    _prepare_gateway()


def table_environment(
    jars: list[Path] | None = None,
    *,
    parallelism: int = 1,
    checkpoint_interval_ms: int | None = None,
    conf: Mapping[str, str] | None = None,
) -> TableEnvironment:
    """Return a streaming-mode ``TableEnvironment`` with the settings of
    :func:`flink_settings` and ``jars`` (default: the Kafka connector) on its
    pipeline classpath.

    Raises:
        EngineUnavailable: PyFlink or Java 17+ is missing.
        ConnectorUnavailable: the Kafka connector cannot be resolved.
    """
    _require()
    from pyflink.table import EnvironmentSettings, TableEnvironment

    if jars is None:
        jars = kafka_connector_jars()
    settings = flink_settings(
        jars, parallelism=parallelism, checkpoint_interval_ms=checkpoint_interval_ms, conf=conf
    )
    env_settings = (
        EnvironmentSettings.new_instance()
        .in_streaming_mode()
        .with_configuration(_configuration(settings))
        .build()
    )
    return TableEnvironment.create(env_settings)


def stream_environment(
    jars: list[Path] | None = None,
    *,
    parallelism: int = 1,
    checkpoint_interval_ms: int | None = None,
    conf: Mapping[str, str] | None = None,
) -> StreamExecutionEnvironment:
    """Return a ``StreamExecutionEnvironment`` with the settings of
    :func:`flink_settings` and ``jars`` (default: the Kafka connector).

    Raises:
        EngineUnavailable: PyFlink or Java 17+ is missing.
        ConnectorUnavailable: the Kafka connector cannot be resolved.
    """
    _require()
    from pyflink.datastream import StreamExecutionEnvironment

    if jars is None:
        jars = kafka_connector_jars()
    settings = flink_settings(
        jars, parallelism=parallelism, checkpoint_interval_ms=checkpoint_interval_ms, conf=conf
    )
    return StreamExecutionEnvironment.get_execution_environment(_configuration(settings))


# -- waiting for jobs ----------------------------------------------------------------------


class JobFailed(RuntimeError):
    """A Flink job failed. The message is the job's root cause (its class and
    message); the full Java error is chained as ``__cause__``.

    Attributes:
        root_cause: the Java class name of the root cause, e.g.
            ``org.apache.kafka.common.errors.TimeoutException``.
    """

    def __init__(self, message: str, root_cause: str) -> None:
        super().__init__(message)
        self.root_cause = root_cause


class JobTimeout(AssertionError):
    """A Flink job was still running at the deadline (it has been cancelled)."""


def _root_cause(exc: BaseException) -> tuple[str, str] | None:
    """Return the (class, message) at the bottom of a Py4JJavaError's cause chain."""
    java = getattr(exc, "java_exception", None)
    if java is None:
        return None
    seen = 0
    while java.getCause() is not None and seen < 50:
        java, seen = java.getCause(), seen + 1
    return str(java.getClass().getName()), str(java.getMessage())


def _wait(what: str, block: Callable[[], Any], cancel: Callable[[], Any], timeout: float) -> Any:
    done = threading.Event()
    outcome: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(block())
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
        finally:
            done.set()

    waiter = threading.Thread(target=run, name=f"wait-{what}", daemon=True)
    waiter.start()
    if not done.wait(timeout):
        cancel()
        done.wait(30)
        raise JobTimeout(f"Flink job {what} was still running after {timeout:g}s; cancelled it")
    if failure:
        exc = failure[0]
        cause = _root_cause(exc)
        if cause is None:
            raise exc
        name, message = cause
        raise JobFailed(f"Flink job {what} failed: {name}: {message}", name) from exc
    return outcome[0] if outcome else None


def wait_for_job(result: TableResult, timeout: float = 120.0) -> None:
    """Wait until the job behind ``result`` (from ``execute_sql("INSERT ...")`` or
    ``StatementSet.execute()``) finishes. Use it with bounded sources
    (``'scan.bounded.mode' = 'latest-offset'``), which end the job once they
    reach the offsets that were latest when it started.

    Raises:
        JobFailed: the job failed (its root cause).
        JobTimeout: it was still running after ``timeout`` seconds; it is cancelled.
    """
    client = result.get_job_client()
    what = str(client.get_job_id()) if client is not None else "statement"

    def cancel() -> None:
        if client is not None:
            client.cancel()

    _wait(what, result.wait, cancel, timeout)


@contextlib.contextmanager
def pyflink_py4j() -> Iterator[None]:
    """Run the block with PyFlink's py4j error handler, restoring what was there.

    PyFlink and PySpark each replace ``py4j.java_gateway.get_return_value`` for the
    whole process, PyFlink once when it launches its gateway and PySpark on every
    SparkSession (both call it ``install_exception_handler``). After a Spark test,
    a later Flink test in the same process ran with Spark's handler, which turns a
    Java exception into a Python one by calling Spark's classes; in Flink's JVM that
    call fails with ``Py4JError``, not the ``Py4JJavaError`` PyFlink catches where
    it expects a Java exception (``get_field`` looks a field up class by class), so
    ``execute_async`` failed with ``NoSuchFieldException: transformations``
    (seen on CI, depending on which test files a pytest-xdist worker got).
    """
    try:
        import py4j.java_gateway
        from pyflink.util.exceptions import install_exception_handler
    except ImportError:
        yield
        return
    current = py4j.java_gateway.get_return_value
    install_exception_handler()
    try:
        yield
    finally:
        py4j.java_gateway.get_return_value = current


def execute(env: StreamExecutionEnvironment, job_name: str, timeout: float = 120.0) -> Any:
    """Run the DataStream job defined on ``env`` and wait for it to finish; return
    its ``JobExecutionResult``.

    Raises:
        JobFailed: the job failed (its root cause).
        JobTimeout: it was still running after ``timeout`` seconds; it is cancelled.
    """
    with pyflink_py4j():
        client = env.execute_async(job_name)
    return _wait(
        job_name, lambda: client.get_job_execution_result().result(), client.cancel, timeout
    )


__all__ = [
    "ENV_CONNECTOR",
    "FLINK_KAFKA_ARTIFACT",
    "FLINK_KAFKA_CONNECTORS",
    "FLINK_TESTED_VERSION",
    "ConnectorUnavailable",
    "EngineUnavailable",
    "JobFailed",
    "JobTimeout",
    "execute",
    "flink_settings",
    "pyflink_py4j",
    "flink_version",
    "kafka_connector_coordinate",
    "kafka_connector_jars",
    "stream_environment",
    "table_environment",
    "wait_for_job",
]
