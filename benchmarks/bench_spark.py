"""PySpark against the embedded broker: what a Spark-Kafka test costs, and the broker's share.

Three measurements, all in this one run on this machine:

1. **From nothing to a passing assertion.** ``pytest`` in a fresh process runs one
   test of ``examples/spark/test_kafka_utils_spark.py`` (Spark's Kafka sink writes
   two records, Spark's Kafka source reads them back): Python start, imports, the
   Spark JVM, the embedded broker and the test. Then the whole file: a suite of
   five Spark-Kafka tests (target: under a minute). Each runs twice on the
   embedded broker and twice, alternating, on Apache Kafka started beforehand
   (``STREAMTEST_BACKEND=external``; a fresh broker per run, its start not
   counted): the difference is what the embedded broker adds to the test's wall
   time (target: under 5%). A probe plugin also records the embedded broker's
   start-up time and its thread's CPU time.
2. **Spark's own time for one micro-batch** (``triggerExecution`` in the query's
   progress) of the same streaming job (Kafka source, a count per key, Kafka sink)
   against the embedded broker and against Apache Kafka itself
   (:class:`~streamtest.kit.reference_kafka.ReferenceKafka`), in one SparkSession,
   in alternating rounds. The ratio is Kafka's time over ours (> 1: we are faster).
3. **Start-up** of each broker, for scale.

Needs ``streamtest[spark]``, Java 17+ and Maven (for the connector and Kafka).
Run: ``python benchmarks/bench_spark.py [--quick]`` (``--quick``: fewer batches,
no suite run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from _common import Row, print_table

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/spark/test_kafka_utils_spark.py"
SUITE_TARGET_S = 60.0
BROKER_SHARE_TARGET = 0.05

# Loaded into the pytest subprocess: times every EmbeddedKafka start, and reads the
# broker thread's CPU time (on the broker's own loop) just before each stop.
PROBE = textwrap.dedent(
    """
    import json, os, time
    from streamtest import embedded

    _stats = {"start_s": 0.0, "cpu_s": 0.0, "brokers": 0}
    _start, _stop = embedded.EmbeddedKafka.start, embedded.EmbeddedKafka.stop

    def start(self):
        t = time.perf_counter()
        try:
            return _start(self)
        finally:
            _stats["start_s"] += time.perf_counter() - t
            _stats["brokers"] += 1
            self._bench_cpu0 = self.call(lambda b: time.thread_time())

    def stop(self):
        if self.running:
            _stats["cpu_s"] += self.call(lambda b: time.thread_time()) - self._bench_cpu0
        return _stop(self)

    embedded.EmbeddedKafka.start, embedded.EmbeddedKafka.stop = start, stop

    def pytest_sessionfinish(session, exitstatus):
        _stats["exitstatus"] = int(exitstatus)
        with open(os.environ["BENCH_OUT"], "w") as f:
            json.dump(_stats, f)
    """
)


def run_pytest(probe_dir: Path, *selection: str, external: str | None = None) -> dict[str, Any]:
    """Run pytest on ``selection`` in a fresh process (against the cluster at
    ``external`` if given); return wall time and probe stats.

    Raises:
        RuntimeError: the tests did not pass.
    """
    out = probe_dir / "stats.json"
    out.unlink(missing_ok=True)
    env = dict(os.environ, BENCH_OUT=str(out))
    if external:
        env.update(STREAMTEST_BACKEND="external", STREAMTEST_BOOTSTRAP_SERVERS=external)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(probe_dir), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "bench_probe"]
    started = time.perf_counter()
    proc = subprocess.run(
        [*cmd, *selection], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"pytest {' '.join(selection)} failed:\n{proc.stdout[-3000:]}")
    stats = json.loads(out.read_text())
    stats["wall_s"] = wall
    return stats


def from_nothing(quick: bool) -> list[tuple[str, list[dict[str, Any]], list[float]]]:
    """Measurement 1: one test, then the five-test suite, each in fresh processes,
    alternating the embedded broker and a pre-started Apache Kafka. Return, per
    selection, the embedded runs' stats and the Apache Kafka runs' wall times."""
    from streamtest.kit.reference_kafka import ReferenceKafka

    selections = [("one test", f"{EXAMPLE}::test_kafka_batch")]
    if not quick:
        selections.append(("five tests", EXAMPLE))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        probe_dir = Path(tmp)
        (probe_dir / "bench_probe.py").write_text(PROBE)
        for name, selection in selections:
            ours, theirs = [], []
            for _ in range(2):
                ours.append(run_pytest(probe_dir, selection))
                # A fresh Apache Kafka per run: the tests use fixed topic names.
                with ReferenceKafka() as kafka:
                    theirs.append(
                        run_pytest(probe_dir, selection, external=kafka.bootstrap_servers)["wall_s"]
                    )
            results.append((name, ours, theirs))
    return results


# -- measurement 2: one micro-batch, embedded vs Apache Kafka ---------------------------------


def micro_batches(spark: Any, cluster: Any, batches: int, records: int) -> list[float]:
    """Run the job for ``batches`` micro-batches of ``records`` records each against
    ``cluster``; return Spark's ``triggerExecution`` ms for each batch with input."""
    from streamtest.kit.cluster import unique_name
    from streamtest.kit.spark import process_all_available, read_kafka_stream

    source, sink = unique_name("bench-src"), unique_name("bench-sink")
    cluster.create_topic(source, 2)
    cluster.create_topic(sink, 2)
    counts = (
        read_kafka_stream(spark, cluster, source)
        .groupBy("key")
        .count()
        .selectExpr("key", "CAST(count AS STRING) AS value")
    )
    with tempfile.TemporaryDirectory() as checkpoint:
        query = (
            counts.writeStream.format("kafka")
            .outputMode("update")
            .option("kafka.bootstrap.servers", cluster.bootstrap_servers)
            .option("topic", sink)
            .option("checkpointLocation", checkpoint)
            .start()
        )
        try:
            times = []
            for b in range(batches):
                cluster.send(source, [(f"k{i % 20}", f"v{b}-{i}") for i in range(records)])
                process_all_available(query, timeout=600)
                with_input = [p for p in query.recentProgress if p["numInputRows"] > 0]
                times.append(float(with_input[-1]["durationMs"]["triggerExecution"]))
        finally:
            query.stop()
    return times


