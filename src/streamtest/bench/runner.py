"""The benchmark coordinator: prepares the topic, starts the worker processes, merges
their reports and stops them, also on Ctrl-C.

Workers are child processes (:mod:`.worker`) so that ``--producers 4`` runs four
Python interpreters and the client is not the bottleneck. Every worker records its
latencies into an HDR histogram per interval; the coordinator adds them up per
interval and overall (:class:`~.result.Tally`), so percentiles are those of all
records, not an average of per-process percentiles.

A :class:`KeyboardInterrupt` (Ctrl-C) in :func:`run` tells the workers to stop,
waits for their last reports (producers wait for their in-flight records) and
returns the result so far with ``interrupted`` set.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic, OffsetSpec

from ..ops.client import check_reachable, kafka_error_message, list_topic_partitions
from ..ops.errors import BrokerUnreachableError, OpsError
from ..ops.groups import describe_group_raw, list_offsets
from ..ops.plan import TP
from . import histogram as hdr
from .config import BenchConfig
from .result import BenchResult, IntervalStats, Tally, distinct

#: Seconds the workers get to connect (and consumers to join their group).
READY_TIMEOUT_S = 60.0
#: Seconds consumers keep reading after the producers finished (e2e), for the
#: records still on their way.
E2E_DRAIN_S = 30.0
#: Seconds stopping workers get to send their last reports.
STOP_TIMEOUT_S = 20.0

IntervalCallback = Callable[[str, IntervalStats], None]
StatusCallback = Callable[[str], None]


class BenchError(OpsError):
    """The benchmark could not run (a worker failed, the topic cannot be used, ...)."""


# -- worker processes ------------------------------------------------------------------


class WorkerProcess:
    """One worker child process and the threads that read its output."""

    def __init__(self, wid: int, spec: dict[str, Any], events: queue.Queue[Any]) -> None:
        self.wid = wid
        self.role: str = spec["role"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamtest.bench.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.stderr_tail: deque[str] = deque(maxlen=5)
        self.done = False
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._read, args=(self.proc.stdout, events), daemon=True).start()
        threading.Thread(target=self._tail, args=(self.proc.stderr,), daemon=True).start()
        self.send(spec)

    def _read(self, stream: IO[str], events: queue.Queue[Any]) -> None:
        for line in stream:
            try:
                events.put((self.wid, json.loads(line)))
            except json.JSONDecodeError:
                self.stderr_tail.append(line.rstrip())
        events.put((self.wid, {"t": "exit"}))

    def _tail(self, stream: IO[str]) -> None:
        for line in stream:
            if line.strip():
                self.stderr_tail.append(line.rstrip())

    def send(self, message: dict[str, Any]) -> None:
        """Write one command; a worker that is gone is ignored."""
        stdin = self.proc.stdin
        if stdin is None or stdin.closed:
            return
        try:
            stdin.write(json.dumps(message) + "\n")
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def stop(self) -> None:
        """Ask the worker to stop (it reports what it measured, then exits)."""
        self.send({"cmd": "stop"})

    def why_exited(self) -> str:
        """Return a one-line reason for an unexpected exit."""
        code = self.proc.poll()
        tail = next((line for line in reversed(self.stderr_tail) if line), "")
        return f"{self.role} worker {self.wid} exited (status {code}){': ' + tail if tail else ''}"

    def close(self, timeout: float = 5.0) -> None:
        """Close stdin (EOF also means stop), wait for the exit, kill if need be."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# -- preparing the topic ---------------------------------------------------------------


