"""Server benchmarks (issue 10, item 6): fairness, back-pressure, quota accuracy, and
the cost of the fair server against another revision.

Each figure is a ratio against a baseline measured in the same run:

* **fairness**: the p50 produce->consume round trip of a confluent-kafka client
  while another client pipelines 2,000 Produce requests per write (and reads its
  responses), divided by the same p50 with no other client. Target <= 10x.
* **back-pressure**: broker RSS added while a raw socket pipelines 1,000 Fetch
  requests (each worth ~1 MB) and never reads a response, against the idle RSS
  of the same broker. Target <= 100 MB added.
* **quota accuracy**: the produce and consume rates a confluent-kafka client gets
  with ``producer_byte_rate`` / ``consumer_byte_rate`` set (AlterClientQuotas),
  divided by the quota; 1.00 is exact. Consumers get less than their quota when
  each response is large against the quota window, by Kafka's own algorithm: a
  throttled Fetch returns nothing, but its size counted in the throttle time. With
  fetches capped at the window (``quota * (quota.window.num - 1)`` seconds' worth)
  that is half the quota for 3 windows; 64 KB fetches get close to all of it.
* **cost against a revision** (``--against REV``, e.g. ``main``): the broker of
  this checkout and the broker of ``REV`` (its ``src/`` exported with ``git
  archive`` into a temporary folder and put first on the child's PYTHONPATH) are
  measured alternately, in process mode: broker CPU per tiny request when one
  client pipelines them (ApiVersions, Produce of one 10-byte record; the fair
  server's round-robin costs an event-loop turn per request there), and
  librdkafka's produce (1 and 6 partitions) and consume throughput as
  ``bench_broker.py`` measures them. Ratios are this checkout / ``REV``.

The broker runs in process mode so that only its memory and CPU are measured.
The loading client runs in its own process so that it does not share the GIL
with the client being timed.

Run: ``python benchmarks/bench_server.py [--quick] [--skip-rss] [--skip-quota]
[--against REV]``.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import socket
import statistics
import struct
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streamtest import EmbeddedKafka
from streamtest.protocol import codec
from streamtest.protocol.records import RecordInput, build_batch


def frame(api_key: int, version: int, body: bytes, correlation_id: int, client_id: str) -> bytes:
    """Return a framed request with header v1 (or v2 for flexible versions)."""
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id))
    header += client_id.encode()
    if codec.is_flexible(api_key, version):
        header += b"\x00"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def produce_body(topic: str, value: bytes) -> bytes:
    """Return a Produce v8 body (acks=1) with one batch of one record."""
    batch = bytes(build_batch([RecordInput(None, value)]))
    name = topic.encode()
    return (
        struct.pack(">hhi", -1, 1, 30_000)
        + struct.pack(">i", 1)
        + struct.pack(">h", len(name))
        + name
        + struct.pack(">i", 1)
        + struct.pack(">i", 0)
        + struct.pack(">i", len(batch))
        + batch
    )


def fetch_body(topic: str, max_bytes: int) -> bytes:
    """Return a Fetch v11 body: partition 0 from offset 0, no wait."""
    cls = codec.request_schema(1, 11)
    entity = codec.build(
        cls,
        {
            "replica_id": -1,
            "max_wait": 0,
            "min_bytes": 1,
            "max_bytes": max_bytes,
            "isolation_level": 0,
            "session_id": 0,
            "session_epoch": -1,
            "topics": [
                {
                    "topic": topic,
                    "partitions": [
                        {
                            "partition": 0,
                            "current_leader_epoch": -1,
                            "fetch_offset": 0,
                            "log_start_offset": -1,
                            "partition_max_bytes": max_bytes,
                        }
                    ],
                }
            ],
            "forgotten_topics_data": [],
            "rack_id": "",
        },
    )
    return codec.encode(entity)


def create_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(10)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# -- fairness -----------------------------------------------------------------------


def _pipeliner(bootstrap: str, topic: str, per_write: int, stop: Any, counter: Any) -> None:
    """Pipeline ``per_write`` Produce requests per write, reading every response;
    keep at most two writes' worth outstanding."""
    host, port = bootstrap.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    block = frame(0, 8, produce_body(topic, b"x" * 100), 1, "pipeliner") * per_write
    import threading

    received = 0
    lock = threading.Condition()

    def reader() -> None:
        nonlocal received
        buf = bytearray()
        while True:
            try:
                chunk = sock.recv(1 << 20)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            pos = 0
            n = 0
            while len(buf) - pos >= 4:
                (size,) = struct.unpack_from(">i", buf, pos)
                if len(buf) - pos - 4 < size:
                    break
                pos += 4 + size
                n += 1
            del buf[:pos]
            if n:
                with lock:
                    received += n
                    counter.value = received
                    lock.notify_all()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    sent = 0
    while not stop.is_set():
        with lock:
            while sent - received >= 2 * per_write and not stop.is_set():
                lock.wait(0.1)
        sock.sendall(block)
        sent += per_write
    sock.close()


