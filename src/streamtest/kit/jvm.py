"""Build JVM programs (a Maven module, a Kafka Streams app) for tests to run.

Tests that drive the Java client or Kafka Streams need a Maven build that runs
once however many pytest-xdist workers ask for it at the same moment (a file
lock) and is skipped when nothing it depends on has changed (a stamp of the
sources and the build properties). Tools and the download cache are the reference
broker's (:mod:`streamtest.kit.reference_kafka`): the same ``java`` and ``mvn``,
and Maven's repository in ``$STREAMTEST_CACHE_DIR/m2``, so Kafka's jars are
downloaded once for both.

Nothing here imports pytest: a test turns :class:`~streamtest.kit.reference_kafka.ToolNotFound`
or :class:`~streamtest.kit.reference_kafka.MavenResolutionError` into a skip.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .reference_kafka import (
    ReferenceKafkaError,
    _file_lock,
    _resolution_error,
    cache_dir,
    java_executable,
    maven_executable,
)


class MavenBuildError(ReferenceKafkaError):
    """The Maven build failed for a reason other than a missing tool or artifact
    (a compile error, a timeout). Its message ends with the last lines of Maven's
    output."""


@dataclass(frozen=True)
class MavenBuild:
    """A built Maven module: its runnable jar and how long the build took.

    ``seconds`` is 0.0 and ``reused`` true when nothing had changed since the last
    build.
    """

    jar: Path
    seconds: float
    reused: bool

    def java_command(self, *args: str, jvm_options: tuple[str, ...] = ()) -> list[str]:
        """Return the command line that runs the jar's main class with ``args``."""
        return [java_executable(), *jvm_options, "-jar", str(self.jar), *args]


def build_maven_module(
    module: str | os.PathLike[str],
    jar_name: str,
    properties: Mapping[str, str] | None = None,
    timeout: float = 900.0,
) -> MavenBuild:
    """Run ``mvn package`` on ``module`` once and return its runnable jar.

    The module's pom must take its ``<build><directory>`` from the property
    ``streamtest.build.dir`` (so the build lands in the cache, not the source
    tree) and make ``jar_name`` there, runnable with ``java -jar`` (dependencies
    on the manifest's class path). ``properties`` are passed as ``-Dkey=value``
    (e.g. ``kafka.version``).

    Raises:
        JavaNotFound, MavenNotFound: a tool is missing.
        MavenResolutionError: Maven could not resolve an artifact (named).
        MavenBuildError: the build failed otherwise.
    """
    java_executable()
    mvn = maven_executable()
    source = Path(module).resolve()
    props = dict(properties or {})
    cache = cache_dir()
    name = Path(jar_name).stem
    build_dir = cache / "build" / name
    jar = build_dir / jar_name
    stamp_file = build_dir / ".streamtest-stamp"
    stamp = _stamp(source, props)
    # One lock for every build: Maven 3.8 does not lock its local repository, so two
    # builds filling the same m2 at once (pytest-xdist workers) could clash.
    with _file_lock(cache / "build" / "maven.lock"):
        if jar.is_file() and stamp_file.is_file() and stamp_file.read_text() == stamp:
            return MavenBuild(jar, 0.0, reused=True)
        command = [
            mvn,
            "-B",
            "-q",
            "-Dstyle.color=never",
            f"-Dmaven.repo.local={cache / 'm2'}",
            f"-Dstreamtest.build.dir={build_dir}",
            "-DskipTests",
            *(f"-D{key}={value}" for key, value in sorted(props.items())),
            "package",
        ]
        started = time.monotonic()
        try:
            proc = subprocess.run(
                command, cwd=source, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise MavenBuildError(
                f"mvn package in {source} did not finish within {timeout:g}s"
            ) from exc
        seconds = time.monotonic() - started
        output = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0:
            unresolved = ("Could not resolve dependencies", "Could not transfer artifact")
            if any(marker in output for marker in unresolved):
                raise _resolution_error([f"streamtest:{name}:0"], output)
            tail = "\n".join(output.splitlines()[-30:])
            raise MavenBuildError(f"mvn package failed in {source}:\n{tail}")
        if not jar.is_file():
            raise MavenBuildError(f"mvn package in {source} succeeded but made no {jar}")
        stamp_file.write_text(stamp)
        return MavenBuild(jar, seconds, reused=False)


def _stamp(source: Path, properties: Mapping[str, str]) -> str:
    """Return a digest of everything the build reads: the pom, src/, the properties."""
    digest = hashlib.sha256(json.dumps(sorted(properties.items())).encode())
    files = [source / "pom.xml", *sorted(p for p in (source / "src").rglob("*") if p.is_file())]
    for path in files:
        digest.update(str(path.relative_to(source)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
