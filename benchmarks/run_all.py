"""Run every ``bench_*.py`` in this folder, one after another, in fresh processes.

Usage: ``python benchmarks/run_all.py [--quick]`` (``--quick`` is passed on to the
benchmarks that accept it). Exits non-zero if any benchmark failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    """Run each benchmark; return 1 if any of them failed, else 0."""
    here = Path(__file__).resolve().parent
    extra = [a for a in sys.argv[1:] if a == "--quick"]
    failed = []
    for bench in sorted(here.glob("bench_*.py")):
        print(f"\n=== {bench.name} ===", flush=True)
        args = extra if "--quick" in bench.read_text() else []
        proc = subprocess.run([sys.executable, str(bench), *args], cwd=here, check=False)
        # Exit 2: the benchmark's baseline (Apache Kafka) is unavailable here; it
        # said why, and that is not a failure of streamtest.
        if proc.returncode not in (0, 2):
            failed.append(bench.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
