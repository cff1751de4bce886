"""Fixture factories: build your own Kafka fixtures, as pytest-postgresql does.

The plugin's own fixtures are made by these factories, so a user's variants are
first-class::

    # conftest.py
    from streamtest import factories

    kafka_process = factories.kafka_cluster(mode="process")   # another session cluster
    staging = factories.kafka_external("kafka.staging:9092")  # an existing cluster
    orders = factories.kafka_topic("kafka_process", partitions=6)
    orders_consumer = factories.kafka_consumer("kafka_process", group_id="orders-app")

Each factory returns a fixture function; assign it to a module-level name in a
conftest or test module and that name becomes the fixture. Fixtures that need a
cluster take the *name* of the cluster fixture, so they can be pointed at any.

Every setting a factory takes beats the command line, which beats the ini file,
which beats the environment (see :func:`streamtest.kit.backends.resolve_settings`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from .backends import Settings, env_level, make_cluster, parse_bool, resolve_settings
from .cluster import BackendUnavailable, Cluster, unique_name
from .topics import TopicFactory

#: The default cluster fixture's name.
DEFAULT_CLUSTER = "kafka"


def settings_for(
    config: pytest.Config,
    backend: str | None = None,
    bootstrap_servers: str | None = None,
    keep_topics: bool | None = None,
) -> Settings:
    """Return the settings for a fixture, with factory arguments over command line
    over ini file over environment.

    Raises:
        pytest.UsageError: the settings are invalid (unknown backend, ...).
    """
    try:
        ini_keep = config.getini("streamtest_keep_topics")
        levels = [
            (
                "factory argument",
                {
                    "backend": backend,
                    "bootstrap_servers": bootstrap_servers,
                    "keep_topics": keep_topics,
                },
            ),
            (
                "command line",
                {
                    "backend": config.getoption("kafka_backend"),
                    "bootstrap_servers": config.getoption("kafka_bootstrap_servers"),
                    # store_true cannot say "unset", so only a given flag counts.
                    "keep_topics": True if config.getoption("kafka_keep_topics") else None,
                },
            ),
            (
                "ini file",
                {
                    "backend": config.getini("streamtest_backend") or None,
                    "bootstrap_servers": config.getini("streamtest_bootstrap_servers") or None,
                    "keep_topics": parse_bool(ini_keep, "streamtest_keep_topics")
                    if ini_keep not in (None, "")
                    else None,
                },
            ),
            ("environment", env_level()),
        ]
        return resolve_settings(levels)
    except ValueError as exc:
        raise pytest.UsageError(f"streamtest: {exc}") from exc


def kafka_cluster(
    backend: str | None = None,
    bootstrap_servers: str | None = None,
    *,
    scope: str = "session",
    client_config: Mapping[str, Any] | None = None,
    **options: Any,
) -> Callable[..., Any]:
    """Return a fixture that starts a :class:`~streamtest.Cluster` and stops it after
    ``scope`` (like pytest-postgresql's ``postgresql_proc``).

    ``backend`` and ``bootstrap_servers`` default to the command line, ini file and
    environment (then ``embedded``). ``options`` go to the backend (for example
    ``mode="process"`` or ``partitions=3`` for ``embedded``, ``image=...`` for
    ``kafka``/``redpanda``); ``client_config`` is added to every client.

    Under pytest-xdist every worker runs its own session, so each worker gets its
    own embedded broker or container; on ``external``, workers share the cluster
    and stay apart through unique topic and group names.
    """

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def cluster_fixture(request: pytest.FixtureRequest) -> Iterator[Cluster]:
        settings = settings_for(request.config, backend, bootstrap_servers)
        cluster = make_cluster(
            settings.backend, settings.bootstrap_servers, client_config=client_config, **options
        )
        try:
            cluster.start()
        except BackendUnavailable as exc:
            # One clear sentence instead of a traceback from inside docker-py.
            pytest.fail(f"streamtest ({settings.describe()}): {exc}", pytrace=False)
        try:
            yield cluster
        finally:
            cluster.stop()

    return cluster_fixture


def kafka_external(
    bootstrap_servers: str | None = None,
    *,
    scope: str = "session",
    client_config: Mapping[str, Any] | None = None,
) -> Callable[..., Any]:
    """Return a fixture for an existing cluster (like pytest-postgresql's
    ``postgresql_noproc``): ``kafka_cluster("external", bootstrap_servers)``. When
    ``bootstrap_servers`` is ``None`` they come from the command line, ini file or
    environment."""
    return kafka_cluster("external", bootstrap_servers, scope=scope, client_config=client_config)


def _keep(request: pytest.FixtureRequest, keep: bool | None) -> bool:
    return settings_for(request.config, keep_topics=keep).keep_topics if keep is None else keep


def kafka_topic(
    cluster_fixture: str = DEFAULT_CLUSTER,
    *,
    partitions: int = 1,
    config: Mapping[str, Any] | None = None,
    keep: bool | None = None,
    marker: str | None = None,
) -> Callable[..., Any]:
    """Return a function-scoped fixture that creates a fresh, uniquely named topic
    and deletes it after the test (unless kept: ``keep=True``, the
    ``--kafka-keep-topics`` flag, ``streamtest_keep_topics`` in the ini file, or
    ``STREAMTEST_KEEP_TOPICS=1``).

    When ``marker`` names a marker, ``@pytest.mark.<marker>(partitions=..., config=...,
    name=..., keep=...)`` on the test overrides the factory's arguments (the plugin's
    ``kafka_topic`` fixture reads ``@pytest.mark.kafka_topic``).
    """

    @pytest.fixture
    def topic_fixture(request: pytest.FixtureRequest) -> Iterator[str]:
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        shape: dict[str, Any] = {
            "partitions": partitions,
            "config": config,
            "name": None,
            "keep": keep,
        }
        found = request.node.get_closest_marker(marker) if marker else None
        if found is not None:
            unknown = set(found.kwargs) - set(shape)
            if found.args or unknown:
                pytest.fail(
                    f"@pytest.mark.{marker} takes only the keyword arguments partitions=, "
                    f"config=, name= and keep=; got {found.args or sorted(unknown)}",
                    pytrace=False,
                )
            shape.update(found.kwargs)
        name = shape["name"] or unique_name(request.node.name)
        cluster.create_topic(name, shape["partitions"], shape["config"])
        try:
            yield name
        finally:
            if not _keep(request, shape["keep"]):
                cluster.delete_topic(name, missing_ok=True)

    return topic_fixture


def kafka_topic_factory(
    cluster_fixture: str = DEFAULT_CLUSTER, *, keep: bool | None = None
) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a :class:`~streamtest.TopicFactory`:
    call it as ``factory(name=None, partitions=1, config=None) -> str``. Its topics
    are deleted after the test unless kept (as for :func:`kafka_topic`)."""

    @pytest.fixture
    def topic_factory_fixture(request: pytest.FixtureRequest) -> Iterator[TopicFactory]:
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        factory = TopicFactory(cluster, prefix=request.node.name)
        try:
            yield factory
        finally:
            if _keep(request, keep):
                factory.created_topics.clear()
            else:
                factory.cleanup()

    return topic_factory_fixture


