"""Build and run JVM programs (a Maven module, a Kafka Streams app) from tests.

Tests that drive the Java client or Kafka Streams need three things this module
gives them: a one-line reason to skip where ``java`` or ``mvn`` is missing, one
download cache for Maven (``$STREAMTEST_CACHE_DIR/m2``), and a Maven build that
runs once however many pytest-xdist workers ask for it at the same moment (a file
lock) and is skipped when nothing it depends on has changed (a stamp of the
sources and the build properties).

Nothing here imports pytest: a test turns :class:`JvmUnavailable` into a skip.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: The environment variable naming the download cache (CI points it at a folder
#: kept between runs; a run must never depend on it being filled).
CACHE_ENV = "STREAMTEST_CACHE_DIR"


class JvmUnavailable(RuntimeError):
    """``java`` or ``mvn`` is missing, or Maven could not resolve an artifact.

    Its message is one line meant for a skip reason.
    """


class MavenBuildError(RuntimeError):
    """The Maven build failed for a reason other than a missing tool or artifact.

    Its message ends with the last lines of Maven's output.
    """


def cache_dir() -> Path:
    """Return the download cache: ``$STREAMTEST_CACHE_DIR``, else ``.cache/`` in the
    source checkout this module was imported from, else ``~/.cache/streamtest``.

    The folder is created if missing.
    """
    configured = os.environ.get(CACHE_ENV)
    if configured:
        path = Path(configured).expanduser()
    else:
        root = Path(__file__).resolve().parents[3]
        checkout = (root / "pyproject.toml").is_file() and (root / "src" / "streamtest").is_dir()
        path = root / ".cache" if checkout else Path.home() / ".cache" / "streamtest"
    path.mkdir(parents=True, exist_ok=True)
    return path


def missing_tools() -> str | None:
    """Return a one-line reason if ``java`` or ``mvn`` is not on the PATH, else ``None``."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found on the PATH (needed for the JVM tests)"
    return None


@dataclass(frozen=True)
class MavenBuild:
    """A built Maven module: its runnable jar and how long the build took.

    ``seconds`` is 0.0 when the build was reused (nothing had changed).
    """

    jar: Path
    seconds: float
    reused: bool

    def java_command(self, *args: str, jvm_options: tuple[str, ...] = ()) -> list[str]:
        """Return the command line that runs the jar's main class with ``args``."""
        return [shutil.which("java") or "java", *jvm_options, "-jar", str(self.jar), *args]


def build_maven_module(
    module: str | os.PathLike[str],
    jar_name: str,
    properties: Mapping[str, str] | None = None,
    timeout: float = 900.0,
) -> MavenBuild:
    """Run ``mvn package`` on ``module`` once and return its runnable jar.

    The module's pom must honour two properties: ``streamtest.build.dir`` (its
    ``<build><directory>``, so the build lands in the cache, not the source tree)
    and produce ``jar_name`` there with its dependencies on the manifest's class
    path. ``properties`` are passed as ``-Dkey=value`` (e.g. ``kafka.version``).

    A file lock serialises concurrent callers (pytest-xdist workers); a stamp of
    the pom, the sources and ``properties`` skips Maven when nothing changed.

    Raises:
        JvmUnavailable: ``java``/``mvn`` is missing, or Maven could not resolve an
            artifact (the message names it).
        MavenBuildError: the build failed otherwise (compile error, timeout).
    """
    reason = missing_tools()
    if reason:
        raise JvmUnavailable(reason)
    source = Path(module).resolve()
    props = dict(properties or {})
    cache = cache_dir()
    build_dir = cache / "build" / Path(jar_name).stem
    jar = build_dir / jar_name
    stamp_file = build_dir / ".streamtest-stamp"
    stamp = _stamp(source, props)
    with _locked(cache / "build" / f"{Path(jar_name).stem}.lock"):
        if jar.is_file() and stamp_file.is_file() and stamp_file.read_text() == stamp:
            return MavenBuild(jar, 0.0, reused=True)
        command = [
            shutil.which("mvn") or "mvn",
            "-B",
            "-q",
            f"-Dmaven.repo.local={cache / 'm2'}",
            f"-Dstreamtest.build.dir={build_dir}",
            "-DskipTests",
            *(f"-D{key}={value}" for key, value in sorted(props.items())),
            "package",
        ]
        started = time.monotonic()
        try:
            proc = subprocess.run(
                command,
                cwd=source,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise MavenBuildError(
                f"mvn package in {source} did not finish within {timeout:g}s"
            ) from exc
        seconds = time.monotonic() - started
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).strip()
            unresolved = _unresolved_artifact(output)
            if unresolved:
                raise JvmUnavailable(f"Maven could not resolve {unresolved}")
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


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (released if the process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _unresolved_artifact(output: str) -> str | None:
    """Return the artifact Maven names when it cannot download one, else ``None``."""
    markers = ("Could not resolve dependencies", "Could not transfer artifact", "not found in")
    for line in output.splitlines():
        if any(marker in line for marker in markers):
            start = line.find("artifact ")
            if start >= 0:
                return line[start + len("artifact ") :].split(" ")[0]
            return line.strip().removeprefix("[ERROR] ")[:200]
    return None
