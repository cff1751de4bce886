"""Choosing a backend: the settings' precedence, and building the :class:`Cluster`.

Every setting can come from four places, highest precedence first (as in
pytest-postgresql): a fixture-factory argument, the command line, the ini file,
and the environment. :func:`resolve_settings` applies that order; the pytest
plugin only gathers the four levels. It is plain code so that :class:`KafkaUtils`
and scripts outside pytest can use the same rules with the levels they have.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..envvars import BOOTSTRAP_SERVER, bootstrap_from_env
from .cluster import ApacheKafkaCluster, Cluster, EmbeddedCluster, ExternalCluster

#: The backends, in the order the error messages list them.
BACKENDS: tuple[str, ...] = ("embedded", "apache", "kafka", "redpanda", "external")

#: Environment variables read by the lowest-precedence level.
ENV_BACKEND = "STREAMTEST_BACKEND"
#: ``STREAMTEST_BOOTSTRAP_SERVER``; ``STREAMTEST_BOOTSTRAP_SERVERS`` is accepted too.
ENV_BOOTSTRAP_SERVERS = BOOTSTRAP_SERVER
ENV_KEEP_TOPICS = "STREAMTEST_KEEP_TOPICS"
ENV_BROKERS = "STREAMTEST_BROKERS"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """The resolved backend settings, with where each came from (for messages)."""

    backend: str = "embedded"
    bootstrap_servers: str | None = None
    keep_topics: bool = False
    sources: Mapping[str, str] = field(default_factory=dict)
    #: Nodes of the embedded cluster (``None``: the backend's default, one).
    brokers: int | None = None
    #: Broker settings in Kafka's names for the embedded cluster.
    broker_settings: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """Return a one-line summary, e.g. ``backend=embedded (default)``."""
        parts = [f"backend={self.backend} ({self.sources.get('backend', 'default')})"]
        if self.backend == "external":
            parts.append(
                f"bootstrap_servers={self.bootstrap_servers} "
                f"({self.sources.get('bootstrap_servers', 'default')})"
            )
        if self.keep_topics:
            parts.append(f"keep_topics ({self.sources.get('keep_topics', 'default')})")
        if self.backend == "embedded" and self.brokers:
            parts.append(f"brokers={self.brokers} ({self.sources.get('brokers', 'default')})")
        if self.backend == "embedded" and self.broker_settings:
            parts.append(
                "settings: "
                + ", ".join(f"{k}={v}" for k, v in sorted(self.broker_settings.items()))
            )
        return ", ".join(parts)


def parse_bool(value: Any, what: str) -> bool:
    """Return ``value`` (a bool, or a string such as ``"1"``/``"no"``) as a bool.

    Raises:
        ValueError: the string is not a recognisable boolean.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{what} must be a boolean (1/0, true/false, yes/no), not {value!r}")


