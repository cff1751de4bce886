"""``ReferenceKafka``: the real Apache Kafka broker, from Maven Central, for tests.

The reference broker is what streamtest is measured against: the fidelity suite
sends the same bytes to it and to the embedded broker, the kit's and the ops
tools' suites run against it, and the benchmarks use it as their baseline. No
Docker is needed, only Java 17+ and Maven::

    with ReferenceKafka() as kafka:
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})

What :meth:`ReferenceKafka.start` does:

1. resolves the pinned ``org.apache.kafka:kafka_2.13`` release and its runtime
   dependencies with ``mvn dependency:copy-dependencies`` into the cache folder
   (:func:`cache_dir`; once per version, then reused);
2. writes a KRaft single-node ``server.properties`` (one process that is both
   broker and controller, KIP-500) bound to 127.0.0.1 on free ports;
3. formats the storage (``kafka-storage format``, i.e. ``kafka.tools.StorageTool``);
4. starts ``kafka.Kafka`` under a watchdog (``_guard.py``) that stops the JVM
   when its owner goes away, even by SIGKILL, and removes the data directory;
5. returns once a real client (librdkafka) gets metadata from it.

Errors are one line: :class:`JavaNotFound`/:class:`MavenNotFound` for a missing
tool, :class:`MavenResolutionError` naming the artifact Maven could not resolve,
and :class:`ReferenceKafkaError` with the last lines of the broker's log when the
JVM does not come up.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

#: The Apache Kafka release the reference broker runs: the newest 4.x whose
#: ``kafka_2.13`` server resolves from Maven Central and runs on Java 17.
KAFKA_VERSION = "4.4.0"

#: log4j 2's binding for SLF4J 1.7 (what Kafka 4.x logs through), at the log4j
#: version that release depends on. Kafka's binary distribution ships it; the
#: Maven artifact does not depend on it, and without it the broker logs nothing,
#: not even why it failed to start.
LOG4J_SLF4J_BINDING = "org.apache.logging.log4j:log4j-slf4j-impl:2.25.5"

#: Environment variable naming the download cache (see :func:`cache_dir`).
ENV_CACHE_DIR = "STREAMTEST_CACHE_DIR"

#: JVM options for the broker: Kafka's own defaults from ``kafka-run-class.sh``
#: (KAFKA_JVM_PERFORMANCE_OPTS), with a heap that grows from a small start instead
#: of ``kafka-server-start.sh``'s fixed 1 GiB, as a test machine runs several.
DEFAULT_JVM_OPTIONS: tuple[str, ...] = (
    "-Xms128m",
    "-Xmx1g",
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
)

# A short-lived JVM (the storage formatter, the tools) starts faster with the
# C1 compiler only and the serial collector; it runs for a second or two.
_SHORT_JVM_OPTIONS: tuple[str, ...] = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

_GUARD = Path(__file__).with_name("_guard.py")

_LOG4J2_PROPERTIES = """\
# Everything to stdout, which the watchdog writes to server.log.
rootLogger.level = {level}
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
"""


class ReferenceKafkaError(RuntimeError):
    """The reference broker could not be resolved, started or reached. The message
    is one line, or ends with the last lines of the broker's log."""


class ToolNotFound(ReferenceKafkaError):
    """``java`` or ``mvn`` is not on the PATH (or under ``JAVA_HOME``/``MAVEN_HOME``)."""


class JavaNotFound(ToolNotFound):
    """No ``java`` (17 or newer) to run the broker."""


class MavenNotFound(ToolNotFound):
    """No ``mvn`` to resolve the broker's jars (and none cached)."""


class MavenResolutionError(ReferenceKafkaError):
    """Maven could not resolve an artifact; :attr:`artifact` names it."""

    def __init__(self, artifact: str, detail: str) -> None:
        super().__init__(f"Maven could not resolve {artifact}: {detail}")
        self.artifact = artifact
        self.detail = detail


# -- where things go ----------------------------------------------------------------------


def cache_dir() -> Path:
    """Return the folder for downloads: ``$STREAMTEST_CACHE_DIR`` if set, else
    ``.cache/`` in the source checkout streamtest runs from (git-ignored), else
    ``$XDG_CACHE_HOME/streamtest`` (``~/.cache/streamtest``)."""
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / "src" / "streamtest").is_dir():
        return checkout / ".cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "streamtest"