def _ensure_topics(cfg: BenchConfig, status: StatusCallback) -> dict[str, int]:
    """Create the run's topics that are missing; return ``{topic: partition count}``.

    Raises:
        BenchError: a topic cannot be created.
    """
    client = cfg.client
    admin = client.admin()
    wanted = cfg.topic_names
    existing = list_topic_partitions(admin, client)
    missing = [t for t in wanted if t not in existing]
    if missing:
        status(f"creating {len(missing)} topic(s) with {cfg.partitions} partition(s) each")
        futures = admin.create_topics(
            [NewTopic(t, cfg.partitions, cfg.replication_factor) for t in missing],
            request_timeout=client.timeout,
        )
        for name, fut in futures.items():
            try:
                fut.result(timeout=client.timeout + 5)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if getattr(err, "name", lambda: "")() != "TOPIC_ALREADY_EXISTS":
                    raise BenchError(
                        f"cannot create topic {name}: {kafka_error_message(exc)}"
                    ) from None
    deadline = time.monotonic() + client.timeout
    while True:
        existing = list_topic_partitions(admin, client)
        if all(t in existing for t in wanted):
            return {t: existing[t] for t in wanted}
        if time.monotonic() > deadline:
            raise BenchError("created topics do not show in the cluster's metadata")
        time.sleep(0.05)


def _offsets(cfg: BenchConfig, topics: dict[str, int], spec: OffsetSpec) -> dict[TP, int]:
    admin = cfg.client.admin()
    tps = {TP(t, p): spec for t, n in topics.items() for p in range(n)}
    return {tp: off for tp, (off, _ts) in list_offsets(admin, cfg.client, tps).items()}


def _fill(cfg: BenchConfig, topic: str, count: int, status: StatusCallback) -> None:
    """Produce ``count`` records of ``record_size`` bytes to ``topic`` (not measured),
    so that bench consume has something to read."""
    from .worker import payload

    status(f"filling {topic} with {count} records of {cfg.record_size} bytes")
    failures: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None and len(failures) < 3:
            failures.append(kafka_error_message(err))

    conf = {"linger.ms": 20, "on_delivery": delivered}
    conf.update(cfg.producer_conf())
    producer = cfg.client.producer(**conf)
    value = payload(cfg.record_size)
    keys = [b"key-%d" % i for i in range(cfg.keys)] if cfg.keys else None
    for i in range(count):
        while True:
            try:
                if keys is None:
                    producer.produce(topic, value)
                else:
                    producer.produce(topic, value, keys[i % len(keys)])
                break
            except BufferError:
                producer.poll(0.01)
        if failures:
            break
    left = producer.flush(max(30.0, cfg.client.timeout))
    if failures or left:
        problem = failures[0] if failures else f"{left} records not acknowledged in time"
        raise BenchError(f"cannot fill topic {topic}: {problem}")


# -- the run -------------------------------------------------------------------------------


