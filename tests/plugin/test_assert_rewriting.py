"""Installed like a user installs it, streamtest's own modules stay out of pytest's
assertion rewriting (it made the first test's setup three times slower), while the
user's tests are rewritten as always.

An editable install (this repository's) does not mark the package for rewriting at
all, so the check lays out a copy as ``pip install`` does: the package plus a
dist-info whose RECORD lists its files and whose entry point registers the plugin.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
# The benchmark measures the same layout; one helper makes it for both.
from bench_cold_start import make_installed_copy  # noqa: E402

INNER_TEST = """
import streamtest.broker.cluster
import streamtest.embedded
import streamtest.pytest_plugin


def test_streamtest_modules_load_plainly(kafka, kafka_topic):
    for mod in (streamtest.pytest_plugin, streamtest.embedded, streamtest.broker.cluster):
        print("LOADER", mod.__name__, type(mod.__loader__).__name__, mod.__file__)


def test_user_asserts_are_still_rewritten():
    seen = [1, 2]
    assert len(seen) == 3
"""


def test_installed_package_is_not_rewritten_but_user_tests_are(tmp_path):
    site = make_installed_copy(tmp_path / "site")
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_inner.py").write_text(INNER_TEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(site)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-s",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "test_inner.py",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = res.stdout
    loaders = {m[1]: (m[2], m[3]) for m in re.finditer(r"LOADER (\S+) (\S+) (\S+)", out)}
    assert len(loaders) == 3, out
    # The copy is what ran (not this checkout), and pytest did mark it for rewriting:
    # the plugin module itself, imported before it could act, went through the hook.
    assert all(path.startswith(str(site)) for _, path in loaders.values()), out
    assert loaders["streamtest.pytest_plugin"][0] == "AssertionRewritingHook", out
    assert loaders["streamtest.embedded"][0] == "SourceFileLoader", out
    assert loaders["streamtest.broker.cluster"][0] == "SourceFileLoader", out
    # The user's assert is still explained by pytest's rewriting.
    assert "assert 2 == 3" in out and "where 2 = len([1, 2])" in out, out
    assert "1 failed, 1 passed" in out, out