def compare_brokers(batches: int, records: int) -> tuple[list[Row], dict[str, float]]:
    """Measurements 2 and 3."""
    from streamtest import EmbeddedCluster, ExternalCluster
    from streamtest.kit.reference_kafka import ReferenceKafka
    from streamtest.kit.spark import spark_session

    t = time.perf_counter()
    embedded = EmbeddedCluster().start()
    embedded_start = time.perf_counter() - t
    t = time.perf_counter()
    reference = ReferenceKafka().start()
    reference_start = time.perf_counter() - t
    apache = ExternalCluster(reference.bootstrap_servers).start()
    spark = spark_session("bench_spark")
    ours: list[float] = []
    theirs: list[float] = []
    wall_embedded = 0.0
    try:
        # A first query on each warms the JVM's code paths for both.
        micro_batches(spark, embedded, 2, records)
        micro_batches(spark, apache, 2, records)
        cpu0 = embedded.embedded.call(lambda b: time.thread_time())
        for _ in range(2):  # alternate, so drift in machine load hits both
            t = time.perf_counter()
            ours += micro_batches(spark, embedded, batches, records)
            wall_embedded += time.perf_counter() - t
            theirs += micro_batches(spark, apache, batches, records)
        cpu = embedded.embedded.call(lambda b: time.thread_time()) - cpu0
    finally:
        spark.stop()
        apache.stop()
        reference.stop()
        embedded.stop()
    rows = [
        Row(
            "micro-batch, median triggerExecution",
            statistics.median(ours),
            statistics.median(theirs),
            "ms",
            "Apache Kafka 4.4",
            False,
        ),
        Row("broker start-up", embedded_start * 1000, reference_start * 1000, "ms",
            "Apache Kafka 4.4", False),
    ]  # fmt: skip
    extra = {
        "embedded_batches_ms": ours,
        "apache_batches_ms": theirs,
        "broker_cpu_share_of_embedded_run": cpu / wall_embedded if wall_embedded else 0.0,
    }
    return rows, extra


def main() -> int:
    """Run the measurements and print them; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches, no suite run")
    parser.add_argument("--batches", type=int, default=5, help="micro-batches per round")
    parser.add_argument("--records", type=int, default=200, help="records per micro-batch")
    args = parser.parse_args()
    batches = 2 if args.quick else args.batches
    try:
        from streamtest.kit.engines import require_java
        from streamtest.kit.spark import spark_version

        print(f"pyspark {spark_version()}, java {require_java('Spark')}")
    except RuntimeError as exc:  # EngineUnavailable: say why, and do not fail run_all
        print(f"skipped: {exc}")
        return 0

    print("1. from nothing to a passing assertion (fresh pytest process, 2 runs each)")
    rows = []
    for name, ours, theirs in from_nothing(args.quick):
        wall = statistics.median(s["wall_s"] for s in ours)
        apache = statistics.median(theirs)
        added = (wall - apache) / apache
        start = statistics.median(s["start_s"] for s in ours)
        cpu = statistics.median(s["cpu_s"] for s in ours)
        rows.append(Row(f"{name}, wall time", wall, apache, "s", "pre-started Apache Kafka",
                        False))  # fmt: skip
        print(
            f"   {name:10}: embedded {[round(s['wall_s'], 1) for s in ours]} s, Apache Kafka "
            f"{[round(t, 1) for t in theirs]} s; the embedded broker adds {added:+.1%} "
            f"(target < {BROKER_SHARE_TARGET:.0%}: "
            f"{'met' if added < BROKER_SHARE_TARGET else 'NOT met'}); its start "
            f"{start * 1000:.0f} ms + its thread's CPU {cpu * 1000:.0f} ms "
            f"= {(start + cpu) / wall:.1%} of the wall time"
        )
        if name == "five tests":
            met = "met" if wall < SUITE_TARGET_S else "NOT met"
            print(f"   five-test suite under {SUITE_TARGET_S:.0f} s: {met} ({wall:.1f} s)")
    print_table("Spark-Kafka tests from nothing, embedded broker vs Apache Kafka", rows)

    print(f"\n2./3. the same streaming job, {batches} micro-batches x 2 rounds per broker")
    rows, extra = compare_brokers(batches, args.records)
    print_table("Spark micro-batch and start-up, embedded broker vs Apache Kafka", rows)
    print(f"   embedded, per batch (ms): {[round(x) for x in extra['embedded_batches_ms']]}")
    print(f"   Apache Kafka, per batch (ms): {[round(x) for x in extra['apache_batches_ms']]}")
    print(
        "   embedded broker thread CPU during its batches: "
        f"{extra['broker_cpu_share_of_embedded_run']:.2%} of their wall time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
