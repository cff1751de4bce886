"""Run the Kafka Streams example's JVM from a test: start it, stop it cleanly, SIGKILL it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from streamtest.kit import reference_kafka as ref
from streamtest.kit.jvm import MavenBuild


class AppDied(AssertionError):
    """The Streams JVM exited while a test waited on it."""


class StreamsApp:
    """One run of the Kafka Streams app's JVM, under streamtest's watchdog (so it never
    outlives the test process, even if pytest is SIGKILLed).

    ``stop()`` closes it cleanly (SIGTERM: KafkaStreams.close() commits);
    ``kill()`` SIGKILLs the JVM mid-run, as a crash would.
    """

    def __init__(self, jar: MavenBuild, log: Path, **args: Any) -> None:
        self.log = log
        argv: list[str] = []
        for name, value in args.items():
            argv += [f"--{name.replace('_', '-')}", str(value)]
        cmd = jar.java_command(*argv, jvm_options=("-Xmx256m", "-XX:TieredStopAtLevel=1"))
        self.guard, self.pid = ref.guarded_popen(cmd, log=log, grace=30.0)

    def events(self) -> list[dict[str, Any]]:
        """The app's JSON lines so far (state changes, errors)."""
        if not self.log.exists():
            return []
        lines = self.log.read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith('{"event"')]

    def check_alive(self) -> None:
        """Raise :class:`AppDied` (with the end of its log) if the JVM has exited."""
        if self.guard.poll() is not None:
            raise AppDied(f"the Streams app exited with {self.guard.returncode}:\n{self.tail()}")
        errors = [e for e in self.events() if e["event"] == "error"]
        if errors:
            raise AppDied(f"the Streams app failed: {errors}\n{self.tail()}")

    def tail(self, n: int = 40) -> str:
        """The last ``n`` lines of its output."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def stop(self, timeout: float = 60.0) -> None:
        """Close the app cleanly and wait for its JVM to exit."""
        if self.guard.poll() is None:
            assert self.guard.stdin is not None
            self.guard.stdin.close()  # the watchdog then sends SIGTERM
            self.guard.wait(timeout)
        assert any(e["event"] == "closed" for e in self.events()), self.tail()

    def kill(self, timeout: float = 30.0) -> None:
        """SIGKILL the JVM (no shutdown hook, no commit) and wait until it is gone."""
        os.kill(self.pid, signal.SIGKILL)
        try:
            self.guard.wait(timeout)
        except subprocess.TimeoutExpired:  # pragma: no cover - the guard exits with its command
            self.guard.kill()
            raise
