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

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from .backends import (
    Settings,
    env_level,
    make_cluster,
    parse_bool,
    parse_brokers,
    parse_setting_lines,
    resolve_settings,
)
from .cluster import BackendUnavailable, Cluster, unique_name
from .compat import close_producer
from .topics import TopicFactory

#: The default cluster fixture's name.
DEFAULT_CLUSTER = "kafka"

#: The topics a test's fixtures made, with their cluster: the plugin prints their
#: records when the test fails (see ``pytest_plugin.pytest_runtest_makereport``).
TOPICS_USED = pytest.StashKey[list[Callable[[], list[tuple[Cluster, str]]]]]()


def _record_topics(
    request: pytest.FixtureRequest, topics: Callable[[], list[tuple[Cluster, str]]]
) -> None:
    request.node.stash.setdefault(TOPICS_USED, []).append(topics)


def topics_used(item: pytest.Item) -> list[tuple[Cluster, str]]:
    """Return the ``(cluster, topic)`` pairs the item's topic fixtures have made."""
    return [pair for topics in item.stash.get(TOPICS_USED, []) for pair in topics()]


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
                    "brokers": parse_brokers(config.getoption("kafka_brokers"), "--kafka-brokers")
                    if config.getoption("kafka_brokers")
                    else None,
                    "settings": parse_setting_lines(
                        config.getoption("kafka_setting") or [], "--kafka-setting"
                    ),
                },
            ),
            (
                "ini file",
                {
                    "backend": config.getini("streamtest_backend") or None,
                    "bootstrap_servers": _ini_bootstrap(config),
                    "keep_topics": parse_bool(ini_keep, "streamtest_keep_topics")
                    if ini_keep not in (None, "")
                    else None,
                    "brokers": parse_brokers(
                        config.getini("streamtest_brokers"), "streamtest_brokers"
                    )
                    if config.getini("streamtest_brokers")
                    else None,
                    "settings": parse_setting_lines(
                        config.getini("streamtest_settings") or [], "streamtest_settings"
                    ),
                },
            ),
            ("environment", env_level()),
        ]
        return resolve_settings(levels)
    except ValueError as exc:
        raise pytest.UsageError(f"streamtest: {exc}") from exc


