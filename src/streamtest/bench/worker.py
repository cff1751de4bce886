"""One benchmark worker process: a producer or a consumer (``python -m
streamtest.bench.worker``).

The coordinator (:mod:`.runner`) starts the workers as child processes, so that
several producers or consumers are not limited by one Python interpreter, and talks
to each over its stdio, one JSON object per line:

* stdin, from the coordinator: first the worker's spec, then ``{"cmd": "start",
  "t0": T}`` (a ``time.monotonic()`` instant, which on Linux and macOS is the same
  clock in every process) and later, perhaps, ``{"cmd": "stop"}``. EOF means stop
  (the coordinator is gone).
* stdout, to the coordinator: ``ready``; ``assigned`` (consumers, on each
  assignment); ``iv`` (one interval: ``i`` index, ``n`` records, ``b`` bytes, ``e``
  errors, ``h`` the encoded latency histogram); ``p`` (consumers: records so far);
  ``done`` (``end``: the instant of the last measured record, ``sent``, ``errors``:
  a few error messages); or ``error`` (the worker could not run; ``message``).

SIGINT is ignored: Ctrl-C reaches the whole process group, and it is the
coordinator's job to stop the workers so that what they measured is reported.
"""

from __future__ import annotations

import json
import random
import signal
import struct
import sys
import threading
import time
from typing import IO, Any

from confluent_kafka import KafkaException, TopicPartition

from ..ops.client import ClientConfig, kafka_error_message
from . import histogram as hdr

_TS = struct.Struct(">q")
#: How long a stopping producer waits for in-flight records before it gives up on
#: them (and counts them as errors).
DRAIN_TIMEOUT_S = 10.0


class Control:
    """The coordinator's commands, read from stdin in a thread."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.started = threading.Event()
        self.stopped = threading.Event()
        self.t0 = 0.0
        threading.Thread(target=self._read, name="bench-control", daemon=True).start()

    def _read(self) -> None:
        for line in self.stream:
            try:
                cmd = json.loads(line)
            except json.JSONDecodeError:
                continue
            if cmd.get("cmd") == "start":
                self.t0 = float(cmd["t0"])
                self.started.set()
            elif cmd.get("cmd") == "stop":
                self.stopped.set()
                self.started.set()
        self.stopped.set()  # EOF: the coordinator is gone
        self.started.set()


class Reporter:
    """Writes JSON lines to the coordinator (stdout)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.lock = threading.Lock()

    def send(self, kind: str, **fields: Any) -> None:
        """Write one message."""
        with self.lock:
            self.out.write(json.dumps({"t": kind, **fields}) + "\n")
            self.out.flush()


class Intervals:
    """Tracks which interval it is and reports each one as it ends."""

    def __init__(self, reporter: Reporter, t0: float, length: float) -> None:
        self.reporter = reporter
        self.t0 = t0
        self.length = length
        self.index = 0
        self.next_at = t0 + length

    def due(self, now: float) -> bool:
        """Return whether the current interval has ended at ``now``."""
        return now >= self.next_at

    def report(self, records: int, nbytes: int, errors: int, histogram: Any) -> None:
        """Report the current interval and move to the next one."""
        self.reporter.send(
            "iv", i=self.index, n=records, b=nbytes, e=errors, h=hdr.encode(histogram)
        )
        self.index += 1
        self.next_at = self.t0 + (self.index + 1) * self.length

    def catch_up(self, now: float) -> None:
        """Skip the intervals that ended with nothing to report (a long stall)."""
        while now >= self.next_at:
            self.index += 1
            self.next_at = self.t0 + (self.index + 1) * self.length


def payload(size: int) -> bytes:
    """Return ``size`` random upper-case letters: compressible like text, as
    kafka-producer-perf-test's payload."""
    rng = random.Random(size)
    return bytes(rng.randrange(65, 91) for _ in range(size))


# -- producer --------------------------------------------------------------------------

#: Produce latencies recorded per second and producer, at most (about).
LATENCY_SAMPLES_PER_S = 20_000


