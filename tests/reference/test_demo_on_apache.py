"""``streamtest demo --bootstrap-servers`` against Apache Kafka: the reference
pipeline's whole scenario suite must pass on the real broker as on the embedded
one (issue 12). The embedded run is examples/churn/tests/test_churn_demo.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHURN = Path(__file__).resolve().parents[2] / "examples" / "churn"


def test_the_whole_demo_passes_against_apache_kafka(reference_kafka, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streamtest.cli",
            "demo",
            "--bootstrap-servers",
            reference_kafka.bootstrap_servers,
            "-j",
            "1",
            "--reports",
            str(reports),
            "--suite",
            str(CHURN),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, COLUMNS="200", NO_COLOR="1", TERM="dumb"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert f"using the Kafka at {reference_kafka.bootstrap_servers}" in result.stdout
    assert " failed" not in result.stdout
    assert (reports / "junit.xml").is_file()