def env_level(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the environment's settings (``STREAMTEST_*``); unset ones are ``None``.

    Raises:
        ValueError: an unreadable boolean, or the two bootstrap spellings disagree.
    """
    env = os.environ if environ is None else environ
    keep = env.get(ENV_KEEP_TOPICS)
    brokers = env.get(ENV_BROKERS)
    return {
        "backend": env.get(ENV_BACKEND) or None,
        "bootstrap_servers": bootstrap_from_env(env),
        "keep_topics": None if keep is None else parse_bool(keep, ENV_KEEP_TOPICS),
        "brokers": parse_brokers(brokers, ENV_BROKERS) if brokers else None,
    }


def parse_brokers(value: Any, what: str) -> int:
    """Return ``value`` as a node count (1-64).

    Raises:
        ValueError: not a whole number in range.
    """
    try:
        n = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{what} must be a number of brokers, not {value!r}") from None
    if not 1 <= n <= 64:
        raise ValueError(f"{what} must be between 1 and 64, not {n}")
    return n


def parse_setting_lines(lines: Sequence[str], what: str) -> dict[str, str]:
    """Return ``KEY=VALUE`` lines as a dict, checked against the broker settings table.

    Raises:
        ValueError: a malformed line, an unknown setting or an invalid value (the
            message names it).
    """
    from ..broker.config import BrokerSettings, ConfigError, parse_setting_line

    out: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            continue
        try:
            key, value = parse_setting_line(line.strip())
            BrokerSettings({key: value})
        except ConfigError as exc:
            raise ValueError(f"{what}: {exc}") from None
        out[key] = value
    return out


def resolve_settings(levels: Sequence[tuple[str, Mapping[str, Any]]]) -> Settings:
    """Return the settings chosen by ``levels``, given highest precedence first as
    ``(name, {"backend": ..., "bootstrap_servers": ..., "keep_topics": ...})`` with
    ``None`` for unset values.

    Each setting takes its value from the highest level that sets it, with one rule
    on top: the backend comes from the highest level that sets *either* the backend
    or the bootstrap servers, and bootstrap servers alone mean ``external``. So
    ``--kafka-bootstrap-server`` on the command line beats ``streamtest_backend =
    embedded`` in the ini file (the user clearly wants that cluster), while
    ``--kafka-backend embedded`` beats a ``STREAMTEST_BOOTSTRAP_SERVER`` left in the
    environment. Bootstrap servers are ignored by every backend but ``external``.

    Raises:
        ValueError: an unknown backend, or ``external`` without bootstrap servers.
    """
    sources: dict[str, str] = {}
    backend: str | None = None
    bootstrap: str | None = None
    keep: bool | None = None
    brokers: int | None = None
    broker_settings: dict[str, str] = {}
    for _name, values in reversed(levels):
        # Lower levels first, so a higher level overrides single settings.
        broker_settings.update(values.get("settings") or {})
    for name, values in levels:
        if brokers is None and values.get("brokers"):
            brokers, sources["brokers"] = int(values["brokers"]), name
        if backend is None:
            if values.get("backend"):
                backend, sources["backend"] = str(values["backend"]).strip().lower(), name
            elif values.get("bootstrap_servers"):
                backend, sources["backend"] = "external", f"{name}: bootstrap servers given"
        if bootstrap is None and values.get("bootstrap_servers"):
            bootstrap, sources["bootstrap_servers"] = str(values["bootstrap_servers"]), name
        if keep is None and values.get("keep_topics") is not None:
            keep, sources["keep_topics"] = bool(values["keep_topics"]), name
    backend = backend or "embedded"
    if backend not in BACKENDS:
        raise ValueError(
            f"unknown streamtest backend {backend!r} (from {sources.get('backend')}); "
            f"choose one of {', '.join(BACKENDS)}"
        )
    if backend == "external" and not bootstrap:
        raise ValueError(
            "the 'external' backend needs bootstrap servers: pass "
            "--kafka-bootstrap-server=HOST:PORT, or set streamtest_bootstrap_server in "
            f"the ini file or {ENV_BOOTSTRAP_SERVERS} in the environment"
        )
    return Settings(backend, bootstrap, bool(keep), sources, brokers, broker_settings)


def make_cluster(
    backend: str = "embedded",
    bootstrap_servers: str | None = None,
    *,
    client_config: Mapping[str, Any] | None = None,
    **options: Any,
) -> Cluster:
    """Return an unstarted :class:`Cluster` for ``backend``.

    ``options`` go to the backend's class: ``mode``/``partitions``/broker settings
    for ``embedded`` (see :class:`EmbeddedCluster`), ``version``/``broker_properties``
    for ``apache`` (see :class:`ApacheKafkaCluster`), ``image`` for ``kafka`` and
    ``redpanda``, ``connect_timeout`` for ``external``.

    Raises:
        ValueError: an unknown backend, or ``external`` without bootstrap servers.
    """
    if backend == "embedded":
        return EmbeddedCluster(client_config=client_config, **options)
    if backend == "apache":
        return ApacheKafkaCluster(client_config=client_config, **options)
    if backend in ("kafka", "redpanda"):
        from .containers import ContainerCluster

        return ContainerCluster(backend, client_config=client_config, **options)  # type: ignore[arg-type]
    if backend == "external":
        if not bootstrap_servers:
            raise ValueError("the 'external' backend needs bootstrap servers")
        return ExternalCluster(bootstrap_servers, client_config=client_config, **options)
    raise ValueError(f"unknown streamtest backend {backend!r}; choose one of {', '.join(BACKENDS)}")
