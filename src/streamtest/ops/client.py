"""Connecting to a cluster: client properties, fail-fast reachability, metadata.

Every ops entry point takes a :class:`ClientConfig` (or anything
:func:`as_client_config` accepts: a bootstrap string, a dict of librdkafka
properties). Clients are confluent-kafka's, so anything that speaks Kafka works.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from .errors import (
    BrokerUnreachableError,
    InvalidInputError,
    UnknownPartitionError,
    UnknownTopicError,
)

DEFAULT_BOOTSTRAP = "localhost:9092"

# librdkafka logs every refused connection; route its log through ``logging`` under
# this name so the CLI stays quiet unless the user turns logging on.
_RDKAFKA_LOG = logging.getLogger("streamtest.ops.rdkafka")
_RDKAFKA_LOG.addHandler(logging.NullHandler())
_RDKAFKA_LOG.propagate = False


@dataclass(frozen=True)
class ClientConfig:
    """Where the cluster is and how to talk to it.

    Attributes:
        bootstrap_servers: ``host:port[,host:port...]``.
        properties: extra librdkafka client properties (security, SASL, ...); they
            override the defaults set here, except ``bootstrap.servers``.
        timeout: seconds to wait for any single cluster operation; also bounds
            the connection setup, so an unreachable broker fails fast.
    """

    bootstrap_servers: str = DEFAULT_BOOTSTRAP
    properties: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0

    def base(self) -> dict[str, Any]:
        """Return the librdkafka properties shared by every client made from this config."""
        conf: dict[str, Any] = {
            "socket.connection.setup.timeout.ms": max(1000, int(self.timeout * 1000)),
            "logger": _RDKAFKA_LOG,
        }
        conf.update(self.properties)
        conf["bootstrap.servers"] = self.bootstrap_servers
        return conf

    def admin(self) -> AdminClient:
        """Return a new AdminClient."""
        return AdminClient(self.base())

    def consumer(self, **extra: Any) -> Consumer:
        """Return a new Consumer for manual assignment.

        It never commits: its ``group.id`` (which librdkafka requires) is random
        unless ``extra`` sets one, and auto-commit is off, so using it changes no
        group's offsets.
        """
        conf = self.base()
        conf.update(
            {
                "group.id": f"streamtest-ops-{uuid.uuid4().hex[:12]}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
            }
        )
        conf.update(extra)
        return Consumer(conf)

    def producer(self, **extra: Any) -> Producer:
        """Return a new Producer."""
        conf = self.base()
        conf.update(extra)
        return Producer(conf)


def as_client_config(
    config: ClientConfig | Mapping[str, Any] | str | None = None,
    *,
    bootstrap_servers: str | None = None,
    timeout: float | None = None,
) -> ClientConfig:
    """Normalise the ways callers name a cluster into a :class:`ClientConfig`.

    ``config`` may be a ClientConfig, a bootstrap string, or a dict of librdkafka
    properties (``bootstrap.servers`` in it is honoured). ``bootstrap_servers`` and
    ``timeout`` override what ``config`` says.

    Raises:
        InvalidInputError: no bootstrap address anywhere.
    """
    if isinstance(config, ClientConfig):
        cc = config
    elif isinstance(config, str):
        cc = ClientConfig(config)
    elif config is None:
        cc = ClientConfig(bootstrap_servers or DEFAULT_BOOTSTRAP)
    else:
        props = {k: v for k, v in config.items() if k != "bootstrap.servers"}
        servers = bootstrap_servers or config.get("bootstrap.servers")
        if not servers:
            raise InvalidInputError("no bootstrap.servers given")
        cc = ClientConfig(str(servers), props)
    if bootstrap_servers is not None and bootstrap_servers != cc.bootstrap_servers:
        cc = ClientConfig(bootstrap_servers, cc.properties, cc.timeout)
    if timeout is not None:
        cc = ClientConfig(cc.bootstrap_servers, cc.properties, timeout)
    return cc


def load_properties(path: str | Path) -> dict[str, str]:
    """Read a Java-style ``.properties`` file (``key=value``, ``key: value`` or
    ``key value`` lines, ``#``/``!`` comments, ``\\`` continuation lines), as
    ``--command-config`` takes, and translate Java client settings into librdkafka's
    (see :mod:`streamtest.ops.properties`).

    Raises:
        InvalidInputError: the file cannot be read, a line has no key, or a setting
            has no librdkafka equivalent.
    """
    from .properties import read_properties_file, translate_java_properties

    return translate_java_properties(read_properties_file(path)).properties


def _bootstrap_hosts(servers: str) -> list[tuple[str, int]]:
    hosts = []
    for entry in servers.split(","):
        entry = entry.strip()
        if "://" in entry:  # PLAINTEXT://host:port, as some tools write it
            entry = entry.split("://", 1)[1]
        host, _, port = entry.rpartition(":")
        if not host or not port.isdigit():
            raise InvalidInputError(f"invalid bootstrap server {entry!r}: expected host:port")
        hosts.append((host.strip("[]"), int(port)))
    return hosts


def check_reachable(config: ClientConfig) -> None:
    """Fail fast unless at least one bootstrap server accepts a TCP connection.

    librdkafka retries refused connections until the operation's timeout; this
    check answers in milliseconds when nothing listens.

    Raises:
        BrokerUnreachableError: no bootstrap server accepted a connection.
        InvalidInputError: the bootstrap list is malformed.
    """
    problems = []
    for host, port in _bootstrap_hosts(config.bootstrap_servers):
        try:
            with socket.create_connection((host, port), timeout=min(config.timeout, 5.0)):
                return
        except OSError as exc:
            problems.append(exc.strerror or type(exc).__name__)
    raise BrokerUnreachableError(
        f"cannot connect to {config.bootstrap_servers}: {problems[-1] if problems else 'no hosts'}"
    )


def kafka_error_message(exc: BaseException | KafkaError) -> str:
    """Return a one-line description of a confluent-kafka exception or KafkaError."""
    err = exc
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        err = exc.args[0]
    if isinstance(err, KafkaError):
        return f"{err.name()}: {err.str()}"
    return " ".join(str(exc).split())


def list_topic_partitions(admin: AdminClient, config: ClientConfig) -> dict[str, int]:
    """Return ``{topic: partition count}`` for every topic in the cluster.

    The whole-cluster metadata is asked for (not one topic) because asking for a
    single unknown topic may auto-create it on brokers that allow that.

    Raises:
        BrokerUnreachableError: the cluster did not answer within the timeout.
    """
    try:
        md = admin.list_topics(timeout=config.timeout)
    except KafkaException as exc:
        raise BrokerUnreachableError(
            f"no metadata from {config.bootstrap_servers}: {kafka_error_message(exc)}"
        ) from None
    return {name: len(t.partitions) for name, t in md.topics.items() if t.error is None}


def resolve_partitions(
    topics: Mapping[str, int], topic: str, partitions: list[int] | None
) -> list[int]:
    """Return the partitions of ``topic`` selected by ``partitions`` (all if ``None``).

    Raises:
        UnknownTopicError: the topic is not in ``topics``.
        UnknownPartitionError: a selected partition does not exist.
    """
    if topic not in topics:
        raise UnknownTopicError(f"topic '{topic}' does not exist")
    count = topics[topic]
    if partitions is None:
        return list(range(count))
    for p in partitions:
        if not 0 <= p < count:
            raise UnknownPartitionError(
                f"topic '{topic}' has no partition {p} (it has {count}: 0-{count - 1})"
            )
    return sorted(set(partitions))