@dataclass
class _Run:
    cfg: BenchConfig
    on_interval: IntervalCallback | None
    workers: dict[int, WorkerProcess] = field(default_factory=dict)
    events: queue.Queue[Any] = field(default_factory=queue.Queue)
    tallies: dict[str, Tally] = field(default_factory=dict)
    ends: dict[str, list[float]] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    progress: dict[int, int] = field(default_factory=dict)
    emitted: dict[str, int] = field(default_factory=dict)
    latest: dict[tuple[str, int], int] = field(default_factory=dict)
    t0: float = 0.0
    interrupted: bool = False
    #: Ctrl-Cs received (by :func:`_catch_sigint`) and Ctrl-Cs already acted on.
    sigints: int = 0
    sigints_seen: int = 0

    def role_workers(self, role: str) -> list[WorkerProcess]:
        return [w for w in self.workers.values() if w.role == role]

    def running(self, role: str) -> list[WorkerProcess]:
        return [w for w in self.role_workers(role) if not w.done]

    def next_event(self, timeout: float) -> tuple[int, dict[str, Any]] | None:
        """Return the next worker message, or ``None`` after ``timeout`` seconds.

        Raises:
            KeyboardInterrupt: a Ctrl-C arrived since the last call. It is raised
                here, at a known point, rather than wherever the signal lands: a
                KeyboardInterrupt inside ``queue.Queue.get`` can leave the queue's
                lock held, and the reader threads then block on it for good.
        """
        if self.sigints > self.sigints_seen:
            self.sigints_seen = self.sigints
            raise KeyboardInterrupt
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def handle(self, wid: int, msg: dict[str, Any]) -> None:
        """Apply one worker message."""
        worker = self.workers[wid]
        kind = msg["t"]
        if kind == "iv":
            self.tallies[worker.role].add(
                msg["i"], msg["n"], msg["b"], msg["e"], hdr.decode(msg["h"])
            )
            self.latest[(worker.role, wid)] = msg["i"]
        elif kind == "p":
            self.progress[wid] = msg["n"]
        elif kind == "done":
            worker.done = True
            self.ends.setdefault(worker.role, []).append(msg["end"])
            self.sent[worker.role] = self.sent.get(worker.role, 0) + msg["sent"]
            self.errors.extend(msg["errors"])
        elif kind == "error":
            raise BenchError(msg["message"])
        elif kind == "exit" and not worker.done:
            raise BenchError(worker.why_exited())

    def emit_finished_intervals(self, final: bool = False, duration: float | None = None) -> None:
        """Pass each interval that every worker of a role has reported (or that ended
        a while ago) to the live view, once."""
        if self.on_interval is None:
            return
        now = time.monotonic()
        length = self.cfg.interval_s
        for role, tally in self.tallies.items():
            nxt = self.emitted.get(role, 0)
            while True:
                ended_long_ago = now >= self.t0 + (nxt + 1) * length + 0.5 * length
                reported = all(
                    self.latest.get((role, w.wid), -1) >= nxt or w.done
                    for w in self.role_workers(role)
                )
                last = max(tally.intervals, default=-1)
                if final and nxt > last:
                    break
                if (
                    not final
                    and not (reported and now >= self.t0 + (nxt + 1) * length)
                    and not ended_long_ago
                ):
                    break
                ran = None
                if duration is not None and nxt * length < duration:
                    ran = duration - nxt * length
                self.on_interval(role, tally.stats(nxt, ran))
                nxt += 1
            self.emitted[role] = nxt


def _spec(cfg: BenchConfig, role: str, group: str, **extra: Any) -> dict[str, Any]:
    spec = {
        "role": role,
        "bootstrap": cfg.client.bootstrap_servers,
        "properties": dict(cfg.client.properties),
        "timeout": cfg.client.timeout,
        "topics": cfg.topic_names,
        "record_size": cfg.record_size,
        "keys": cfg.keys,
        "e2e": cfg.mode == "e2e",
        "group": group,
        "interval_s": cfg.interval_s,
        "duration_s": cfg.duration_s,
        "producer_conf": cfg.producer_conf(),
        "consumer_conf": cfg.consumer_conf(),
    }
    spec.update(extra)
    return spec