def kafka_producer(cluster_fixture: str = DEFAULT_CLUSTER, **config: Any) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a confluent-kafka ``Producer``.

    At teardown it flushes and closes the producer; messages still undelivered
    then fail the test's teardown, since a silently lost message hides a bug.
    """

    @pytest.fixture
    def producer_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        producer = cluster.producer(**config)
        try:
            yield producer
        finally:
            undelivered = producer.flush(10)
            producer.close()
            if undelivered:
                pytest.fail(
                    f"kafka_producer: {undelivered} messages were never delivered", pytrace=False
                )

    return producer_fixture


def kafka_consumer(
    cluster_fixture: str = DEFAULT_CLUSTER, group_id: str | None = None, **config: Any
) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a confluent-kafka ``Consumer`` with a
    unique ``group.id`` (unless ``group_id`` is given) and
    ``auto.offset.reset=earliest``, closed after the test."""

    @pytest.fixture
    def consumer_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        consumer = cluster.consumer(
            group_id or unique_name(request.node.name, "st-group"), **config
        )
        try:
            yield consumer
        finally:
            consumer.close()

    return consumer_fixture


def kafka_admin(cluster_fixture: str = DEFAULT_CLUSTER, **config: Any) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a confluent-kafka ``AdminClient``."""

    @pytest.fixture
    def admin_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        admin = cluster.admin(**config)
        yield admin
        # AdminClient has no close(): dropping the last reference destroys it.
        del admin

    return admin_fixture


# -- Spark and Flink -------------------------------------------------------------------------


def _engine_unavailable(what: str, exc: Exception) -> None:
    """Skip for a missing engine or Java, fail for a connector that can't be had;
    either way with one line."""
    from .engines import ConnectorUnavailable, EngineUnavailable, MavenNotFound

    if isinstance(exc, EngineUnavailable | MavenNotFound):
        pytest.skip(f"{what}: {exc}")
    if isinstance(exc, ConnectorUnavailable):
        pytest.fail(f"{what}: {exc}", pytrace=False)
    raise exc


def _preload_broker() -> None:
    """Import the embedded broker's modules (an optimisation only: if they move,
    nothing is preloaded and nothing fails)."""
    import importlib

    for name in ("streamtest.broker.core", "streamtest.broker.server"):
        try:
            importlib.import_module(name)
        except ImportError:
            return


def spark_session(
    *,
    scope: str = "session",
    app_name: str = "streamtest",
    master: str = "local[2]",
    shuffle_partitions: int = 2,
    conf: Mapping[str, str] | None = None,
) -> Callable[..., Any]:
    """Return a fixture giving a SparkSession with Spark's Kafka connector (see
    :func:`streamtest.kit.spark.spark_session`), stopped after ``scope`` together
    with any streaming query still running.

    Where pyspark (``streamtest[spark]``) or Java 17+ is missing, tests using it
    skip with one line saying so. A connector that cannot be resolved for the
    installed Spark fails them with one line naming the artifact and the version
    to use.
    """

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def spark_fixture() -> Iterator[Any]:
        from .engines import ConnectorUnavailable, EngineUnavailable

        # While Spark's JVM boots, this process only waits for it: load the
        # embedded broker's code meanwhile, so the first kafka fixture does not pay
        # for it afterwards (about half a second of imports, kio's schemas mostly).
        preload = threading.Thread(target=_preload_broker, name="preload-broker", daemon=True)
        preload.start()
        try:
            from .spark import spark_session as start

            session = start(
                app_name, master=master, shuffle_partitions=shuffle_partitions, conf=conf
            )
        except (EngineUnavailable, ConnectorUnavailable) as exc:
            _engine_unavailable("spark", exc)
        finally:
            preload.join()
        try:
            yield session
        finally:
            for query in session.streams.active:
                query.stop()
            session.stop()

    return spark_fixture


def flink_kafka_connector(*, scope: str = "session") -> Callable[..., Any]:
    """Return a fixture giving the Kafka connector jar(s) for the installed PyFlink
    (:func:`streamtest.kit.flink.kafka_connector_jars`), resolved once.

    Skips with one line where PyFlink (``streamtest[flink]``) or Java 17+ is
    missing; fails with one line naming the artifact and the version to use when
    the connector cannot be resolved.
    """

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def connector_fixture() -> list[Any]:
        from .engines import ConnectorUnavailable, EngineUnavailable, MavenNotFound, require_java

        try:
            from .flink import kafka_connector_jars

            require_java("Flink")
            return kafka_connector_jars()
        except (EngineUnavailable, ConnectorUnavailable, MavenNotFound) as exc:
            _engine_unavailable("flink", exc)
            raise  # unreachable: _engine_unavailable skips or fails

    return connector_fixture


def flink_table_env(
    connector_fixture: str = "flink_kafka_connector",
    *,
    parallelism: int = 1,
    checkpoint_interval_ms: int | None = 1000,
    conf: Mapping[str, str] | None = None,
) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a streaming ``TableEnvironment`` with
    the Kafka connector (see :func:`streamtest.kit.flink.table_environment`).

    Checkpoints every ``checkpoint_interval_ms`` (one second by default), which
    exactly-once Kafka sinks need: they commit their transaction on each checkpoint.
    """

    @pytest.fixture
    def table_env_fixture(request: pytest.FixtureRequest) -> Any:
        from .flink import table_environment

        jars = request.getfixturevalue(connector_fixture)
        return table_environment(
            jars,
            parallelism=parallelism,
            checkpoint_interval_ms=checkpoint_interval_ms,
            conf=conf,
        )

    return table_env_fixture


def flink_stream_env(
    connector_fixture: str = "flink_kafka_connector",
    *,
    parallelism: int = 1,
    checkpoint_interval_ms: int | None = 1000,
    conf: Mapping[str, str] | None = None,
) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a ``StreamExecutionEnvironment`` with
    the Kafka connector (see :func:`streamtest.kit.flink.stream_environment`)."""

    @pytest.fixture
    def stream_env_fixture(request: pytest.FixtureRequest) -> Any:
        from .flink import stream_environment

        jars = request.getfixturevalue(connector_fixture)
        return stream_environment(
            jars,
            parallelism=parallelism,
            checkpoint_interval_ms=checkpoint_interval_ms,
            conf=conf,
        )

    return stream_env_fixture
