"""What the Spark and Flink helpers share: finding Java and resolving connector jars.

PySpark and PyFlink run their engine in a JVM and read Kafka through a connector
jar that neither wheel ships. This module checks for Java before a JVM is
launched (so a missing one is a one-line skip, not a py4j traceback) and resolves
connector jars from Maven Central into the download cache
(``$STREAMTEST_CACHE_DIR``), with Maven, as the reference broker does (one cache,
one resolver: :func:`streamtest.kit.reference_kafka.resolve_classpath`).

Nothing here imports pyspark or pyflink.
"""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .reference_kafka import (
    MavenNotFound,
    MavenResolutionError,
    ReferenceKafkaError,
    java_executable,
    resolve_classpath,
)


class EngineUnavailable(RuntimeError):
    """Spark or Flink cannot run here: Java or the Python package is missing.

    The message is one line that says what is missing and how to get it; the
    pytest fixtures turn it into a skip.
    """


class ConnectorUnavailable(RuntimeError):
    """The engine's Kafka connector jar cannot be resolved for the installed version.

    The message is one line naming the artifact and the version to use instead.

    Attributes:
        artifact: the Maven coordinate that failed (``group:artifact:version``).
        use: the engine version streamtest is tested with, to install instead.
    """

    def __init__(self, message: str, artifact: str, use: str) -> None:
        super().__init__(message)
        self.artifact = artifact
        self.use = use


_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


@functools.lru_cache(maxsize=1)
def _java_major(java: str) -> int | None:
    try:
        proc = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _JAVA_VERSION.search(proc.stderr + proc.stdout)
    if not match:
        return None
    major = int(match.group(1))
    # Java 8 and older call themselves "1.8".
    return int(match.group(2) or 0) if major == 1 else major


def require_java(engine: str, minimum: int = 17) -> str:
    """Return the ``java`` executable for ``engine`` (``"Spark"``, ``"Flink"``).

    Raises:
        EngineUnavailable: there is no Java, or it is older than ``minimum``.
    """
    try:
        java = java_executable()
    except ReferenceKafkaError as exc:
        raise EngineUnavailable(
            f"{engine} needs Java {minimum} or newer, and none was found "
            f"(set JAVA_HOME or put java on the PATH)"
        ) from exc
    major = _java_major(java)
    if major is None:
        raise EngineUnavailable(f"{engine} needs Java {minimum} or newer; `{java} -version` failed")
    if major < minimum:
        raise EngineUnavailable(
            f"{engine} needs Java {minimum} or newer; {java} is Java {major} (set JAVA_HOME)"
        )
    return java


def resolve_connector(
    coordinate: str, engine: str, use: str, *, installed_is_tested: bool = False
) -> list[Path]:
    """Return the jars of the connector ``coordinate`` and its runtime dependencies,
    downloading them from Maven Central into the cache the first time.

    ``use`` is the engine release to recommend when the connector cannot be had,
    e.g. ``"pyspark==4.2.0"``; when ``installed_is_tested``, that release is the
    one installed, and the message says to check the repository instead.

    Raises:
        ConnectorUnavailable: Maven could not resolve the coordinate (one line that
            names it and ``use``).
        MavenNotFound: the jars are not cached and there is no ``mvn``.
    """
    try:
        return resolve_classpath([coordinate])
    except MavenResolutionError as exc:
        advice = f"install {use}, the version streamtest is tested with"
        if installed_is_tested:
            # The repository, not the version, is the problem.
            advice = "check that Maven Central is reachable"
        raise ConnectorUnavailable(
            f"{engine}'s Kafka connector {coordinate} could not be resolved from Maven "
            f"Central ({exc.detail}); {advice}",
            coordinate,
            use,
        ) from None


def jar_artifact(path: Path) -> str:
    """Return the artifact name of a jar file named ``<artifact>-<version>.jar``.

    The version is the first ``-`` followed by a dotted number, so
    ``spark-sql-kafka-0-10_2.13-4.1.4.jar`` gives ``spark-sql-kafka-0-10_2.13``.
    """
    match = re.search(r"-\d+\.\d+[^/]*\.jar$", path.name)
    return path.name[: match.start()] if match else path.stem


def not_shipped(jars: Sequence[Path], shipped_dir: Path) -> list[Path]:
    """Return the jars of ``jars`` whose artifact is not already in ``shipped_dir``.

    The engine's own jars win: a second, older copy of a library it ships (Maven
    brings its own scala-library, slf4j and hadoop-client) would only risk a
    class conflict.
    """
    shipped = {jar_artifact(p) for p in shipped_dir.glob("*.jar")}
    return [p for p in jars if jar_artifact(p) not in shipped]


__all__ = [
    "ConnectorUnavailable",
    "EngineUnavailable",
    "MavenNotFound",
    "jar_artifact",
    "not_shipped",
    "require_java",
    "resolve_connector",
]
