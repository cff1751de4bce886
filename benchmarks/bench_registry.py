"""The schema registry: register and lookup latency, serializer throughput with a
warm client cache, and what the registry adds to ``EmbeddedKafka.start()``.

Baselines, measured in the same run:

* register / lookup: confluent-kafka's ``MockSchemaRegistryClient``, an in-memory
  dict behind the same client API (no HTTP, no Kafka): the floor, so the ratio says
  what HTTP plus the ``_schemas`` topic cost; and a bare HTTP round trip to our
  server (``GET /schemas/types``, no Kafka) for the HTTP share alone;
* serializer throughput: the same ``AvroSerializer`` on the mock client. With a warm
  cache the registry is out of the hot path, so the ratio should be ~1;
* start: ``EmbeddedKafka().start()`` without the registry; the goal (issue 16) is
  under 20 ms added.

Run: ``python benchmarks/bench_registry.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from _common import Row, print_table
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import (
    MockSchemaRegistryClient,
)
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streamtest import EmbeddedKafka

START_GOAL_MS = 20.0


def _schema(i: int) -> Schema:
    return Schema(
        json.dumps({"type": "record", "name": f"R{i}", "fields": [{"name": "a", "type": "int"}]}),
        "AVRO",
    )


def _per_op_us(fn, n: int) -> float:
    """Return the median microseconds of ``fn(i)`` for i in 0..n-1."""
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def latency(url: str, n: int) -> list[Row]:
    ours, mock = SchemaRegistryClient({"url": url}), MockSchemaRegistryClient({"url": "mock://"})
    ours.register_schema("warmup", _schema(-1))  # the first write initialises the producer
    reg = _per_op_us(lambda i: ours.register_schema(f"s{i}", _schema(i)), n)
    reg_mock = _per_op_us(lambda i: mock.register_schema(f"s{i}", _schema(i)), n)
    # Lookups from a client that did not register them, so its cache cannot answer.
    reader = SchemaRegistryClient({"url": url})
    reader.get_subjects()  # connect
    look = _per_op_us(lambda i: reader.lookup_schema(f"s{i}", _schema(i)), n)
    look_mock = _per_op_us(lambda i: mock.lookup_schema(f"s{i}", _schema(i)), n)
    raw = SchemaRegistryClient({"url": url})
    http = _per_op_us(lambda i: raw._rest_client.get("schemas/types"), n)
    return [
        Row("register (new schema, own subject)", reg, reg_mock, "us", "mock client", False),
        Row("lookup (POST /subjects/{s}, uncached)", look, look_mock, "us", "mock client", False),
        Row(
            "lookup, against a bare HTTP round trip", look, http, "us", "GET /schemas/types", False
        ),
    ]


def throughput(url: str, n: int) -> list[Row]:
    schema = json.dumps(
        {
            "type": "record",
            "name": "U",
            "fields": [{"name": "id", "type": "long"}, {"name": "email", "type": "string"}],
        }
    )
    ctx = SerializationContext("bench", MessageField.VALUE)
    value = {"id": 1, "email": "a@b.c"}
    sers = []
    for client in (
        SchemaRegistryClient({"url": url}),
        MockSchemaRegistryClient({"url": "mock://"}),
    ):
        sers.append(AvroSerializer(client, schema))
        sers[-1](value, ctx)  # registers once: the cache is warm from here on
    rates: list[list[float]] = [[], []]
    for _ in range(3):  # alternate, median of three: the machine is shared
        for i, ser in enumerate(sers):
            t = time.perf_counter()
            for _ in range(n):
                ser(value, ctx)
            rates[i].append(n / (time.perf_counter() - t))
    ours, mock = statistics.median(rates[0]), statistics.median(rates[1])
    return [Row("AvroSerializer, warm cache", ours, mock, "/s", "mock client", True)]


def _start_ms(mode: str, rounds: int) -> tuple[float, float]:
    """Return the median ms of EmbeddedKafka.start() without and with the registry."""
    plain, with_sr = [], []
    for _ in range(rounds):
        for flag, out in ((False, plain), (True, with_sr)):
            k = EmbeddedKafka(schema_registry=flag, mode=mode)
            t = time.perf_counter()
            k.start()
            out.append(time.perf_counter() - t)
            k.stop()
    return statistics.median(plain) * 1000, statistics.median(with_sr) * 1000


def start_cost(rounds: int) -> tuple[list[Row], float]:
    # Warm imports and the first thread start, so both variants pay the same.
    with EmbeddedKafka(schema_registry=True):
        pass
    p, s = _start_ms("thread", rounds)
    pp, ps = _start_ms("process", max(3, rounds // 4))
    code = (
        "import time, streamtest, confluent_kafka; t=time.perf_counter(); "
        "import streamtest.registry.server; "
        "print((time.perf_counter()-t)*1000)"
    )
    imports = float(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    rows = [
        Row("EmbeddedKafka.start(), thread mode", s, p, "ms", "without registry", False),
        Row("EmbeddedKafka.start(), process mode", ps, pp, "ms", "without registry", False),
    ]
    return rows, imports


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    ns = p.parse_args()
    n = 50 if ns.quick else 200
    with EmbeddedKafka(schema_registry=True) as k:
        rows = latency(k.schema_registry_url, n)
        rows += throughput(k.schema_registry_url, 20_000 if ns.quick else 100_000)
    start_rows, imports = start_cost(5 if ns.quick else 20)
    print_table("schema registry", rows + start_rows)
    for row in start_rows:
        added = row.ours - row.baseline
        verdict = "met" if added < START_GOAL_MS else "NOT met"
        print(
            f"{row.name}: the registry adds {added:.1f} ms (goal < {START_GOAL_MS:.0f} ms: "
            f"{verdict})"
        )
    print(
        f"importing the registry the first time costs {imports:.0f} ms more, once per "
        "process (in process mode, in the child, inside the figure above)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
