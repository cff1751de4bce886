"""``streamtest demo`` end to end: it runs as a real command, starts its own broker,
runs (some of) the scenarios in a child pytest, and reports. These tests are not
scenarios themselves, so the demo never runs them."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from churn.testing import CHURN_DIR, DEADLINE

from streamtest import eventually

pytestmark = pytest.mark.slow


def demo_command(*args: str) -> list[str]:
    """Return the command line of ``streamtest demo`` with ``args``."""
    return [sys.executable, "-m", "streamtest.cli", "demo", *args]


def demo_env() -> dict[str, str]:
    """A wide, colourless console, so rich's table keeps whole lines."""
    return dict(os.environ, COLUMNS="200", NO_COLOR="1", TERM="dumb")


def test_demo_runs_the_selected_scenarios_and_writes_reports(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = subprocess.run(
        demo_command(
            "-k",
            "broker_connectivity or topic_creation",
            "-j",
            "1",
            "--reports",
            str(reports),
            "--suite",
            str(CHURN_DIR),
        ),
        capture_output=True,
        text=True,
        timeout=120,
        env=demo_env(),
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"1 .*broker connectivity .*PASSED", result.stdout)
    assert re.search(r"2 .*topic creation .*PASSED", result.stdout)
    assert "2 passed" in result.stdout
    assert (reports / "junit.xml").is_file()
    assert "test_02_topic_creation" in (reports / "pytest.log").read_text()
    broker_log = (reports / "broker.log").read_text()
    assert "listening on" in broker_log
    assert re.search(r"requests served: .*CreateTopics \d+", broker_log)


def test_demo_on_three_nodes_runs_the_failover_scenario(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = subprocess.run(
        demo_command(
            "--brokers", "3", "-k", "failover or end_to_end", "-j", "1",
            "--reports", str(reports), "--suite", str(CHURN_DIR),
        ),
        capture_output=True,
        text=True,
        timeout=240,
        env=demo_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "embedded 3-node cluster" in result.stdout
    assert re.search(r"12 .*failover keeps exactly once .*PASSED", result.stdout)
    assert "2 passed" in result.stdout


def test_demo_exits_non_zero_when_a_scenario_fails(tmp_path: Path) -> None:
    # A copy of the suite with one scenario that always fails.
    suite = tmp_path / "churn"
    shutil.copytree(
        CHURN_DIR / "churn", suite / "churn", ignore=shutil.ignore_patterns("__pycache__")
    )
    (suite / "tests").mkdir()
    shutil.copy(CHURN_DIR / "tests" / "conftest.py", suite / "tests" / "conftest.py")
    (suite / "tests" / "test_broken.py").write_text(
        "import pytest\n\n\n"
        "@pytest.mark.scenario\n"
        "def test_01_always_fails(churn_cluster):\n"
        "    assert churn_cluster.topics() is None, 'deliberately broken'\n"
    )

    result = subprocess.run(
        demo_command("-j", "1", "--reports", str(tmp_path / "reports"), "--suite", str(suite)),
        capture_output=True,
        text=True,
        timeout=120,
        env=demo_env(),
        cwd=tmp_path,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"1 .*always fails .*FAILED", result.stdout)
    assert "deliberately broken" in result.stdout


def test_demo_keep_leaves_a_pipeline_running_until_interrupted(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        demo_command(
            "--keep",
            "-k",
            "broker_connectivity",
            "-j",
            "1",
            "--reports",
            str(tmp_path / "reports"),
            "--suite",
            str(CHURN_DIR),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A narrow terminal: the printed commands must still be one line each.
        env=dict(demo_env(), COLUMNS="60"),
        cwd=tmp_path,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        eventually(lambda: any("Press Ctrl-C" in line for line in lines), timeout=DEADLINE)
        url = next(
            re.search(r"http://\S+/metrics", line)[0]  # type: ignore[index]
            for line in lines
            if "/metrics" in line
        )

        def processed() -> float:
            with urllib.request.urlopen(url, timeout=5) as response:
                text = response.read().decode()
            return sum(
                float(line.split()[-1])
                for line in text.splitlines()
                if line.startswith("messages_processed_total")
            )

        commands = [line for line in lines if "streamtest " in line]
        assert len(commands) == 3, lines
        assert all("--bootstrap-server 127.0.0.1:" in line for line in commands), commands
        # The demo feeds the kept pipeline 20 valid and 8 invalid records.
        eventually(lambda: processed() == 28, timeout=DEADLINE)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=DEADLINE)
        reader.join(timeout=DEADLINE)
    assert "stopping the pipeline and the broker" in "".join(lines)


def test_demo_with_k_matching_nothing_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        demo_command("-k", "no_such_scenario", "-j", "1", "--reports", str(tmp_path / "r"),
                     "--suite", str(CHURN_DIR)),
        capture_output=True,
        text=True,
        timeout=120,
        env=demo_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no scenario matches -k 'no_such_scenario'" in result.stdout
    assert "churn pipeline scenarios" not in result.stdout  # no empty table
    assert not re.search(r"^ in \d", result.stdout, re.M)  # no sentence fragment


def test_demo_refuses_a_reports_directory_it_did_not_write(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    (mine / "keep").mkdir(parents=True)
    (mine / "keep" / "notes.txt").write_text("precious")
    result = subprocess.run(
        demo_command("-k", "broker_connectivity", "--reports", str(mine), "--suite",
                     str(CHURN_DIR)),
        capture_output=True,
        text=True,
        timeout=120,
        env=demo_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "holds files the demo did not write (keep)" in result.stderr
    assert (mine / "keep" / "notes.txt").read_text() == "precious"
