"""Kafka's own load tools against both brokers (issue 12).

``kafka-producer-perf-test`` (``org.apache.kafka.tools.ProducerPerformance``) and
``kafka-consumer-perf-test`` (``ConsumerPerformance``), from the
``org.apache.kafka:kafka-tools`` artifact of the pinned Kafka release, run as
shipped against the embedded broker (process mode, so it has its own interpreter)
and against Apache Kafka (the reference broker) in the same run; the Java client
does the work, so this measures the brokers under the reference client.

* produce: N records of 100 bytes, acks=1, as fast as possible (``--throughput -1``);
  records/s and the average latency the tool reports.
* consume: the same N records read back by a new consumer; records/s over the
  whole run and over the fetch phase only (the tool's ``fetch.nMsg.sec``, which
  leaves out the group join).

Run: ``python benchmarks/bench_perf_tools.py [--quick]``. Needs Java 17+ and Maven
(the jars are downloaded once into the cache folder); exits 2 without them.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import uuid

from _common import Row, print_table, verdict  # type: ignore[import-not-found]
from confluent_kafka.admin import AdminClient, NewTopic

from streamtest import EmbeddedKafka
from streamtest.kit import reference_kafka as ref

_PRODUCED = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency"
)


def _java(classpath: str, main: str, *args: str, timeout: float = 600) -> str:
    cmd = [ref.java_executable(), "-Xmx512m", "-cp", classpath, main, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{main} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc.stdout


def _topic(bootstrap: str) -> str:
    name = f"perf-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(30)
    return name


def produce(classpath: str, bootstrap: str, topic: str, n: int) -> tuple[float, float]:
    """Run kafka-producer-perf-test; return ``(records/s, avg latency ms)``."""
    out = _java(
        classpath,
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic", topic,
        "--num-records", str(n),
        "--record-size", "100",
        "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={bootstrap}", "acks=1", "linger.ms=5",
    )  # fmt: skip
    matches = _PRODUCED.findall(out)
    if not matches:
        raise RuntimeError(f"no summary in ProducerPerformance output:\n{out[-2000:]}")
    sent, rate, _mb, latency = matches[-1]
    if int(sent) != n:
        raise RuntimeError(f"ProducerPerformance sent {sent} of {n}")
    return float(rate), float(latency)


def consume(classpath: str, bootstrap: str, topic: str, n: int) -> tuple[float, float]:
    """Run kafka-consumer-perf-test; return ``(records/s overall, records/s fetching)``."""
    out = _java(
        classpath,
        "org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server", bootstrap,
        "--topic", topic,
        "--messages", str(n),
        "--timeout", "60000",
    )  # fmt: skip
    lines = [ln for ln in out.splitlines() if ln.strip()]
    header = next(i for i, ln in enumerate(lines) if ln.startswith("start.time"))
    names = [h.strip() for h in lines[header].split(",")]
    values = dict(zip(names, (v.strip() for v in lines[header + 1].split(",")), strict=False))
    if int(values["data.consumed.in.nMsg"]) < n:
        raise RuntimeError(f"ConsumerPerformance read {values['data.consumed.in.nMsg']} of {n}")
    return float(values["nMsg.sec"]), float(values["fetch.nMsg.sec"])


def measure(classpath: str, bootstrap: str, n: int) -> tuple[float, float, float, float]:
    topic = _topic(bootstrap)
    rate, latency = produce(classpath, bootstrap, topic, n)
    overall, fetching = consume(classpath, bootstrap, topic, n)
    return rate, latency, overall, fetching


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer records")
    n = 100_000 if parser.parse_args().quick else 500_000
    try:
        classpath = ref.classpath_arg(ref.kafka_tools_classpath())
        kafka = ref.ReferenceKafka().start()
    except ref.ReferenceKafkaError as exc:
        print(f"bench_perf_tools: Apache Kafka unavailable: {exc}", file=sys.stderr)
        return 2
    try:
        with EmbeddedKafka(mode="process") as ours:
            mine = measure(classpath, ours.bootstrap_servers, n)
        theirs = measure(classpath, kafka.bootstrap_servers, n)
    finally:
        kafka.stop()
    name = f"Apache Kafka {kafka.version}"
    rows = [
        Row("kafka-producer-perf-test, 100 B, acks=1", mine[0] / 1000, theirs[0] / 1000,
            "k/s", name, True),
        Row("  its average latency", mine[1], theirs[1], "ms", name, False),
        Row("kafka-consumer-perf-test, whole run", mine[2] / 1000, theirs[2] / 1000,
            "k/s", name, True),
        Row("kafka-consumer-perf-test, fetch phase", mine[3] / 1000, theirs[3] / 1000,
            "k/s", name, True),
    ]  # fmt: skip
    print_table(f"Kafka's perf tools, {n:,} records (the baseline is Apache Kafka)", rows)
    print("issue 12 target, throughput >= 0.8x Apache Kafka's:")
    for r in (rows[0], rows[2], rows[3]):
        print(verdict(r.name, r.ratio, 0.8))
    return 0


if __name__ == "__main__":
    sys.exit(main())