def _split(total: int | None, parts: int) -> list[int | None]:
    if total is None:
        return [None] * parts
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run(
    config: BenchConfig,
    on_interval: IntervalCallback | None = None,
    on_status: StatusCallback | None = None,
) -> BenchResult:
    """Run one benchmark and return its result.

    Args:
        config: what to run (validated here).
        on_interval: called as ``(role, stats)`` once per finished interval, role
            ``produce`` or ``consume``; for a live view.
        on_status: called with one-line progress notes (creating the topic, ...).

    Returns:
        The result; ``interrupted`` is set if Ctrl-C stopped the run early.

    Raises:
        InvalidInputError: a setting is invalid.
        BrokerUnreachableError: the cluster cannot be reached.
        BenchError: the topic cannot be prepared or a worker failed.
    """
    cfg = config.validate()
    status = on_status or (lambda _msg: None)
    check_reachable(cfg.client)
    try:
        topics = _ensure_topics(cfg, status)
        start_offsets: dict[str, int] = {}
        if cfg.mode == "consume":
            _prepare_consume(cfg, topics, status)
            # Every group reads from the start of the log. The offsets are given
            # explicitly: left to auto.offset.reset, librdkafka waits out a 100 ms
            # offset-query backoff before the first fetch, inside the measurement.
            begin = _offsets(cfg, topics, OffsetSpec.earliest())
            start_offsets = {f"{tp.topic}|{tp.partition}": off for tp, off in begin.items()}
        if cfg.mode == "e2e":
            ends = _offsets(cfg, topics, OffsetSpec.latest())
            start_offsets = {f"{tp.topic}|{tp.partition}": off for tp, off in ends.items()}
    except KafkaException as exc:
        raise BrokerUnreachableError(kafka_error_message(exc)) from None
    base_group = cfg.group or f"streamtest-bench-{uuid.uuid4().hex[:12]}"
    groups = (
        [base_group]
        if cfg.subscriptions == 1
        else [f"{base_group}-{i}" for i in range(cfg.subscriptions)]
    )
    state = _Run(cfg, on_interval)
    restore = _catch_sigint(state)
    wid = 0
    try:
        rate = cfg.rate / cfg.producers if cfg.rate and cfg.producers else None
        for count in _split(cfg.records if cfg.mode != "consume" else None, cfg.producers):
            spec = _spec(cfg, "produce", "", records=count, rate=rate)
            state.workers[wid] = WorkerProcess(wid, spec, state.events)
            wid += 1
        for group in groups if cfg.consumers else []:
            for _ in range(cfg.consumers):
                spec = _spec(
                    cfg, "consume", group, records=None, rate=None, start_offsets=start_offsets
                )
                state.workers[wid] = WorkerProcess(wid, spec, state.events)
                wid += 1
        for role in ("produce", "consume"):
            if state.role_workers(role):
                state.tallies[role] = Tally(cfg.interval_s)
        _wait_ready(state, groups, status)
        state.t0 = time.monotonic() + 0.02
        status("running")
        for w in state.workers.values():
            w.send({"cmd": "start", "t0": state.t0})
        _supervise(state)
    except KeyboardInterrupt:
        state.interrupted = True
        _stop_all(state)
    finally:
        for w in state.workers.values():
            w.close()
        restore()
    return _result(state)


