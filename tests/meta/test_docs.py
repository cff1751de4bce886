"""The documentation matches the repository: files it lists exist, and what the
Makefile does is said where it happens."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "examples" / "churn"


def _listed_files(readme: Path, section: str) -> set[str]:
    """Return the ``*.py`` names in the fenced layout block under ``section``."""
    text = readme.read_text(encoding="utf-8")
    body = text.split(section, 1)[1].split("```", 2)[1]
    return set(re.findall(r"\b([\w]+\.py)\b", body))


def test_churn_readme_lists_exactly_the_files_that_exist():
    listed = _listed_files(CHURN / "README.md", "## Layout")
    present = {p.name for p in (CHURN / "tests").glob("*.py")} | {
        p.name for p in (CHURN / "churn").glob("*.py")
    }
    present -= {"__init__.py", "__main__.py"}
    assert listed == present


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_says_when_kafkajs_cannot_be_installed(tmp_path):
    # An empty PATH: no npm. The recipe only uses shell builtins.
    res = subprocess.run(
        ["make", "-s", "-B", "-C", str(ROOT), "tests/interop/node/node_modules/kafkajs"],
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        executable=shutil.which("make"),
    )
    assert res.returncode == 0, res.stderr
    assert "npm not found: the kafkajs interop test will be skipped" in res.stdout


README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_says_how_to_reach_the_virtualenvs_commands():
    assert ". .venv/bin/activate" in README and "prefix them with `.venv/bin/`" in README


def test_readme_says_make_test_runs_npm_install():
    assert "`make test` also runs `npm\ninstall`" in README


def test_readme_documents_one_bootstrap_spelling_for_commands():
    commands = [ln for ln in README.splitlines() if ln.startswith("streamtest ")]
    assert commands, "no streamtest commands in the README"
    assert not [ln for ln in commands if "--bootstrap-servers" in ln]
