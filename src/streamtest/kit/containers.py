"""The ``kafka`` and ``redpanda`` backends: a broker in a Docker container.

testcontainers is an optional dependency (``pip install 'streamtest[containers]'``)
and is imported only when a container backend starts. Before that, we look for a
Docker engine ourselves: without one, testcontainers fails with a long traceback
from deep inside docker-py, while a test author needs one sentence saying that
Docker is missing and which backends work without it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from .cluster import BackendUnavailable, Cluster

Flavor = Literal["kafka", "redpanda"]

#: Default images. cp-kafka 7.4.0 is what the seeds' KafkaUtils used (its
#: ``kafka_version`` argument picks the tag).
DEFAULT_IMAGES: dict[str, str] = {
    "kafka": "confluentinc/cp-kafka:7.4.0",
    "redpanda": "docker.redpanda.com/redpandadata/redpanda:v23.3.5",
}

_OTHER_BACKENDS = (
    "Start Docker (or point DOCKER_HOST at an engine), or choose another backend: "
    "'embedded' (the default; an in-process broker that needs nothing installed), "
    "'apache' (Apache Kafka in a JVM, needs Java and Maven, no Docker) or 'external' "
    "with --kafka-bootstrap-server=HOST:PORT (an existing cluster)."
)


def docker_candidates() -> list[str]:
    """Return the Docker engine addresses worth trying, in order: ``DOCKER_HOST`` if
    set (as docker-py would use only that), else the usual socket paths."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return [host]
    paths = [Path("/var/run/docker.sock"), Path.home() / ".docker/run/docker.sock"]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        paths.append(Path(runtime) / "docker.sock")  # rootless Docker
    return [f"unix://{p}" for p in paths]


def probe_docker(timeout: float = 1.0) -> tuple[bool, str]:
    """Return ``(reachable, detail)``: whether a Docker engine accepts connections,
    and what was tried. Only a connection is attempted, so this takes milliseconds.

    ``ssh://`` and ``npipe://`` addresses cannot be probed cheaply; they count as
    reachable and testcontainers reports any problem itself.
    """
    tried: list[str] = []
    for address in docker_candidates():
        try:
            if address.startswith("unix://"):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(timeout)
                    sock.connect(address[len("unix://") :])
            elif address.startswith("tcp://"):
                host, _, port = address[len("tcp://") :].rstrip("/").rpartition(":")
                socket.create_connection((host, int(port)), timeout=timeout).close()
            else:
                return True, address
        except (OSError, ValueError) as exc:
            tried.append(f"{address}: {exc.strerror if isinstance(exc, OSError) else exc}")
            continue
        return True, address
    return False, "; ".join(tried)


class ContainerCluster(Cluster):
    """A single Kafka or Redpanda broker in a Docker container (testcontainers).

    Args:
        flavor: ``"kafka"`` (Confluent's cp-kafka) or ``"redpanda"``.
        image: the image to run; :data:`DEFAULT_IMAGES` by default.
        client_config: see :class:`~streamtest.kit.cluster.Cluster`.
    """

    def __init__(
        self,
        flavor: Flavor = "kafka",
        image: str | None = None,
        client_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(client_config)
        if flavor not in DEFAULT_IMAGES:
            raise ValueError(f"flavor must be 'kafka' or 'redpanda', not {flavor!r}")
        self.flavor = flavor
        self.backend = flavor
        self.image = image or DEFAULT_IMAGES[flavor]
        self._container: Any = None

    def _start(self) -> str:
        reachable, detail = probe_docker()
        if not reachable:
            raise BackendUnavailable(
                f"The {self.flavor!r} backend runs {self.image} in a Docker container, but "
                f"no Docker engine is reachable (tried {detail}). {_OTHER_BACKENDS}"
            )
        try:
            from testcontainers.kafka import KafkaContainer, RedpandaContainer
        except ImportError as exc:
            raise BackendUnavailable(
                f"The {self.flavor!r} backend needs testcontainers, which is not installed: "
                "pip install 'streamtest[containers]'. Or choose the 'embedded' or "
                "'external' backend."
            ) from exc
        cls = KafkaContainer if self.flavor == "kafka" else RedpandaContainer
        container = cls(self.image)
        try:
            container.start()
        except Exception as exc:
            raise BackendUnavailable(
                f"Docker is reachable ({detail}) but the {self.image} container did not "
                f"start: {exc}. {_OTHER_BACKENDS}"
            ) from exc
        self._container = container
        return str(container.get_bootstrap_server())

    def _stop(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.stop()