def _catch_sigint(state: _Run) -> Callable[[], None]:
    """Count Ctrl-Cs in ``state`` (see :meth:`_Run.next_event`) instead of raising
    KeyboardInterrupt asynchronously; return what puts the old handler back.

    Only the main thread can set a signal handler; elsewhere (a test calling
    :func:`run` from a thread) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_sigint(_signum: int, _frame: object) -> None:
        state.sigints += 1

    previous = signal.signal(signal.SIGINT, on_sigint)
    return lambda: signal.signal(signal.SIGINT, previous)


def _prepare_consume(cfg: BenchConfig, topics: dict[str, int], status: StatusCallback) -> None:
    """Make sure each topic holds its share of ``records`` (fill the rest), or, for a
    timed run, that there is something to read."""
    begin = _offsets(cfg, topics, OffsetSpec.earliest())
    end = _offsets(cfg, topics, OffsetSpec.latest())
    available = {t: sum(end[tp] - begin[tp] for tp in end if tp.topic == t) for t in topics}
    if cfg.records is None:
        if not any(available.values()):
            raise BenchError(
                f"topic {cfg.topic} is empty: give a record count so that bench consume "
                "fills it first"
            )
        return
    for topic, share in zip(topics, _split(cfg.records, len(topics)), strict=True):
        if share and available[topic] < share:
            _fill(cfg, topic, share - available[topic], status)


def _wait_ready(state: _Run, groups: list[str], status: StatusCallback) -> None:
    ready: set[int] = set()
    assigned: set[int] = set()
    consumers = state.role_workers("consume")
    deadline = time.monotonic() + READY_TIMEOUT_S
    if consumers:
        status(f"waiting for {len(consumers)} consumer(s) to join {', '.join(groups)}")
    while time.monotonic() < deadline:
        item = state.next_event(0.1)
        if item is not None:
            wid, msg = item
            if msg["t"] == "ready":
                ready.add(wid)
            elif msg["t"] == "assigned":
                assigned.add(wid)
            else:
                state.handle(wid, msg)
        if len(ready) < len(state.workers):
            continue
        if not consumers:
            return
        if len(assigned) >= len(consumers) and all(
            _group_stable(state.cfg, g, state.cfg.consumers) for g in groups
        ):
            return
    raise BenchError(
        f"workers not ready after {READY_TIMEOUT_S:.0f} s "
        f"({len(ready)} of {len(state.workers)} connected, "
        f"{len(assigned)} of {len(consumers)} consumers assigned)"
    )


def _group_stable(cfg: BenchConfig, group: str, members: int) -> bool:
    try:
        info = describe_group_raw(cfg.client.admin(), cfg.client, group)
    except OpsError:
        return False
    return info.state == "Stable" and len(info.members) == members


def _supervise(state: _Run) -> None:
    cfg = state.cfg
    producers_done_at: float | None = None
    stopped_consumers = False
    while True:
        item = state.next_event(0.05)
        if item is not None:
            state.handle(*item)
            while (item := state.next_event(0)) is not None:
                state.handle(*item)
        state.emit_finished_intervals()
        producing = state.running("produce")
        consuming = state.running("consume")
        if not producing and not consuming:
            return
        if not consuming or stopped_consumers:
            continue
        consumed = sum(state.progress.values())
        wanted = (cfg.records or 0) * cfg.subscriptions
        if cfg.mode == "consume" and cfg.records is not None and consumed >= wanted:
            stopped_consumers = True
        elif cfg.mode == "e2e" and not producing:
            if producers_done_at is None:
                producers_done_at = time.monotonic()
            acked = state.tallies["produce"].records * cfg.subscriptions
            if consumed >= acked or time.monotonic() - producers_done_at > E2E_DRAIN_S:
                stopped_consumers = True
        if stopped_consumers:
            for w in consuming:
                w.stop()


def _stop_all(state: _Run) -> None:
    """Stop every worker and collect its last reports (after Ctrl-C)."""
    for w in state.workers.values():
        w.stop()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while any(not w.done for w in state.workers.values()) and time.monotonic() < deadline:
        try:
            item = state.next_event(0.1)
            if item is not None:
                wid, msg = item
                if msg["t"] in ("iv", "done", "p"):
                    state.handle(wid, msg)
                elif msg["t"] in ("exit", "error"):
                    state.workers[wid].done = True
        except KeyboardInterrupt:
            break  # a second Ctrl-C: report what arrived so far


def _result(state: _Run) -> BenchResult:
    cfg = state.cfg
    role = "produce" if cfg.mode == "produce" else "consume"
    tally = state.tallies.get(role) or Tally(cfg.interval_s)
    ends = state.ends.get(role) or [time.monotonic()]
    duration = max(0.0, max(ends) - state.t0) if state.t0 else 0.0
    state.emit_finished_intervals(final=True, duration=duration)
    errors = sum(t.errors for t in state.tallies.values())
    last = max((max(t.intervals, default=-1) for t in state.tallies.values()), default=-1)
    produce = state.tallies.get("produce")
    return BenchResult(
        mode=cfg.mode,
        records=tally.records,
        errors=errors,
        duration_s=duration,
        bytes=tally.bytes,
        latency=hdr.summary_ms(tally.total),
        intervals=tally.all_stats(max(tally.intervals, default=-1), duration),
        produced=produce.records if (produce is not None and cfg.mode == "e2e") else None,
        produce_intervals=(
            produce.all_stats(last, duration) if (produce and cfg.mode == "e2e") else []
        ),
        error_messages=distinct(state.errors),
        interrupted=state.interrupted,
        histogram=tally.total,
    )