def round_trips(bootstrap: str, topic: str, n: int) -> list[float]:
    """Return ``n`` produce->consume round trips (seconds) of one record each."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "1"})
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"rt-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 500,
            "fetch.min.bytes": 1,
        }
    )
    warm = f"warm-{uuid.uuid4().hex}".encode()
    offsets: list[int] = []
    producer.produce(
        topic, value=warm, partition=0, on_delivery=lambda err, msg: offsets.append(msg.offset())
    )
    producer.flush(10)
    consumer.assign([TopicPartition(topic, 0, offsets[0])])
    while True:
        msg = consumer.poll(10)
        if msg is not None and not msg.error() and msg.value() == warm:
            break
    out = []
    for i in range(n):
        value = f"ping-{i}-{warm.decode()}".encode()
        t = time.perf_counter()
        producer.produce(topic, value=value, partition=0)
        producer.poll(0)
        while True:
            msg = consumer.poll(10)
            if msg is None:
                raise RuntimeError("round trip timed out")
            if not msg.error() and msg.value() == value:
                break
        out.append(time.perf_counter() - t)
    producer.flush(10)
    consumer.close()
    return out


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def fairness(n: int) -> tuple[list[float], list[float], int]:
    """Return (unloaded round trips, loaded round trips, pipelined requests served
    meanwhile); round trips in seconds."""
    with EmbeddedKafka(mode="process") as kafka:
        bootstrap = kafka.bootstrap_servers
        create_topic(bootstrap, "rt")
        create_topic(bootstrap, "load")
        unloaded = round_trips(bootstrap, "rt", n)
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        counter = ctx.Value("q", 0)
        proc = ctx.Process(target=_pipeliner, args=(bootstrap, "load", 2000, stop, counter))
        proc.start()
        try:
            deadline = time.monotonic() + 30
            while counter.value < 2000 and time.monotonic() < deadline:
                time.sleep(0.05)  # wait for the load to be under way
            before = counter.value
            loaded = round_trips(bootstrap, "rt", n)
            served = counter.value - before
        finally:
            stop.set()
            proc.join(10)
            if proc.is_alive():
                proc.kill()
        return unloaded, loaded, served


# -- back-pressure -------------------------------------------------------------------


def unread_fetches(count: int, settle_s: float) -> tuple[float, float]:
    """Return (idle RSS MB, RSS MB added) while ``count`` ~1 MB Fetches stay unread."""
    with EmbeddedKafka(mode="process") as kafka:
        pid = kafka._impl.proc.pid  # type: ignore[union-attr]
        bootstrap = kafka.bootstrap_servers
        create_topic(bootstrap, "big")
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50})
        for _ in range(40):
            producer.produce("big", value=b"y" * 100_000, partition=0)
        producer.flush(30)
        time.sleep(0.5)
        base = rss_mb(pid)
        host, port = bootstrap.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)))
        request = frame(1, 11, fetch_body("big", 1024 * 1024), 1, "never-reads")
        sock.settimeout(settle_s)
        peak = base
        try:
            sock.sendall(request * count)
        except TimeoutError:
            pass  # the broker stopped reading: the rest stays in our socket buffer
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline:
            peak = max(peak, rss_mb(pid))
            time.sleep(0.1)
        sock.close()
        return base, peak - base


# -- quota accuracy ------------------------------------------------------------------


def alter_quota(bootstrap: str, client_id: str, key: str, value: float) -> None:
    cls = codec.request_schema(49, 1)
    body = codec.encode(
        codec.build(
            cls,
            {
                "entries": [
                    {
                        "entity": [{"entity_type": "client-id", "entity_name": client_id}],
                        "ops": [{"key": key, "value": value, "remove": False}],
                    }
                ],
                "validate_only": False,
            },
        )
    )
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(frame(49, 1, body, 7, "bench-admin"))
        head = sock.recv(4, socket.MSG_WAITALL)
        (size,) = struct.unpack(">i", head)
        resp = sock.recv(size, socket.MSG_WAITALL)
        # correlation id (4) + header tags (1) + throttle (4) + entries len (1) + error (2)
        (error,) = struct.unpack_from(">h", resp, 10)
        if error:
            raise RuntimeError(f"AlterClientQuotas failed with error {error}")


def _steady_rate(marks: list[tuple[float, int]], warmup: float) -> float:
    """Return bytes per second between the first mark after ``warmup`` and the last."""
    start = marks[0][0]
    steady = [m for m in marks if m[0] - start >= warmup]
    (t0, b0), (t1, b1) = steady[0], steady[-1]
    return (b1 - b0) / (t1 - t0)


def quota_accuracy(rate: int, seconds: float, warmup: float = 3.0) -> tuple[float, float, float]:
    """Return produce rate / quota, then consume rate / quota with librdkafka's
    default fetch sizes and with 64 KB fetches, each measured over ``seconds`` after
    ``warmup`` (the burst a fresh client may take)."""
    settings = {"settings": {"quota.window.num": "3", "quota.window.size.seconds": "1"}}
    value = b"z" * 1000
    with EmbeddedKafka(mode="process", **settings) as kafka:
        bootstrap = kafka.bootstrap_servers
        create_topic(bootstrap, "q")
        create_topic(bootstrap, "c")
        # Data for the consumer, in 16 KB batches: a batch larger than the quota
        # allows in its window could never be fetched (in Kafka too).
        filler = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 16384})
        for _ in range(int(rate * (seconds + warmup) * 1.5 / len(value))):
            while True:
                try:
                    filler.produce("c", value=value, partition=0)
                    break
                except BufferError:
                    filler.poll(0.01)
        filler.flush(60)
        alter_quota(bootstrap, "bench-producer", "producer_byte_rate", rate)

        producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": "bench-producer",
                "linger.ms": 5,
                "batch.size": 16384,
            }
        )
        acked = 0

        def delivered(err: Any, msg: Any) -> None:
            nonlocal acked
            if err is None:
                acked += len(msg.value())

        marks: list[tuple[float, int]] = []
        start = time.monotonic()
        while time.monotonic() - start < seconds + warmup:
            try:
                producer.produce("q", value=value, partition=0, on_delivery=delivered)
            except BufferError:
                producer.poll(0.01)
            producer.poll(0)
            marks.append((time.monotonic(), acked))
        producer.flush(60)
        produce_ratio = _steady_rate(marks, warmup) / rate

        ratios = [produce_ratio]
        for client_id, fetch_bytes in (("bench-consumer", None), ("bench-small", 65536)):
            alter_quota(bootstrap, client_id, "consumer_byte_rate", rate)
            conf: dict[str, Any] = {
                "bootstrap.servers": bootstrap,
                "client.id": client_id,
                "group.id": client_id,
                "enable.auto.commit": False,
            }
            if fetch_bytes:
                conf["fetch.max.bytes"] = fetch_bytes
                conf["max.partition.fetch.bytes"] = fetch_bytes
                conf["message.max.bytes"] = fetch_bytes  # librdkafka: <= fetch.max.bytes
            consumer = Consumer(conf)
            consumer.assign([TopicPartition("c", 0, 0)])
            got = 0
            marks = []
            start = time.monotonic()
            while time.monotonic() - start < seconds + warmup:
                msg = consumer.poll(0.1)
                if msg is not None and not msg.error():
                    got += len(msg.value())
                marks.append((time.monotonic(), got))
            consumer.close()
            ratios.append(_steady_rate(marks, warmup) / rate)
        return ratios[0], ratios[1], ratios[2]


# -- cost against another revision ----------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def exported_src(rev: str) -> Iterator[Path]:
    """Yield a temporary folder holding ``rev``'s ``src/`` (``git archive``).

    Raises:
        RuntimeError: git cannot export ``rev``.
    """
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        archive = Path(tmp) / "src.tar"
        proc = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", "-o", str(archive), rev, "src"],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"git archive {rev}: {proc.stderr.strip()}")
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) / "src"


@contextlib.contextmanager
def broker_from(src: Path | None) -> Iterator[EmbeddedKafka]:
    """Start a process-mode broker from ``src`` (``None``: this checkout)."""
    saved = os.environ.get("PYTHONPATH")
    if src is not None:
        os.environ["PYTHONPATH"] = str(src) + (os.pathsep + saved if saved else "")
    try:
        kafka = EmbeddedKafka(mode="process").start()
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    try:
        yield kafka
    finally:
        kafka.stop()


def _cpu_seconds(pid: int) -> float:
    """Return the CPU time of every thread of process ``pid`` so far, in seconds
    (``/proc/<pid>/task/*/schedstat``: nanoseconds, where ``/proc/<pid>/stat`` counts
    10 ms ticks, too coarse for a few hundred ms of work)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that just ended
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def _pipeline(sock: socket.socket, request: bytes, n: int) -> None:
    """Send ``n`` copies of ``request`` in writes of 1,000 and read every response."""
    done = threading.Event()

    def reader() -> None:
        buf = bytearray()
        got = 0
        while got < n:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
            pos = 0
            while len(buf) - pos >= 4:
                (size,) = struct.unpack_from(">i", buf, pos)
                if len(buf) - pos - 4 < size:
                    break
                pos += 4 + size
                got += 1
            del buf[:pos]
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    block = request * 1000
    for _ in range(n // 1000):
        sock.sendall(block)
    if not done.wait(120):
        raise RuntimeError("the broker did not answer every pipelined request")


def pipelined_cpu_us(src: Path | None, kind: str, n: int) -> float:
    """Return broker CPU microseconds per request while one client pipelines ``n``
    tiny requests of ``kind`` (``apiversions`` or ``produce``)."""
    with broker_from(src) as kafka:
        pid = kafka._impl.proc.pid  # type: ignore[union-attr]
        kafka.create_topic("t")
        if kind == "apiversions":
            request = frame(18, 3, b"\x02t\x021\x00", 1, "ab")
        else:
            request = frame(0, 8, produce_body("t", b"x" * 10), 1, "ab")
        host, port = kafka.bootstrap_servers.rsplit(":", 1)
        with socket.create_connection((host, int(port))) as sock:
            _pipeline(sock, request, 2000)  # warm up
            before = _cpu_seconds(pid)
            _pipeline(sock, request, n)
            return (_cpu_seconds(pid) - before) / n * 1e6


def client_rates(src: Path | None, n: int) -> dict[str, tuple[float, float]]:
    """Return librdkafka's produce (1 and 6 partitions) and consume figures as
    bench_broker.py measures them: records per second, and broker CPU microseconds
    per record (less sensitive than wall time to the load of a shared machine)."""
    from bench_broker import consume_rate, ensure_topic, produce_rate

    out: dict[str, tuple[float, float]] = {}
    with broker_from(src) as kafka:
        pid = kafka._impl.proc.pid  # type: ignore[union-attr]
        bootstrap = kafka.bootstrap_servers
        for partitions in (1, 6):
            topic = f"ab{partitions}-{uuid.uuid4().hex[:6]}"
            ensure_topic(bootstrap, topic, partitions)
            before = _cpu_seconds(pid)
            rate = produce_rate(bootstrap, topic, n, partitions)
            cpu = (_cpu_seconds(pid) - before) / n * 1e6
            out[f"produce, {partitions} partition(s)"] = (rate, cpu)
            if partitions == 1:
                before = _cpu_seconds(pid)
                rate = consume_rate(bootstrap, topic, 1, n + 2)
                out["consume, 1 partition"] = (rate, (_cpu_seconds(pid) - before) / n * 1e6)
    return out


def against(rev: str, rounds: int, n_requests: int, n_records: int) -> None:
    """Print this checkout's broker against ``rev``'s, alternating, median of ``rounds``."""
    this = "this checkout"
    with exported_src(rev) as base:
        cpu: dict[tuple[str, str], list[float]] = {}
        rates: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(rounds):
            for label, src in ((rev, base), (this, None)):
                for kind in ("apiversions", "produce"):
                    cpu.setdefault((label, kind), []).append(
                        pipelined_cpu_us(src, kind, n_requests)
                    )
                for name, figures in client_rates(src, n_records).items():
                    rates.setdefault((label, name), []).append(figures)
    print(f"\nstreamtest server: {this} against {rev} (process mode, median of {rounds})")
    print(f"  {'':46} {'this':>11} {rev:>11} {'ratio':>7}")
    for kind, title in (("apiversions", "ApiVersions"), ("produce", "Produce, one record")):
        ours = statistics.median(cpu[(this, kind)])
        theirs = statistics.median(cpu[(rev, kind)])
        print(
            f"  {'broker CPU/request, pipelined ' + title:46} {ours:8.1f} us {theirs:8.1f} us "
            f"{ours / theirs:6.2f}x  (+{ours - theirs:.1f} us)"
        )
    for name in sorted({n for _label, n in rates}):
        ours_rate = statistics.median(r for r, _c in rates[(this, name)])
        theirs_rate = statistics.median(r for r, _c in rates[(rev, name)])
        ours_cpu = statistics.median(c for _r, c in rates[(this, name)])
        theirs_cpu = statistics.median(c for _r, c in rates[(rev, name)])
        print(
            f"  {'librdkafka ' + name + ', records/s':46} {ours_rate:11,.0f} {theirs_rate:11,.0f} "
            f"{ours_rate / theirs_rate:6.2f}x"
        )
        print(
            f"  {'  broker CPU per record':46} {ours_cpu:8.2f} us {theirs_cpu:8.2f} us "
            f"{ours_cpu / theirs_cpu:6.2f}x"
        )
    print(
        "  (records/s: ratio > 1 means this checkout is faster; CPU: ratio this/rev, "
        "lower is better)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer round trips, shorter runs")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--skip-quota", action="store_true")
    ap.add_argument("--fetches", type=int, default=1000, help="unread Fetches (default 1000)")
    ap.add_argument(
        "--against", metavar="REV", help="also compare with the broker of git revision REV"
    )
    ap.add_argument(
        "--only-against", action="store_true", help="with --against, measure nothing else"
    )
    args = ap.parse_args()
    if args.against:
        rounds = 3 if args.quick else 5
        against(
            args.against,
            rounds,
            20_000 if args.quick else 40_000,
            50_000 if args.quick else 200_000,
        )
        if args.only_against:
            return
    n = 100 if args.quick else 400

    unloaded, loaded, served = fairness(n)
    print("\nstreamtest server: fairness (produce->consume round trip of one record)")
    print(f"  {'':38} {'p50':>9} {'p90':>9} {'p99':>9} {'max':>9}")
    for label, rts in (("unloaded", unloaded), ("another client pipelining", loaded)):
        cols = " ".join(f"{_pct(rts, q):7.2f}ms" for q in (0.5, 0.9, 0.99, 1.0))
        print(f"  {label:38} {cols}")
    p50_ratio = statistics.median(loaded) / statistics.median(unloaded)
    print(f"  ({served:,} pipelined Produce requests were served meanwhile)")
    print(f"  p50 ratio loaded/unloaded: {p50_ratio:.1f}x (target <= 10x)")

    if not args.skip_rss:
        base, added = unread_fetches(args.fetches, 5.0 if args.quick else 10.0)
        print("\nstreamtest server: back-pressure")
        print(f"  idle broker RSS: {base:.1f} MB")
        print(
            f"  RSS added by {args.fetches:,} pipelined ~1 MB Fetches never read: "
            f"{added:.1f} MB (target <= 100 MB)"
        )

    if not args.skip_quota:
        rate = 200_000
        seconds = 10.0 if args.quick else 20.0
        produce_ratio, consume_ratio, small_ratio = quota_accuracy(rate, seconds)
        print(
            f"\nstreamtest server: quota accuracy over {seconds:.0f} s after a 3 s burst "
            "(quota.window.num=3, 1 s windows; 1.00 is exact; values only, Kafka counts "
            "the whole request or response)"
        )
        print(f"  produce rate / producer_byte_rate ({rate:,} B/s): {produce_ratio:.2f}")
        print(
            f"  consume rate / consumer_byte_rate ({rate:,} B/s), librdkafka's fetch sizes: "
            f"{consume_ratio:.2f}"
        )
        print(
            f"  consume rate / consumer_byte_rate ({rate:,} B/s), 64 KB fetches: {small_ratio:.2f}"
        )


if __name__ == "__main__":
    main()
