"""The lowest kio that pyproject.toml allows still runs the protocol layer, the broker
APIs and a real client (the range is explained in pyproject.toml).

The test installs that kio release under ``$STREAMTEST_CACHE_DIR`` (``.cache/`` in the
repository by default) and runs those test files in a child pytest that imports it
ahead of the installed one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITES = [
    "tests/protocol/test_codec.py",
    "tests/protocol/test_sans_io.py",
    "tests/broker/test_apis.py",
    "tests/broker/test_groups_wire.py",
    "tests/interop/test_confluent_kafka.py",
]


def kio_bounds() -> tuple[str, str]:
    """Return the (lowest, highest) kio versions pyproject.toml allows."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [d for d in deps if d.startswith("kio")]
    low = re.search(r">=\s*([\d.]+)", spec)
    high = re.search(r"<=\s*([\d.]+)", spec)
    assert low and high, f"kio must be pinned to a tested range, got {spec!r}"
    return low.group(1), high.group(1)


def test_the_pin_is_a_range_that_includes_the_installed_kio():
    import kio

    low, high = kio_bounds()
    as_tuple = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    assert as_tuple(low) <= as_tuple(kio.__version__) <= as_tuple(high)


@pytest.mark.slow
def test_lowest_allowed_kio_passes_the_protocol_broker_and_interop_tests():
    low, _ = kio_bounds()
    cache = Path(os.environ.get("STREAMTEST_CACHE_DIR") or ROOT / ".cache")
    target = cache / "kio" / low
    if not (target / "kio" / "__init__.py").is_file():
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--target",
                str(target),
                f"kio=={low}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if res.returncode != 0:
            pytest.skip(f"cannot install kio=={low}: {res.stderr.strip()[-200:]}")
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(target), *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    env.pop("PYTEST_XDIST_WORKER", None)
    probe = subprocess.run(
        [sys.executable, "-c", "import kio; print(kio.__version__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == low
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *SUITES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