def _sample_every(rate: float | None, measured: float | None) -> int:
    """Return ``k``: the latency of one record in ``k`` is recorded.

    Every record's delivery is counted, but timing each one in Python (a second
    callback argument, ``Message.latency()``, the histogram) costs about a third of
    what producing it costs, which would make the benchmark measure itself. Like
    kafka-producer-perf-test, which keeps a sample for its percentiles, a producer
    records every record's latency up to :data:`LATENCY_SAMPLES_PER_S` records a
    second and a systematic sample (every k-th record) above that; ``k`` follows
    the rate of the last interval (or ``rate``, or 16 before the first interval of
    an unlimited run).
    """
    expected = measured if measured else rate
    if expected is None:
        return 16
    return max(1, int(expected // LATENCY_SAMPLES_PER_S))


def run_producer(spec: dict[str, Any], control: Control, reporter: Reporter) -> None:
    """Produce the spec's records (or for its duration) and report as it goes."""
    client = ClientConfig(spec["bootstrap"], spec["properties"], spec["timeout"])
    recorder = hdr.LatencyRecorder()
    add = recorder.values.append
    failed: list[int] = [0]
    acked: list[int] = [0]
    messages: list[str] = []

    def delivered(err: Any, msg: Any) -> None:
        # Every record's delivery report: counts successes and failures exactly.
        if err is None:
            acked[0] += 1
        else:
            failed[0] += 1
            if len(messages) < 5:
                messages.append(kafka_error_message(err))

    def sampled(err: Any, msg: Any) -> None:
        # The latency sample's report (it replaces ``delivered`` for that record).
        if err is None:
            acked[0] += 1
            add(int(msg.latency() * 1_000_000))
        else:
            delivered(err, msg)

    conf = dict(spec["producer_conf"])
    conf["on_delivery"] = delivered
    try:
        producer = client.producer(**conf)
        for name in spec["topics"]:
            producer.list_topics(name, timeout=spec["timeout"])
    except (KafkaException, ValueError, TypeError) as exc:
        reporter.send("error", message=f"producer: {kafka_error_message(exc)}")
        return
    reporter.send("ready")
    control.started.wait()
    if control.stopped.is_set():
        reporter.send("done", end=time.monotonic(), sent=0, errors=[])
        return
    t0 = control.t0
    time.sleep(max(0.0, t0 - time.monotonic()))
    intervals = Intervals(reporter, t0, spec["interval_s"])
    size = spec["record_size"]
    value = payload(size)
    e2e = spec["e2e"]
    tail = value[8:]
    keys = [b"key-%d" % i for i in range(spec["keys"])] if spec["keys"] else None
    topics = spec["topics"]
    topic = topics[0]
    target = spec["records"]
    rate = spec["rate"]
    deadline = t0 + spec["duration_s"] if spec["duration_s"] else None
    chunk = 1000 if rate is None else max(1, min(1000, int(rate / 100)))
    produce = producer.produce
    poll = producer.poll
    sent = 0
    reported_errors = 0

    def make(j: int) -> tuple[bytes, bytes | None]:
        """Return the value and key of this worker's ``j``-th record."""
        key = keys[j % len(keys)] if keys else None
        if e2e:
            return _TS.pack(time.time_ns() // 1000) + tail, key
        return value, key

    plain = keys is None and not e2e
    every = [_sample_every(rate, None)]

    def send(n: int) -> None:
        """Produce ``n`` records, waiting for room when librdkafka's queue is full.

        One record in ``every[0]`` carries the latency callback; the others only the
        delivery count (see :func:`_sample_every`).
        """
        i = 0
        k = every[0]
        while i < n:
            try:
                j = sent + i
                if j % k == 0:  # the latency sample
                    if plain:
                        produce(topic, value, on_delivery=sampled)
                    else:
                        v, key = make(j)
                        produce(topic, v, key, on_delivery=sampled)
                    i += 1
                    continue
                upto = min(n, i + k - j % k)  # the records up to the next sample
                if plain:  # the hot path: the loop a hand-written benchmark runs
                    while i < upto:
                        produce(topic, value)
                        i += 1
                else:
                    while i < upto:
                        produce(topic, *make(sent + i))
                        i += 1
            except BufferError:
                poll(0.005)
            except KafkaException as exc:  # a local error: count it, carry on
                failed[0] += 1
                if len(messages) < 5:
                    messages.append(kafka_error_message(exc))
                i += 1

    reported_acks = 0

    def report() -> None:
        nonlocal reported_errors, reported_acks
        histogram = recorder.drain()
        n = acked[0] - reported_acks
        reported_acks = acked[0]
        errors = failed[0] - reported_errors
        reported_errors = failed[0]
        intervals.report(n, n * size, errors, histogram)
        every[0] = _sample_every(rate, n / intervals.length)

    while not control.stopped.is_set():
        now = time.monotonic()
        if intervals.due(now):
            report()
            intervals.catch_up(now)
        if deadline is not None and now >= deadline:
            break
        n = chunk
        if target is not None:
            n = min(n, target - sent)
            if n <= 0:
                break
        if rate is not None:
            allowed = int((now - t0) * rate) + 1 - sent
            if allowed <= 0:
                poll(min(0.01, max(0.0, (sent + 1) / rate - (now - t0))))
                continue
            n = min(n, allowed)
        if len(topics) > 1:
            topic = topics[(sent // chunk) % len(topics)]
        send(n)
        sent += n
        poll(0)
    # Wait for what is in flight; what never gets acknowledged is an error.
    drain_until = time.monotonic() + DRAIN_TIMEOUT_S
    while len(producer) > 0 and time.monotonic() < drain_until:
        producer.flush(0.1)
        now = time.monotonic()
        if intervals.due(now):
            report()
            intervals.catch_up(now)
    end = time.monotonic()
    if len(producer) > 0:
        producer.purge()
        producer.flush(1)  # serves the purged records' delivery reports (errors)
    report()
    reporter.send("done", end=end, sent=sent, errors=messages)


# -- consumer --------------------------------------------------------------------------


def run_consumer(spec: dict[str, Any], control: Control, reporter: Reporter) -> None:
    """Consume until told to stop (or for the spec's duration) and report as it goes."""
    client = ClientConfig(spec["bootstrap"], spec["properties"], spec["timeout"])
    # e2e: where each partition ended before the producers started ("topic|partition").
    start_offsets: dict[str, int] = dict(spec.get("start_offsets") or {})
    state: dict[str, Any] = {"started": False, "pending": []}

    def on_assign(consumer: Any, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            start = start_offsets.get(f"{tp.topic}|{tp.partition}")
            if start is not None:
                tp.offset = start
        if state["started"]:
            consumer.assign(partitions)
        else:
            # Hold the partitions back until the common start, so that no record is
            # read (and goes unmeasured) while the other workers get ready. Not
            # pause(): librdkafka's fetcher sleeps up to a second before it notices
            # a resume, which would land in the measurement.
            state["pending"] = partitions
            consumer.assign([])
        reporter.send("assigned", partitions=len(partitions))

    conf = {
        "group.id": spec["group"],
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "enable.partition.eof": False,
        "enable.auto.offset.store": True,
    }
    conf.update(spec["consumer_conf"])
    try:
        consumer = client.consumer(**conf)
        consumer.subscribe(list(spec["topics"]), on_assign=on_assign)
    except (KafkaException, ValueError, TypeError) as exc:
        reporter.send("error", message=f"consumer: {kafka_error_message(exc)}")
        return
    reporter.send("ready")
    while not control.started.is_set():
        consumer.poll(0.05)  # joins the group; records stay paused
    if control.stopped.is_set():
        consumer.close()
        reporter.send("done", end=time.monotonic(), sent=0, errors=[])
        return
    state["started"] = True
    time.sleep(max(0.0, control.t0 - time.monotonic()))
    if state["pending"]:
        consumer.assign(state["pending"])
    t0 = control.t0
    intervals = Intervals(reporter, t0, spec["interval_s"])
    e2e = spec["e2e"]
    deadline = t0 + spec["duration_s"] if spec["duration_s"] and not e2e else None
    recorder = hdr.LatencyRecorder()
    add = recorder.values.append
    records = nbytes = errors = total = reported = 0
    messages: list[str] = []
    last = t0
    next_progress = t0
    consume = consumer.consume
    while not control.stopped.is_set():
        before = time.monotonic()
        if intervals.due(before):
            intervals.report(records, nbytes, errors, recorder.drain())
            records = nbytes = errors = 0
            intervals.catch_up(before)
        if deadline is not None and before >= deadline:
            break
        batch = consume(10_000, 0.1)
        if not batch:
            if total != reported:
                # The last batch came within 20 ms of the previous report: without
                # this, the coordinator (which stops consumers by this count) would
                # wait for it forever once nothing more arrives.
                reporter.send("p", n=total)
                reported = total
            continue
        after = time.monotonic()
        n = 0
        if e2e:
            now_us = time.time_ns() // 1000
            for msg in batch:
                if msg.error():
                    errors += 1
                    if len(messages) < 5:
                        messages.append(kafka_error_message(msg.error()))
                    continue
                value = msg.value()
                nbytes += len(value)
                add(now_us - _TS.unpack_from(value)[0])
                n += 1
        else:
            for msg in batch:
                if msg.error():
                    errors += 1
                    if len(messages) < 5:
                        messages.append(kafka_error_message(msg.error()))
                    continue
                nbytes += len(msg)
                n += 1
            add(int((after - before) * 1_000_000))
        records += n
        total += n
        last = after
        if after >= next_progress:  # the coordinator stops consumers by this count
            reporter.send("p", n=total)
            reported = total
            next_progress = after + 0.02
    intervals.report(records, nbytes, errors, recorder.drain())
    reporter.send("p", n=total)
    reporter.send("done", end=last, sent=total, errors=messages)
    try:
        consumer.close()
    except KafkaException:
        pass


def main() -> None:
    """Read the spec from stdin and run the worker it names."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reporter = Reporter(sys.stdout)
    line = sys.stdin.readline()
    if not line:
        return
    spec = json.loads(line)
    control = Control(sys.stdin)
    try:
        if spec["role"] == "produce":
            run_producer(spec, control, reporter)
        else:
            run_consumer(spec, control, reporter)
    except Exception as exc:  # report, so the coordinator can say what happened
        reporter.send("error", message=f"{spec['role']} worker failed: {exc!r}")


if __name__ == "__main__":
    main()
