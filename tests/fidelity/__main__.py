"""``make fidelity``: run the differential corpus and print, per API, how many
scenarios match Apache Kafka.

Usage: ``python -m fidelity`` from ``tests/`` (the Makefile does this), or with
``--bootstrap-servers HOST:PORT`` to compare against a Kafka already running.
Exit status: 0 when every difference is allowlisted, 1 when some are not (or a
scenario failed, or an allowlist entry is stale), 2 when the reference broker is
unavailable (Maven cannot resolve Kafka, or java/mvn are missing).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from contextlib import ExitStack

from streamtest import EmbeddedKafka
from streamtest.broker.dispatch import REGISTRY
from streamtest.kit import reference_kafka as ref

from .corpus import API_NAMES, SCENARIOS, api_version_table, open_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make fidelity", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bootstrap-servers", help="an Apache Kafka to compare with (default: start one)"
    )
    parser.add_argument("-k", default="", help="run only scenarios whose id contains this")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list allowlisted differences too"
    )
    ns = parser.parse_args(argv)
    with ExitStack() as stack:
        if ns.bootstrap_servers:
            kafka_address = ns.bootstrap_servers
            version = "(external)"
        else:
            try:
                kafka = stack.enter_context(ref.ReferenceKafka())
            except ref.ReferenceKafkaError as exc:
                print(f"fidelity: reference Apache Kafka unavailable: {exc}", file=sys.stderr)
                return 2
            kafka_address, version = kafka.bootstrap_servers, kafka.version
            print(
                f"Apache Kafka {version} started in {kafka.startup_seconds:.1f}s on {kafka_address}"
            )
        ours = stack.enter_context(EmbeddedKafka())
        runner = open_run(kafka_address, ours.bootstrap_servers)
        began = time.monotonic()
        selected = [s for s in SCENARIOS if ns.k in s.id]
        for sc in selected:
            runner.run(sc)
        elapsed = time.monotonic() - began
        rows = api_version_table(kafka_address, ours.bootstrap_servers)
    return report(runner, selected, rows, elapsed, ns.verbose)


def report(runner, selected, rows, elapsed: float, verbose: bool) -> int:  # noqa: ANN001
    by_api: dict[int, Counter[str]] = {}
    for sc in selected:
        by_api.setdefault(sc.api, Counter())[runner.results[sc.id].status] += 1
    print(f"\n{'API':<26}{'scenarios':>10}{'match':>7}{'allowed':>9}{'differ':>8}{'error':>7}")
    total: Counter[str] = Counter()
    for key in sorted(by_api):
        c = by_api[key]
        total.update(c)
        name = f"{API_NAMES.get(key, key)} ({key})"
        print(
            f"{name:<26}{sum(c.values()):>10}{c['match']:>7}{c['allowed']:>9}{c['differ']:>8}{c['error']:>7}"
        )
    n = sum(total.values())
    print(
        f"{'total':<26}{n:>10}{total['match']:>7}{total['allowed']:>9}{total['differ']:>8}{total['error']:>7}"
    )
    print(
        f"({n} scenarios in {elapsed:.1f}s; 'allowed' = only differences listed in allowlist.txt)"
    )

    print(f"\n{'API':<26}{'Kafka':>9}{'streamtest':>12}")
    for r in rows:
        kafka = f"{r.kafka[0]}-{r.kafka[1]}" if r.kafka else "-"
        ours = f"{r.streamtest[0]}-{r.streamtest[1]}" if r.streamtest else "-"
        mark = "" if r.kafka == r.streamtest else "  *"
        print(f"{r.name + f' ({r.api_key})':<26}{kafka:>9}{ours:>12}{mark}")

    failed = False
    for sc in selected:
        result = runner.results[sc.id]
        if result.error:
            failed = True
            print(f"\nERROR {sc.id}: {result.error}")
        if result.differences:
            failed = True
            print(f"\nDIFFER {sc.id}:")
            for d in result.differences:
                print(f"  {d}")
        if verbose and result.allowed:
            print(f"\nallowed {sc.id}:")
            for d in result.allowed:
                print(f"  {d}  ({d.reason})")
    if len(selected) == len(SCENARIOS):
        stale = [e for e in runner.allowlist if not e.used]
        for e in stale:
            failed = True
            print(f"\nSTALE allowlist line {e.line}: {e.scenario} | {e.path}")
        advertised = {
            (s.key, v) for s in REGISTRY.values() for v in range(s.min_version, s.max_version + 1)
        }
        missing = sorted(advertised - runner.covered)
        if missing:
            failed = True
            print(f"\nNOT COMPARED (advertised): {missing}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