def java_executable() -> str:
    """Return the ``java`` to run: ``$JAVA_HOME/bin/java``, else the one on the PATH.

    Raises:
        JavaNotFound: there is none.
    """
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise JavaNotFound(
            "java not found: Apache Kafka needs Java 17 or newer on the PATH (or JAVA_HOME)"
        )
    return found


def maven_executable() -> str:
    """Return the ``mvn`` to run.

    Raises:
        MavenNotFound: there is none.
    """
    for var in ("MAVEN_HOME", "M2_HOME"):
        home = os.environ.get(var)
        if home and (Path(home) / "bin" / "mvn").is_file():
            return str(Path(home) / "bin" / "mvn")
    found = shutil.which("mvn")
    if not found:
        raise MavenNotFound("mvn not found: Maven is needed to fetch Apache Kafka's jars")
    return found


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- resolving jars -----------------------------------------------------------------------

_POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by streamtest to fetch jars; not a build. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>streamtest.cache</groupId>
  <artifactId>{name}</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""

_DEPENDENCY = """\
    <dependency>
      <groupId>{group}</groupId>
      <artifactId>{artifact}</artifactId>
      <version>{version}</version>
    </dependency>"""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_COORDINATE = re.compile(r"[\w.\-]+:[\w.\-]+(?::[\w.\-]+){1,3}")


