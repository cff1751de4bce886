"""Cold start, measured as a user meets it: in fresh processes.

``bench_broker.py`` times ``EmbeddedKafka().start()`` repeated inside one process,
after everything is imported; a user's first start also pays for importing the
package. This benchmark runs each step as a new interpreter, with bytecode caching
on as a user has it (``PYTHONDONTWRITEBYTECODE`` is removed from the children's
environment, and one warm-up run writes the caches):

* ``import + start``: ``python -c "from streamtest import EmbeddedKafka;
  EmbeddedKafka().start()"``, against the interpreter's own start (``python -c
  pass``) and ``import asyncio`` (which the broker needs and cannot avoid);
* ``first test setup``: the setup of the first test of a suite that uses the
  ``kafka`` and ``kafka_topic`` fixtures (starting the session's cluster included),
  as pytest's ``--durations`` reports it, with streamtest laid out as ``pip
  install`` lays it out (so pytest marks it for assertion rewriting, which an
  editable install hides), against the same test under ``--assert=plain``.

Targets (issue 18): import + start <= 150 ms, first test setup <= 300 ms. Wall
times depend on how busy the machine is; the CPU time of the child (user + sys,
from ``getrusage``) is printed beside them, since on a shared machine it says more
about what the work costs.

Run: ``python benchmarks/bench_cold_start.py [--runs N] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORT_START_GOAL_MS = 150.0
FIRST_SETUP_GOAL_MS = 300.0

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "streamtest"

FIRST_TEST = """
def test_first(kafka, kafka_topic):
    kafka.send(kafka_topic, [("k", "v")])


def test_second(kafka, kafka_topic):
    kafka.send(kafka_topic, [("k", "v")])
"""


def child_env(extra_path: str | None = None) -> dict[str, str]:
    """Return the environment for a child: bytecode caching on, no xdist worker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if extra_path:
        env["PYTHONPATH"] = extra_path
    return env


def run_timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float]:
    """Run ``cmd``; return (wall ms, child CPU ms)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall * 1000, cpu * 1000


def medians(cmd: list[str], env: dict[str, str], runs: int, cwd: Path | None = None) -> tuple:
    """Return (median wall ms, median CPU ms, min wall ms) over ``runs`` after a warm-up."""
    run_timed(cmd, env, cwd)  # writes the bytecode caches, as a user's first run does
    samples = [run_timed(cmd, env, cwd) for _ in range(runs)]
    walls = [w for w, _ in samples]
    return statistics.median(walls), statistics.median(c for _, c in samples), min(walls)


def make_installed_copy(dest: Path, src: Path = SRC) -> Path:
    """Lay out the package at ``src`` under ``dest`` as ``pip install`` does (package,
    dist-info with RECORD and the pytest11 entry point)."""
    shutil.copytree(src, dest / "streamtest", ignore=shutil.ignore_patterns("__pycache__"))
    version = re.search(r'__version__ = "([^"]+)"', (src / "__init__.py").read_text())
    assert version is not None
    info = dest / f"streamtest-{version[1]}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: streamtest\nVersion: {version[1]}\n"
    )
    (info / "entry_points.txt").write_text("[pytest11]\nstreamtest = streamtest.pytest_plugin\n")
    files = sorted(p.relative_to(dest).as_posix() for p in (dest / "streamtest").rglob("*.py"))
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files))
    return dest


RECORDER = """
import json, os

def pytest_runtest_logreport(report):
    if report.when == "setup" and report.nodeid.endswith("test_first"):
        with open(os.environ["BENCH_OUT"], "w") as f:
            json.dump(report.duration, f)
"""


def first_setup_ms(project: Path, env: dict[str, str], extra: list[str]) -> float:
    """Run the project's suite once; return the first test's setup time in ms."""
    out = project / "setup.json"
    env = dict(env, BENCH_OUT=str(out))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-p",
            "recorder",
            *extra,
        ],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    return float(json.loads(out.read_text())) * 1000


def main() -> None:
    """Measure and print the cold-start figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="5 runs of each")
    parser.add_argument(
        "--src",
        type=Path,
        default=SRC,
        help="the streamtest package to measure (default: this checkout's; give another "
        "checkout's src/streamtest to compare)",
    )
    args = parser.parse_args()
    runs = 5 if args.quick else args.runs
    py = sys.executable

    with tempfile.TemporaryDirectory(prefix="st-cold-") as tmp:
        site = make_installed_copy(Path(tmp) / "site", args.src.resolve())
        env = child_env(str(site))
        code = "from streamtest import EmbeddedKafka; EmbeddedKafka().start()"
        start = medians([py, "-c", code], env, runs)
        bare = medians([py, "-c", "pass"], env, runs)
        asyncio_only = medians([py, "-c", "import asyncio"], env, runs)
        project = Path(tmp) / "project"
        project.mkdir()
        (project / "test_first.py").write_text(FIRST_TEST)
        (project / "recorder.py").write_text(RECORDER)
        penv = child_env(os.pathsep.join([str(site), str(project)]))
        setups: dict[str, list[float]] = {"rewrite": [], "plain": []}
        for mode in setups:
            extra = ["--assert=plain"] if mode == "plain" else []
            first_setup_ms(project, penv, extra)  # warm the bytecode caches
            setups[mode] = [first_setup_ms(project, penv, extra) for _ in range(runs)]

    print(f"cold start of {args.src}, fresh processes, median of {runs} (bytecode caching on)")
    print(f"{'what':44} {'wall ms':>9} {'min ms':>8} {'cpu ms':>8}")
    for name, (wall, cpu, low) in (
        ("python -c pass", bare),
        ("python -c 'import asyncio'", asyncio_only),
        ("import + EmbeddedKafka().start()", start),
    ):
        print(f"{name:44} {wall:9.0f} {low:8.0f} {cpu:8.0f}")
    print(
        f"  over the bare interpreter: {start[0] - bare[0]:.0f} ms "
        f"({start[0] / bare[0]:.1f}x python -c pass, "
        f"{start[0] / asyncio_only[0]:.1f}x import asyncio)"
    )
    rewrite = statistics.median(setups["rewrite"])
    plain = statistics.median(setups["plain"])
    print(
        f"{'first test setup (installed, rewriting on)':44} {rewrite:9.0f} "
        f"{min(setups['rewrite']):8.0f}"
    )
    print(f"{'first test setup (--assert=plain)':44} {plain:9.0f} {min(setups['plain']):8.0f}")
    print(f"  rewriting on / --assert=plain: {rewrite / plain:.2f}x")
    for what, value, goal in (
        ("import + start", start[0], IMPORT_START_GOAL_MS),
        ("first test setup", rewrite, FIRST_SETUP_GOAL_MS),
    ):
        verdict = "met" if value <= goal else "NOT met"
        print(f"target {what} <= {goal:.0f} ms: {verdict} ({value:.0f} ms median wall)")


if __name__ == "__main__":
    main()
