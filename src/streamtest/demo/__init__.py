"""``streamtest demo``'s machinery, kept apart from the click command so it can be
tested and reused: finding the reference pipeline's scenario suite, running it
with pytest in a child process, and reading its JUnit report back.

The suite lives in the repository (``examples/churn``), not in the installed
package: the demo runs from a checkout (``make demo``), or from anywhere with
``--suite PATH``.
"""

from __future__ import annotations

import os
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

#: The marker that selects the scenarios among the pipeline's tests.
SCENARIO_MARKER = "scenario"

#: The file that marks a directory as a demo report (so it may be cleared).
REPORT_MARKER = ".streamtest-demo-report"

#: Files and directories of ``reports/`` that a demo run rewrites.
REPORT_ENTRIES = (
    "junit.xml",
    "pytest.log",
    "broker.log",
    "metrics.prom",
    "pipeline",
    "metrics",
    "keep",
)


class SuiteNotFound(RuntimeError):
    """The reference pipeline (``examples/churn``) is not where the demo looks."""


def find_suite(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory of the reference pipeline (the one holding ``churn/`` and
    ``tests/``): ``explicit`` if given, else ``./examples/churn``, else the checkout
    this package was installed from (an editable install).

    Raises:
        SuiteNotFound: none of those holds the pipeline; the message says what to do.
    """
    candidates = (
        [Path(explicit)]
        if explicit
        else [
            Path.cwd() / "examples" / "churn",
            Path(__file__).resolve().parents[3] / "examples" / "churn",
        ]
    )
    for path in candidates:
        if (path / "churn" / "pipeline.py").is_file() and (path / "tests").is_dir():
            return path.resolve()
    where = ", ".join(str(p) for p in candidates)
    raise SuiteNotFound(
        f"the reference pipeline is not at {where}. It ships in the streamtest "
        "repository, not in the package: run the demo from a checkout (make demo), "
        "or pass --suite PATH/TO/examples/churn."
    )


def pytest_command(
    suite: Path,
    bootstrap_servers: str,
    reports: Path,
    *,
    verbose: bool = False,
    select: str | None = None,
    jobs: int = 1,
) -> list[str]:
    """Return the command that runs the scenario suite of ``suite`` against
    ``bootstrap_servers``, writing ``reports/junit.xml`` and the pipelines' logs
    and metrics snapshots under ``reports``."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(suite / "tests"),
        "-m",
        SCENARIO_MARKER,
        "--bootstrap-server",
        bootstrap_servers,
        "--churn-reports",
        str(reports),
        "--junitxml",
        str(reports / "junit.xml"),
        "-o",
        "junit_family=xunit2",
        "-p",
        "no:cacheprovider",
        # Hypothesis's plugin costs ~0.9 s of imports in every pytest process, and
        # the scenarios do not use it.
        "-p",
        "no:hypothesispytest",
        # -v prints one line per test, which the demo reads to show progress.
        "-v" if not verbose else "-vv",
        "--color",
        "no",
    ]
    if select:
        cmd += ["-k", select]
    if jobs > 1:
        cmd += ["-n", str(jobs), "--dist", "loadfile"]
    return cmd


#: ``test_04_end_to_end[exactly-once]`` -> number, words, parameter.
_TEST_NAME = re.compile(r"^test_(?P<number>\d+)_(?P<words>[^\[]+)(?:\[(?P<param>[^\]]*)\])?$")
#: A result line of ``pytest -v`` (with or without pytest-xdist).
_RESULT_LINE = re.compile(
    r"::(?P<name>test_\w+(?:\[[^\]]*\])?)\s.*?\b(?P<outcome>PASSED|FAILED|"
    r"ERROR|SKIPPED|XFAIL|XPASS)\b|\b(?P<outcome2>PASSED|FAILED|ERROR|"
    r"SKIPPED|XFAIL|XPASS)\b.*::(?P<name2>test_\w+(?:\[[^\]]*\])?)"
)


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario's outcome, as the JUnit report has it."""

    name: str  # the test function's name, with its parameter
    outcome: str  # "passed", "failed", "error" or "skipped"
    seconds: float
    message: str = ""

    @property
    def number(self) -> int:
        """Return the scenario's number (from ``test_NN_...``), or 0."""
        m = _TEST_NAME.match(self.name)
        return int(m["number"]) if m else 0

    @property
    def title(self) -> str:
        """Return a readable title: ``test_11_crash_mid_batch[exactly-once]`` ->
        ``crash mid batch (exactly-once)``."""
        m = _TEST_NAME.match(self.name)
        if not m:
            return self.name
        title = m["words"].replace("_", " ")
        return f"{title} ({m['param']})" if m["param"] else title


def parse_result_line(line: str) -> tuple[str, str] | None:
    """Return ``(test name, OUTCOME)`` if ``line`` is a result line of ``pytest -v``."""
    m = _RESULT_LINE.search(line)
    if not m:
        return None
    return (m["name"] or m["name2"]), (m["outcome"] or m["outcome2"])


def read_junit(path: Path) -> list[ScenarioResult]:
    """Return the results in the JUnit XML report at ``path``, ordered by scenario
    number then name.

    Raises:
        OSError: the report cannot be read.
        xml.etree.ElementTree.ParseError: it is not XML.
    """
    results = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = (child.get("message") or child.text or "").strip()
                break
        results.append(
            ScenarioResult(case.get("name", "?"), outcome, float(case.get("time") or 0.0), message)
        )
    return sorted(results, key=lambda r: (r.number, r.name))