def _ini_bootstrap(config: pytest.Config) -> str | None:
    """Return ``streamtest_bootstrap_server`` (or its plural spelling) from the ini file.

    Raises:
        ValueError: both are set, to different values.
    """
    one = (config.getini("streamtest_bootstrap_server") or "").strip()
    other = (config.getini("streamtest_bootstrap_servers") or "").strip()
    if one and other and one != other:
        raise ValueError(
            f"streamtest_bootstrap_server = {one} and streamtest_bootstrap_servers = {other} "
            "disagree in the ini file; set one"
        )
    return one or other or None


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
        """The session's Kafka (a streamtest.Cluster): the embedded broker unless
        --kafka-backend / --kafka-bootstrap-server say otherwise. Use
        .bootstrap_servers, .send(), .records(), .committed(), .lag(), .dump()."""
        settings = settings_for(request.config, backend, bootstrap_servers)
        backend_options = dict(options)
        if settings.backend == "embedded":
            # The factory's own arguments win over the command line, ini and env.
            if settings.brokers and "brokers" not in backend_options:
                backend_options["brokers"] = settings.brokers
            if settings.broker_settings:
                backend_options["settings"] = {
                    **settings.broker_settings,
                    **(backend_options.get("settings") or {}),
                }
        cluster = make_cluster(
            settings.backend,
            settings.bootstrap_servers,
            client_config=client_config,
            **backend_options,
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
        """A fresh, uniquely named topic for this test, deleted afterwards; shape it
        with @pytest.mark.kafka_topic(partitions=3, config={...}). Its records are
        printed when the test fails."""
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
        _record_topics(request, lambda: [(cluster, name)])
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
        """Make more topics: factory(name=None, partitions=1, config=None) -> name.
        They are deleted after the test, and their records printed if it fails."""
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        factory = TopicFactory(cluster, prefix=request.node.name)
        _record_topics(request, lambda: [(cluster, t) for t in factory.created_topics])
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
        """A confluent-kafka Producer for the cluster; flushed and closed after the
        test, which fails if a message was never delivered."""
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        producer = cluster.producer(**config)
        try:
            yield producer
        finally:
            undelivered = producer.flush(10)
            close_producer(producer)
            if undelivered:
                pytest.fail(
                    f"kafka_producer: {undelivered} messages were never delivered", pytrace=False
                )

    return producer_fixture


def kafka_group_id(cluster_fixture: str = DEFAULT_CLUSTER) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a consumer group id no other test uses;
    the group (and its committed offsets) is deleted from the cluster after the test,
    so nothing is left on a shared external cluster."""

    @pytest.fixture
    def group_id_fixture(request: pytest.FixtureRequest) -> Iterator[str]:
        """A consumer group id unique to this test; the group is deleted afterwards."""
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        group = unique_name(request.node.name, "st-group")
        try:
            yield group
        finally:
            _delete_group_quietly(cluster, group)

    return group_id_fixture


def _delete_group_quietly(cluster: Cluster, group: str) -> None:
    """Delete ``group`` if it exists; a cleanup failure warns instead of failing."""
    import warnings

    if not cluster.running:
        return
    try:
        cluster.delete_group(group, missing_ok=True, timeout=10)
    except Exception as exc:  # cleanup must not turn a passing test into an error
        warnings.warn(f"streamtest: could not delete consumer group {group!r}: {exc}", stacklevel=2)


def kafka_consumer(
    cluster_fixture: str = DEFAULT_CLUSTER, group_id: str | None = None, **config: Any
) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a confluent-kafka ``Consumer`` with a
    unique ``group.id`` (unless ``group_id`` is given) and
    ``auto.offset.reset=earliest``, closed after the test. A unique group is then
    deleted from the cluster; a ``group_id`` you chose is left alone."""

    @pytest.fixture
    def consumer_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        """A confluent-kafka Consumer in a group unique to this test (deleted after
        it), reading from the earliest offset; closed after the test."""
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        group = group_id or unique_name(request.node.name, "st-group")
        consumer = cluster.consumer(group, **config)
        try:
            yield consumer
        finally:
            consumer.close()
            if group_id is None:
                _delete_group_quietly(cluster, group)

    return consumer_fixture


#: Where a schema registry URL can come from, below the factory argument.
ENV_SCHEMA_REGISTRY_URL = "STREAMTEST_SCHEMA_REGISTRY_URL"


def schema_registry_url_for(
    config: pytest.Config, url: str | None = None
) -> tuple[str | None, str]:
    """Return ``(url, source)``: the factory argument, else ``--schema-registry-url``,
    else the ``streamtest_schema_registry_url`` ini option, else
    ``$STREAMTEST_SCHEMA_REGISTRY_URL``; ``(None, "embedded")`` when none is set."""
    levels = [
        ("factory argument", url),
        ("command line", config.getoption("schema_registry_url", None)),
        ("ini file", config.getini("streamtest_schema_registry_url") or None),
        ("environment", os.environ.get(ENV_SCHEMA_REGISTRY_URL) or None),
    ]
    for source, value in levels:
        if value:
            return str(value).rstrip("/"), source
    return None, "embedded"


def schema_registry_url(
    cluster_fixture: str = DEFAULT_CLUSTER, url: str | None = None, *, scope: str = "session"
) -> Callable[..., Any]:
    """Return a fixture giving a schema registry's URL for ``scope``.

    A URL from the factory argument, ``--schema-registry-url``, the ini file or the
    environment is used as it is (a real registry, for the ``external`` backend).
    Otherwise streamtest's own registry (:class:`~streamtest.registry.SchemaRegistry`)
    is started against the cluster fixture, whichever backend it is, and stopped
    after ``scope``. On an ``external`` cluster it keeps its schemas in
    ``_streamtest_schemas``, never in ``_schemas``, so it cannot disturb a real
    registry that uses that cluster.
    """

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def url_fixture(request: pytest.FixtureRequest) -> Iterator[str]:
        """The URL of a Confluent-compatible schema registry: the one named by
        --schema-registry-url (ini, environment), else streamtest's own, on the
        kafka cluster, for the session."""
        given, _ = schema_registry_url_for(request.config, url)
        if given is not None:
            yield given
            return
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        try:
            from ..registry.server import SchemaRegistry
        except ImportError as exc:
            pytest.fail(
                f"streamtest: the schema registry needs the registry extra ({exc.name} is "
                "missing): pip install 'streamtest[registry]', or pass --schema-registry-url",
                pytrace=False,
            )
        topic = "_streamtest_schemas" if cluster.backend == "external" else "_schemas"
        registry = SchemaRegistry(
            cluster.bootstrap_servers,
            topic=topic,
            client_config={
                k: v for k, v in cluster.client_config().items() if k != "bootstrap.servers"
            },
        ).start()
        try:
            yield registry.url
        finally:
            registry.stop()

    return url_fixture


def schema_registry(
    url_fixture: str = "schema_registry_url", *, cleanup: bool | None = None, **config: Any
) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a confluent-kafka ``SchemaRegistryClient``
    for the registry at ``url_fixture``.

    After the test, subjects the test created are deleted (soft, then permanently),
    so tests that reuse a subject name start from nothing. That happens by default
    only on streamtest's own registry; ``cleanup=True`` asks for it on a given URL
    too (only where no one else registers at the same time).
    """

    @pytest.fixture
    def client_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        """A confluent-kafka SchemaRegistryClient for schema_registry_url; subjects
        this test registers on streamtest's own registry are deleted afterwards."""
        from confluent_kafka.schema_registry import SchemaRegistryClient

        url = request.getfixturevalue(url_fixture)
        given, _ = schema_registry_url_for(request.config)
        tidy = cleanup if cleanup is not None else given is None
        client = SchemaRegistryClient({"url": url, **config})
        before = set(client.get_subjects(deleted=True)) if tidy else set()
        try:
            yield client
        finally:
            if tidy:
                for subject in set(client.get_subjects(deleted=True)) - before:
                    _delete_subject(client, subject)

    return client_fixture


def _delete_subject(client: Any, subject: str) -> None:
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    for permanent in (False, True):
        try:
            client.delete_subject(subject, permanent=permanent)
        except SchemaRegistryError:
            pass  # already soft-deleted, or referenced by another subject


def kafka_admin(cluster_fixture: str = DEFAULT_CLUSTER, **config: Any) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a confluent-kafka ``AdminClient``."""

    @pytest.fixture
    def admin_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        """A confluent-kafka AdminClient for the cluster."""
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        admin = cluster.admin(**config)
        yield admin
        # AdminClient has no close(): dropping the last reference destroys it.
        del admin

    return admin_fixture


#: The acknowledgement modes of a share consumer (``share.acknowledgement.mode``).
SHARE_MODES = ("implicit", "explicit")


def _share_mode(request: pytest.FixtureRequest, default: str | None) -> str:
    """Return the acknowledgement mode: the factory's, else the test's
    ``kafka_share_consumer(mode=...)`` marker, else an indirect parameter, else
    ``implicit``."""
    mode = default
    if mode is None:
        marker = request.node.get_closest_marker("kafka_share_consumer")
        if marker is not None:
            mode = marker.kwargs.get("mode", marker.args[0] if marker.args else None)
    if mode is None:
        mode = getattr(request, "param", None)
    mode = mode or "implicit"
    if mode not in SHARE_MODES:
        raise pytest.UsageError(
            f"streamtest: kafka_share_consumer mode must be one of {', '.join(SHARE_MODES)}, "
            f"not {mode!r}"
        )
    return mode


def kafka_share_consumer(
    cluster_fixture: str = DEFAULT_CLUSTER,
    group_id: str | None = None,
    acknowledgement_mode: str | None = None,
    **config: Any,
) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a confluent-kafka ``ShareConsumer``
    (KIP-932) in a unique share group (unless ``group_id`` is given) that reads from
    the earliest offset, closed after the test.

    The acknowledgement mode is ``acknowledgement_mode``, else the test's
    ``@pytest.mark.kafka_share_consumer(mode="explicit")``, else an indirect
    parameter (``parametrize("kafka_share_consumer", ["implicit", "explicit"],
    indirect=True)``), else ``implicit``.
    """

    @pytest.fixture
    def share_consumer_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        """A confluent-kafka ShareConsumer (KIP-932) in a share group unique to this
        test, reading from the earliest offset; implicit acknowledgement unless the
        test's kafka_share_consumer(mode="explicit") marker says otherwise; closed
        after the test."""
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        consumer = cluster.share_consumer(
            group_id or unique_name(request.node.name, "st-share"),
            acknowledgement_mode=_share_mode(request, acknowledgement_mode),  # type: ignore[arg-type]
            **config,
        )
        try:
            yield consumer
        finally:
            consumer.close()

    return share_consumer_fixture


class ShareConsumerFactory:
    """Makes share consumers for one test; by default they all join the test's own
    share group, so that several workers share one queue. Closes them at teardown."""

    def __init__(self, cluster: Cluster, group_id: str, mode: str, config: Mapping[str, Any]):
        self.cluster = cluster
        #: The share group the consumers join unless told otherwise.
        self.group_id = group_id
        self.mode = mode
        self.config = dict(config)
        self.consumers: list[Any] = []

    def __call__(
        self, group_id: str | None = None, acknowledgement_mode: str | None = None, **config: Any
    ) -> Any:
        """Return a new ``ShareConsumer`` in ``group_id`` (the test's group by default)."""
        consumer = self.cluster.share_consumer(
            group_id or self.group_id,
            acknowledgement_mode=acknowledgement_mode or self.mode,  # type: ignore[arg-type]
            **{**self.config, **config},
        )
        self.consumers.append(consumer)
        return consumer

    def close(self) -> None:
        """Close every consumer made (each leaves the group, releasing its records)."""
        while self.consumers:
            self.consumers.pop().close()


def kafka_share_consumer_factory(
    cluster_fixture: str = DEFAULT_CLUSTER,
    acknowledgement_mode: str | None = None,
    **config: Any,
) -> Callable[..., Any]:
    """Return a function-scoped fixture giving a :class:`ShareConsumerFactory`:
    ``factory(group_id=None, acknowledgement_mode=None, **config) -> ShareConsumer``.
    Consumers join the test's own share group unless given another; all are closed
    after the test. The mode resolves as for :func:`kafka_share_consumer`."""

    @pytest.fixture
    def share_consumer_factory_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        """factory(group_id=None, acknowledgement_mode=None, **config) -> ShareConsumer:
        share consumers (KIP-932) that join this test's own share group unless told
        otherwise (its id is factory.group_id), reading from the earliest offset;
        all closed after the test."""
        cluster: Cluster = request.getfixturevalue(cluster_fixture)
        factory = ShareConsumerFactory(
            cluster,
            unique_name(request.node.name, "st-share"),
            _share_mode(request, acknowledgement_mode),
            config,
        )
        try:
            yield factory
        finally:
            factory.close()

    return share_consumer_factory_fixture


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


#: The modules the embedded broker's start imports, preloaded by :func:`_preload_broker`.
BROKER_MODULES = ("streamtest.broker.cluster", "streamtest.broker.apis", "streamtest.broker.server")


def _preload_broker() -> None:
    """Import the embedded broker's modules while the JVM boots (an optimisation
    only; tests/engines checks that these names exist)."""
    import importlib

    for name in BROKER_MODULES:
        importlib.import_module(name)


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
        """A SparkSession (local[2]) with Spark's Kafka connector; streaming queries
        still running are stopped with it. Skips where pyspark or Java is missing."""
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
        """The Kafka connector jar(s) for the installed PyFlink. Skips where PyFlink
        or Java is missing."""
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
    def table_env_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        """A streaming PyFlink TableEnvironment with the Kafka connector, checkpointing
        for exactly-once sinks."""
        from .flink import pyflink_py4j, table_environment

        jars = request.getfixturevalue(connector_fixture)
        # The test's PyFlink calls run with PyFlink's py4j error handler, not the
        # one a Spark test earlier in this process left (see pyflink_py4j).
        with pyflink_py4j():
            yield table_environment(
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
    def stream_env_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        """A PyFlink StreamExecutionEnvironment with the Kafka connector."""
        from .flink import pyflink_py4j, stream_environment

        jars = request.getfixturevalue(connector_fixture)
        with pyflink_py4j():  # see table_env_fixture
            yield stream_environment(
                jars,
                parallelism=parallelism,
                checkpoint_interval_ms=checkpoint_interval_ms,
                conf=conf,
            )

    return stream_env_fixture
