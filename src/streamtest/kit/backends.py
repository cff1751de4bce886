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

from .cluster import ApacheKafkaCluster, Cluster, EmbeddedCluster, ExternalCluster

#: The backends, in the order the error messages list them.
BACKENDS: tuple[str, ...] = ("embedded", "apache", "kafka", "redpanda", "external")

#: Environment variables read by the lowest-precedence level.
ENV_BACKEND = "STREAMTEST_BACKEND"
ENV_BOOTSTRAP_SERVERS = "STREAMTEST_BOOTSTRAP_SERVERS"
ENV_KEEP_TOPICS = "STREAMTEST_KEEP_TOPICS"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """The resolved backend settings, with where each came from (for messages)."""

    backend: str = "embedded"
    bootstrap_servers: str | None = None
    keep_topics: bool = False
    sources: Mapping[str, str] = field(default_factory=dict)

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
    """Return the environment's settings (``STREAMTEST_*``); unset ones are ``None``."""
    env = os.environ if environ is None else environ
    keep = env.get(ENV_KEEP_TOPICS)
    return {
        "backend": env.get(ENV_BACKEND) or None,
        "bootstrap_servers": env.get(ENV_BOOTSTRAP_SERVERS) or None,
        "keep_topics": None if keep is None else parse_bool(keep, ENV_KEEP_TOPICS),
    }


def resolve_settings(levels: Sequence[tuple[str, Mapping[str, Any]]]) -> Settings:
    """Return the settings chosen by ``levels``, given highest precedence first as
    ``(name, {"backend": ..., "bootstrap_servers": ..., "keep_topics": ...})`` with
    ``None`` for unset values.

    Each setting takes its value from the highest level that sets it, with one rule
    on top: the backend comes from the highest level that sets *either* the backend
    or the bootstrap servers, and bootstrap servers alone mean ``external``. So
    ``--kafka-bootstrap-servers`` on the command line beats ``streamtest_backend =
    embedded`` in the ini file (the user clearly wants that cluster), while
    ``--kafka-backend embedded`` beats a ``STREAMTEST_BOOTSTRAP_SERVERS`` left in the
    environment. Bootstrap servers are ignored by every backend but ``external``.

    Raises:
        ValueError: an unknown backend, or ``external`` without bootstrap servers.
    """
    sources: dict[str, str] = {}
    backend: str | None = None
    bootstrap: str | None = None
    keep: bool | None = None
    for name, values in levels:
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
            "--kafka-bootstrap-servers=HOST:PORT, or set streamtest_bootstrap_servers in "
            f"the ini file or {ENV_BOOTSTRAP_SERVERS} in the environment"
        )
    return Settings(backend, bootstrap, bool(keep), sources)


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
