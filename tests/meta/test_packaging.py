"""What ``pip install streamtest`` gets: the licence, the type-hint marker, and a
build without setuptools deprecation warnings."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_license_is_an_spdx_string_backed_by_a_license_file():
    project = _pyproject()["project"]
    # A table ({text = ...}) makes setuptools >= 77 print a deprecation warning.
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_py_typed_is_package_data():
    assert (ROOT / "src" / "streamtest" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["streamtest"]


@pytest.mark.slow
def test_wheel_builds_without_warnings_and_ships_license_and_py_typed(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = res.stdout + res.stderr
    if res.returncode != 0 and (
        "NewConnectionError" in output or "No matching distribution" in output
    ):
        pytest.skip("pip cannot reach PyPI for the build backend")
    assert res.returncode == 0, output
    assert "deprecated" not in output.lower(), output
    (wheel,) = tmp_path.glob("streamtest-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "streamtest/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