def resolve_classpath(
    artifacts: Sequence[str], *, cache: Path | None = None, timeout: float = 600.0
) -> list[Path]:
    """Return the jars of ``artifacts`` (``group:artifact:version`` coordinates) and of
    their runtime dependencies, downloading them with Maven the first time.

    The jars land in ``<cache>/maven/<name>/lib`` (one folder per list of
    artifacts) and Maven's own repository in ``<cache>/m2``. A completed folder is
    reused without running Maven; processes resolving the same list at once wait
    for each other.

    Raises:
        ValueError: a coordinate is not ``group:artifact:version``.
        MavenNotFound: the jars are not cached and there is no ``mvn``.
        MavenResolutionError: Maven could not resolve an artifact (named).
    """
    coords = []
    for item in artifacts:
        parts = item.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"expected group:artifact:version, not {item!r}")
        coords.append(parts)
    cache = cache or cache_dir()
    digest = hashlib.sha256("\n".join(artifacts).encode()).hexdigest()[:10]
    name = f"{coords[0][1]}-{coords[0][2]}-{digest}"
    home = cache / "maven" / name
    lib, done = home / "lib", home / "resolved"
    if done.is_file():
        return sorted(lib.glob("*.jar"))
    with _file_lock(home / ".lock"):
        if done.is_file():  # another process finished it while we waited
            return sorted(lib.glob("*.jar"))
        mvn = maven_executable()
        deps = "\n".join(_DEPENDENCY.format(group=g, artifact=a, version=v) for g, a, v in coords)
        (home / "pom.xml").write_text(_POM.format(name=name, dependencies=deps))
        staging = home / "lib.partial"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [
            mvn,
            "-B",
            "-q",
            "-U",  # retry what an earlier, perhaps offline, run failed to fetch
            "-Dstyle.color=never",
            f"-Dmaven.repo.local={cache / 'm2'}",
            "-f",
            str(home / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise MavenResolutionError(
                artifacts[0], f"mvn did not finish within {timeout:g}s"
            ) from exc
        if proc.returncode != 0:
            raise _resolution_error(artifacts, proc.stdout + proc.stderr)
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
        done.write_text("\n".join(artifacts) + "\n")
    return sorted(lib.glob("*.jar"))


def _resolution_error(artifacts: Sequence[str], output: str) -> MavenResolutionError:
    """Return the error for a failed ``mvn`` run: the artifact it names, and why.

    Maven's first ``[ERROR]`` line reads "Failed to execute goal on project P:
    Could not resolve dependencies for project G:A:pom:0: <why>", where <why> names
    the artifact ("Could not find artifact G:A:jar:V in central (URL)", "G:A:jar:V
    was not found in URL during a previous attempt", "Could not transfer artifact
    ...").
    """
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    errors = [ln.removeprefix("[ERROR]").strip() for ln in lines if ln.startswith("[ERROR]")]
    errors = [e for e in errors if e]
    first = errors[0] if errors else next((ln for ln in reversed(lines) if ln), "mvn failed")
    why = re.split(r"Could not resolve dependencies for project \S+?: ", first, maxsplit=1)[-1]
    why = why.split(" -> [Help")[0]
    match = _COORDINATE.search(why)
    artifact = match.group(0) if match else artifacts[0]
    if match:
        why = (why[: match.start()] + why[match.end() :]).strip()
    why = re.sub(r"\s+", " ", why.split(". ")[0]).strip(" :.") or "mvn failed"
    if len(why) > 200:
        why = why[:197] + "..."
    return MavenResolutionError(artifact, why)


def kafka_classpath(version: str = KAFKA_VERSION, *, cache: Path | None = None) -> list[Path]:
    """Return the jars to run the Apache Kafka ``version`` server (and its tools in
    ``kafka_2.13``, such as the storage formatter), resolving them if needed.

    Raises:
        MavenNotFound, MavenResolutionError: see :func:`resolve_classpath`.
    """
    return resolve_classpath(
        [f"org.apache.kafka:kafka_2.13:{version}", LOG4J_SLF4J_BINDING], cache=cache
    )


def kafka_tools_classpath(version: str = KAFKA_VERSION, *, cache: Path | None = None) -> list[Path]:
    """Return the jars of ``org.apache.kafka:kafka-tools`` (``ProducerPerformance``,
    ``ConsumerPerformance``, ...) for ``version``, resolving them if needed.

    Raises:
        MavenNotFound, MavenResolutionError: see :func:`resolve_classpath`.
    """
    return resolve_classpath(
        [f"org.apache.kafka:kafka-tools:{version}", LOG4J_SLF4J_BINDING], cache=cache
    )


def classpath_arg(jars: Sequence[Path]) -> str:
    """Return ``jars`` joined for ``java -cp``."""
    return os.pathsep.join(str(j) for j in jars)


# -- processes ----------------------------------------------------------------------------


def guarded_popen(
    cmd: Sequence[str],
    *,
    log: Path | None = None,
    owner_pid: int | None = None,
    cleanup: Path | None = None,
    grace: float = 15.0,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``cmd`` under the watchdog and return ``(guard, command_pid)``.

    The command never outlives its owner: by default the calling process (the
    guard stops it when its stdin pipe, held by ``guard.stdin``, closes; close it
    to stop the command gracefully), or the process ``owner_pid``. Its output goes
    to ``log`` (appended), and ``cleanup`` is removed once it has stopped. See
    ``_guard.py`` for the details.

    Raises:
        ReferenceKafkaError: the command could not be started.
    """
    args = [sys.executable, "-I", "-S", str(_GUARD), "--grace", str(grace)]
    if log is not None:
        args += ["--log", str(log)]
    if owner_pid is not None:
        args += ["--owner-pid", str(owner_pid)]
    if cleanup is not None:
        args += ["--cleanup", str(cleanup)]
    guard = subprocess.Popen(
        [*args, "--", *cmd],
        stdin=subprocess.PIPE if owner_pid is None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        # A new session: Ctrl-C in the terminal reaches the test runner, which stops
        # the command in order, rather than the command directly.
        start_new_session=True,
    )
    assert guard.stdout is not None
    first = guard.stdout.readline()
    try:
        hello = json.loads(first)
    except ValueError:
        hello = {"error": f"the watchdog said {first!r}"}
    if "pid" not in hello:
        guard.wait()
        raise ReferenceKafkaError(str(hello.get("error", "the watchdog did not start")))
    return guard, int(hello["pid"])


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def random_cluster_id() -> str:
    """Return a new KRaft cluster id: 16 random bytes in URL-safe base64 without
    padding, as ``kafka-storage random-uuid`` prints them.

    Like Kafka's ``Uuid.randomUuid``, it never starts with ``-``: one id in 64 would,
    and ``kafka-storage format --cluster-id -...`` then reads it as an option and
    fails with its usage text.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def rss_bytes(pid: int) -> int | None:
    """Return the resident memory of process ``pid`` in bytes (Linux), else ``None``."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# -- the broker ---------------------------------------------------------------------------


class ReferenceKafka:
    """A single-node Apache Kafka (KRaft, broker and controller in one JVM) on loopback.

    Args:
        version: the Kafka release (:data:`KAFKA_VERSION` by default).
        cache_dir: where jars are downloaded (:func:`cache_dir` by default).
        broker_properties: ``server.properties`` entries added to, or replacing,
            the defaults (:meth:`default_properties`), e.g.
            ``{"auto.create.topics.enable": "false"}``.
        jvm_options: replaces :data:`DEFAULT_JVM_OPTIONS`.
        startup_timeout: seconds to wait until the broker is ready (see
            ``warm_coordinators``).
        owner_pid: the JVM lives until this process exits (or :meth:`stop`),
            instead of until the calling process does.
        log_level: the root log4j level (``INFO`` shows startup and topic changes).
        warm_coordinators: also wait until the group and transaction coordinators
            answer (Kafka creates its internal topics on first use), so the first
            test that commits offsets does not meet NOT_COORDINATOR.
    """

    def __init__(
        self,
        version: str = KAFKA_VERSION,
        cache_dir: str | os.PathLike[str] | None = None,
        broker_properties: Mapping[str, Any] | None = None,
        *,
        jvm_options: Sequence[str] | None = None,
        startup_timeout: float = 120.0,
        owner_pid: int | None = None,
        log_level: str = "INFO",
        warm_coordinators: bool = True,
    ) -> None:
        self.version = version
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.broker_properties = {k: str(v) for k, v in (broker_properties or {}).items()}
        self.jvm_options = tuple(jvm_options) if jvm_options is not None else DEFAULT_JVM_OPTIONS
        self.startup_timeout = startup_timeout
        self.owner_pid = owner_pid
        self.log_level = log_level
        self.warm_coordinators = warm_coordinators
        #: Seconds from :meth:`start` until ready: metadata answered and, with
        #: ``warm_coordinators``, the group and transaction coordinators loaded
        #: (resolving the jars is not included).
        self.startup_seconds: float | None = None
        #: Seconds from :meth:`start` until clients got metadata.
        self.metadata_seconds: float | None = None
        #: The KRaft cluster id the storage was formatted with.
        self.cluster_id: str | None = None
        self.pid: int | None = None
        self.workdir: Path | None = None
        self.port: int | None = None
        self.controller_port: int | None = None
        self._guard: subprocess.Popen[bytes] | None = None
        self._attached = False

    # -- configuration ------------------------------------------------------------------

    def default_properties(self, data_dir: Path, port: int, controller_port: int) -> dict[str, str]:
        """Return the ``server.properties`` a single-node test broker runs with."""
        return {
            # KRaft combined mode: this one process is the whole cluster (KIP-500).
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(data_dir),
            # One node: internal topics cannot have more than one replica.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Tests join groups constantly; Kafka's 3 s wait for more members is
            # what every test-oriented distribution turns off.
            "group.initial.rebalance.delay.ms": "0",
        }

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> ReferenceKafka:
        """Resolve, format and start the broker; return once clients get metadata.

        Raises:
            JavaNotFound, MavenNotFound: a tool is missing.
            MavenResolutionError: Maven could not resolve an artifact.
            ReferenceKafkaError: the broker did not start; the message ends with
                the last lines of its log.
            RuntimeError: it is already running.
        """
        if self._guard is not None or self._attached:
            raise RuntimeError(f"{self!r} is already running")
        java = java_executable()
        jars = kafka_classpath(self.version, cache=self.cache_dir)
        began = time.monotonic()
        # A free port can be taken by someone else before the JVM binds it; then
        # pick new ports (the log says "Address already in use").
        for attempt in range(3):
            try:
                self._launch(java, jars, began)
                break
            except ReferenceKafkaError as exc:
                if attempt == 2 or "Address already in use" not in str(exc):
                    raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _launch(self, java: str, jars: Sequence[Path], began: float) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="reference-kafka-"))
        data = workdir / "data"
        self.port, self.controller_port = free_port(), free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        props = self.default_properties(data, self.port, self.controller_port)
        props.update(self.broker_properties)
        (workdir / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (workdir / "log4j2.properties").write_text(_LOG4J2_PROPERTIES.format(level=self.log_level))
        self.workdir = workdir
        self.cluster_id = random_cluster_id()
        cp = classpath_arg(jars)
        log_opt = f"-Dlog4j2.configurationFile={workdir / 'log4j2.properties'}"
        try:
            fmt = subprocess.run(
                [
                    java,
                    *_SHORT_JVM_OPTIONS,
                    log_opt,
                    "-cp",
                    cp,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    self.cluster_id,
                    "-c",
                    str(workdir / "server.properties"),
                ],
                capture_output=True,
                text=True,
                timeout=max(30.0, self.startup_timeout),
            )
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            raise ReferenceKafkaError("formatting the storage timed out") from exc
        if fmt.returncode != 0:
            shutil.rmtree(workdir, ignore_errors=True)
            lines = (fmt.stdout + fmt.stderr).strip().splitlines()
            cause = next((ln for ln in lines if "Exception" in ln or "ERROR" in ln), "")
            tail = "\n".join(lines[-15:])
            raise ReferenceKafkaError(f"kafka-storage format failed: {cause.strip()}\n{tail}")
        self._guard, self.pid = guarded_popen(
            [
                java,
                *self.jvm_options,
                log_opt,
                "-cp",
                cp,
                "kafka.Kafka",
                str(workdir / "server.properties"),
            ],
            log=workdir / "server.log",
            owner_pid=self.owner_pid,
            cleanup=workdir,
            cwd=workdir,
        )
        try:
            self._wait_ready(began)
        except BaseException:
            tail = self.log_tail(30)
            self._terminate()
            if tail:
                raise ReferenceKafkaError(
                    f"Apache Kafka {self.version} did not start; last lines of its log:\n{tail}"
                ) from None
            raise

    def _wait_ready(self, began: float) -> None:
        """Return once librdkafka gets metadata naming our broker.

        Raises:
            ReferenceKafkaError: the JVM exited, or the deadline passed.
        """
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(
            {
                "bootstrap.servers": self.bootstrap_servers,
                # Retry the connection quickly while the JVM is still booting.
                "reconnect.backoff.ms": 20,
                "reconnect.backoff.max.ms": 200,
                "log_level": 0,
                "logger": _SilentLogger(),
            }
        )
        deadline = began + self.startup_timeout
        while True:
            if self._guard is not None and self._guard.poll() is not None:
                raise ReferenceKafkaError("the JVM exited")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReferenceKafkaError(
                    f"no metadata from 127.0.0.1:{self.port} within {self.startup_timeout:g}s"
                )
            try:
                # Blocks until an answer or the timeout: the wait is on the socket.
                md = admin.list_topics(timeout=min(1.0, remaining))
            except Exception:  # KafkaException(_TRANSPORT / _TIMED_OUT): not up yet
                continue
            if md.brokers:
                break
        self.metadata_seconds = time.monotonic() - began
        if self.warm_coordinators:
            self._warm_coordinators(deadline)

    def _warm_coordinators(self, deadline: float) -> None:
        """Return once the group and transaction coordinators answer.

        A new Kafka creates ``__consumer_offsets`` and ``__transaction_state`` on
        the first FindCoordinator and answers COORDINATOR_NOT_AVAILABLE until they
        are loaded; librdkafka then fails a first synchronous commit with
        NOT_COORDINATOR. A test broker is ready when a test can use groups.

        Raises:
            ReferenceKafkaError: the coordinators were not ready by ``deadline``.
        """
        from ..protocol.client import ClientConnection, build_request
        from .wait import eventually

        conn = ClientConnection("streamtest-reference-kafka")
        with socket.create_connection(("127.0.0.1", self.port or 0), timeout=10) as sock:

            def found(key_type: int) -> bool:
                request = build_request(10, 3, {"key": "streamtest-warm-up", "key_type": key_type})
                sock.sendall(conn.send_request(request))
                while (response := conn.next_response()) is None:
                    data = sock.recv(65536)
                    if not data:
                        raise ReferenceKafkaError("the broker closed the connection")
                    conn.receive_data(data)
                return response.body.error_code == 0

            for key_type in (0, 1):  # group, transaction
                try:
                    eventually(
                        lambda k=key_type: found(k),
                        timeout=max(0.1, deadline - time.monotonic()),
                        interval=0.05,
                        reraise=(ReferenceKafkaError, OSError),
                    )
                except AssertionError:
                    raise ReferenceKafkaError(
                        f"the coordinators were not ready within {self.startup_timeout:g}s"
                    ) from None

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after a deadline) and remove its
        data. A second call, or a call on an attached handle, is a no-op."""
        if self._attached:
            return
        self._terminate()

    def _terminate(self, timeout: float = 30.0) -> None:
        guard, self._guard = self._guard, None
        if guard is None:
            return
        # Closing the guard's stdin is the polite request; SIGTERM the guard when it
        # watches another owner. It SIGTERMs the JVM and SIGKILLs it after 15 s.
        if guard.stdin is not None:
            with contextlib.suppress(OSError):
                guard.stdin.close()
        else:
            with contextlib.suppress(ProcessLookupError):
                guard.terminate()
        try:
            guard.wait(timeout)
        except subprocess.TimeoutExpired:
            guard.kill()  # the kernel then SIGKILLs the JVM (PR_SET_PDEATHSIG)
            guard.wait()
        if guard.stdout is not None:
            guard.stdout.close()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ReferenceKafka:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- sharing one broker between processes ----------------------------------------------

    def describe(self) -> dict[str, Any]:
        """Return what another process needs to use this broker (see :meth:`attach`)."""
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "version": self.version,
            "pid": self.pid,
            "workdir": str(self.workdir),
            "cluster_id": self.cluster_id,
            "startup_seconds": self.startup_seconds,
            "metadata_seconds": self.metadata_seconds,
        }

    @classmethod
    def attach(cls, info: Mapping[str, Any]) -> ReferenceKafka:
        """Return a handle on a broker started by another process (from
        :meth:`describe`); its :meth:`stop` does nothing."""
        self = cls(version=str(info["version"]))
        self._attached = True
        self.port = int(str(info["bootstrap_servers"]).rpartition(":")[2])
        self.pid = info.get("pid")
        self.workdir = Path(info["workdir"]) if info.get("workdir") else None
        self.cluster_id = info.get("cluster_id")
        self.startup_seconds = info.get("startup_seconds")
        self.metadata_seconds = info.get("metadata_seconds")
        return self

    @classmethod
    def shared(
        cls, state_dir: str | os.PathLike[str], owner_pid: int, **kwargs: Any
    ) -> ReferenceKafka:
        """Return the one broker shared by every process that passes ``state_dir``:
        the first caller starts it, to live until process ``owner_pid`` exits; the
        others attach to it. (The pytest fixture uses this so all xdist workers share
        one JVM that lives as long as the xdist controller.)

        Raises:
            the errors of :meth:`start`; a failed start is not retried by later callers
            in the same ``state_dir`` (they get the same error).
        """
        state = Path(state_dir)
        info_file, error_file = state / "reference-kafka.json", state / "reference-kafka.error"
        with _file_lock(state / "reference-kafka.lock"):
            if info_file.is_file():
                return cls.attach(json.loads(info_file.read_text()))
            if error_file.is_file():
                # Starting failed for an earlier caller: fail the same way, fast.
                saved = json.loads(error_file.read_text())
                if saved["kind"] == "MavenResolutionError":
                    raise MavenResolutionError(saved["artifact"], saved["detail"])
                kinds = {c.__name__: c for c in _ERRORS}
                raise kinds.get(saved["kind"], ReferenceKafkaError)(saved["message"])
            kafka = cls(owner_pid=owner_pid, **kwargs)
            try:
                kafka.start()
            except ReferenceKafkaError as exc:
                saved = {"kind": type(exc).__name__, "message": str(exc)}
                if isinstance(exc, MavenResolutionError):
                    saved.update(artifact=exc.artifact, detail=exc.detail)
                error_file.write_text(json.dumps(saved))
                raise
            info_file.write_text(json.dumps(kafka.describe()))
            kafka._attached = True  # the owner's exit stops it, not this process
            return kafka

    # -- inspection ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Return whether this handle's broker is running."""
        if self._attached:
            return True
        return self._guard is not None and self._guard.poll() is None

    @property
    def bootstrap_servers(self) -> str:
        """Return ``"127.0.0.1:port"`` for clients' ``bootstrap.servers``.

        Raises:
            RuntimeError: the broker was never started.
        """
        if self.port is None:
            raise RuntimeError("ReferenceKafka is not running; call start() first")
        return f"127.0.0.1:{self.port}"

    def log_tail(self, n: int = 30) -> str:
        """Return the last ``n`` lines of the broker's log ("" if there is none yet)."""
        if self.workdir is None:
            return ""
        try:
            with open(self.workdir / "server.log", "rb") as log:
                log.seek(0, os.SEEK_END)
                size = log.tell()
                log.seek(max(0, size - 256 * 1024))
                lines = log.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def rss_bytes(self) -> int | None:
        """Return the JVM's resident memory in bytes (Linux), else ``None``."""
        return rss_bytes(self.pid) if self.pid is not None else None

    def __repr__(self) -> str:
        where = f"127.0.0.1:{self.port}" if self.port else "stopped"
        return f"<ReferenceKafka {self.version} {where}>"


_ERRORS: tuple[type[ReferenceKafkaError], ...] = (
    ReferenceKafkaError,
    ToolNotFound,
    JavaNotFound,
    MavenNotFound,
    MavenResolutionError,
)


class _SilentLogger:
    """A ``logging.Logger`` stand-in for librdkafka: connection refusals while the
    JVM boots are expected, and would otherwise flood stderr."""

    def log(self, *args: object) -> None:
        """Drop the message."""


# -- command line (tools/reference-kafka) -------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the reference broker in the foreground until Ctrl-C or SIGTERM; return
    the exit status. ``--resolve-only`` just downloads the jars.

    The first line on stdout is the bootstrap address (with ``--json``, a JSON
    object describing the broker), so scripts can read it; progress and errors go
    to stderr, errors as one line.
    """
    import argparse
    import signal
    import threading

    parser = argparse.ArgumentParser(
        prog="reference-kafka",
        description="Run Apache Kafka (KRaft, one node) on 127.0.0.1 for tests, from "
        "Maven Central; Java 17+ and Maven are needed. Stop it with Ctrl-C.",
    )
    parser.add_argument("--version", default=KAFKA_VERSION, help=f"(default {KAFKA_VERSION})")
    parser.add_argument("--cache-dir", default=None, help=f"(default {cache_dir()})")
    parser.add_argument(
        "--property",
        "-p",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a server.properties entry (repeatable)",
    )
    parser.add_argument("--resolve-only", action="store_true", help="download the jars, then exit")
    parser.add_argument(
        "--tools", action="store_true", help="also download kafka-tools (the perf tests)"
    )
    parser.add_argument("--json", action="store_true", help="print the broker's details as JSON")
    ns = parser.parse_args(argv)
    props: dict[str, str] = {}
    for item in ns.property:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--property takes KEY=VALUE, not {item!r}")
        props[key.strip()] = value
    cache = Path(ns.cache_dir) if ns.cache_dir else None
    try:
        if ns.resolve_only:
            jars = kafka_classpath(ns.version, cache=cache)
            if ns.tools:
                jars += kafka_tools_classpath(ns.version, cache=cache)
            print(f"Apache Kafka {ns.version}: {len(jars)} jars in {cache or cache_dir()}")
            return 0
        if ns.tools:
            kafka_tools_classpath(ns.version, cache=cache)
        kafka = ReferenceKafka(ns.version, cache, props).start()
    except ReferenceKafkaError as exc:
        print(f"reference-kafka: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    guard = kafka._guard
    assert guard is not None
    threading.Thread(target=lambda: (guard.wait(), stop.set()), daemon=True).start()
    info = kafka.describe()
    print(json.dumps(info) if ns.json else kafka.bootstrap_servers, flush=True)
    rss = kafka.rss_bytes()
    print(
        f"Apache Kafka {kafka.version} on {kafka.bootstrap_servers}, ready in "
        f"{kafka.startup_seconds:.1f}s"
        + (f", {rss / 2**20:.0f} MiB RSS" if rss else "")
        + f"; log: {kafka.workdir}/server.log. Ctrl-C stops it.",
        file=sys.stderr,
        flush=True,
    )
    stop.wait()
    died = guard.poll() is not None
    tail = kafka.log_tail(20) if died else ""
    kafka.stop()
    if died:
        print(
            f"reference-kafka: the broker exited; last lines of its log:\n{tail}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
