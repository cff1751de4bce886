"""Apache Kafka's own command-line tools (kafka-configs, kafka-log-dirs,
kafka-metadata-quorum, kafka-topics...) run against a broker, for interop tests.

The tools come from ``org.apache.kafka:kafka-tools`` at the reference broker's
version, resolved through Maven like the reference broker itself. Without Java or
Maven the test skips with one line saying why (and fails on CI, where they must run).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

import pytest

#: Main classes of the tools, by the name of their shell script.
TOOLS = {
    "kafka-configs": "org.apache.kafka.tools.ConfigCommand",
    "kafka-log-dirs": "org.apache.kafka.tools.LogDirsCommand",
    "kafka-metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
}


@dataclass(frozen=True)
class ToolResult:
    """What a tool printed and its exit status."""

    returncode: int
    stdout: str
    stderr: str

    def last_error(self) -> str:
        """Return the last line of stderr (where the tools put the cause)."""
        lines = [ln for ln in self.stderr.splitlines() if ln.strip()]
        return lines[-1] if lines else ""


def kafka_tool(name: str, *args: str, timeout: float = 120) -> ToolResult:
    """Run Kafka's tool ``name`` (a key of :data:`TOOLS`) with ``args``.

    Skips the test when Java or Maven (or Kafka's jars) are unavailable, except on CI.
    """
    from streamtest.kit.reference_kafka import (
        ReferenceKafkaError,
        classpath_arg,
        java_executable,
        kafka_tools_classpath,
    )

    try:
        java = java_executable()
        jars = kafka_tools_classpath()
    except ReferenceKafkaError as exc:
        reason = f"Kafka's tools unavailable: {str(exc).splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (required on CI)", pytrace=False)
        pytest.skip(reason)
    proc = subprocess.run(
        [java, "-cp", classpath_arg(jars), TOOLS[name], *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return ToolResult(proc.returncode, proc.stdout, proc.stderr)
