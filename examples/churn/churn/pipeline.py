"""The churn pipeline: consume customer records, score them, produce predictions,
dead-letter what cannot be scored, and upsert predictions into SQLite.

Work goes in batches of at most ``batch_size`` records (``consume(num_messages=...)``
never returns more, and librdkafka's prefetch queue is capped), so memory stays
flat however large the backlog. For each batch:

at-least-once (the default)
    1. produce every output (prediction or dead letter) and wait until the broker
       has acknowledged all of them;
    2. upsert the predictions into SQLite in one transaction;
    3. commit the batch's offsets (synchronously).
    A crash anywhere before 3 replays the batch: outputs may be duplicated in the
    topics, but nothing is lost, and the sink's version rule makes the replayed
    upserts no-ops, so the database never holds duplicates.

``exactly_once``
    1. begin a transaction and produce every output into it;
    2. upsert the predictions into SQLite;
    3. add the batch's offsets to the transaction and commit it.
    A crash before 3 leaves the transaction open; the restarted pipeline (same
    ``transactional.id``) aborts it, so ``read_committed`` readers of the output
    topics see every record exactly once. The sink is written before the Kafka
    commit on purpose: replays are harmless to it, while the opposite order could
    lose a batch that Kafka committed but SQLite never received.

Restarts are fast because the pipeline can be a static group member
(``instance_id``): a restarted instance takes its old assignment over at once
instead of waiting for the dead member's session to time out.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from .metrics import PipelineMetrics
from .model import InvalidRecord, parse_customer, predict
from .sink import PredictionStore, SinkRow
from .topics import Topics, create_topics

log = logging.getLogger("churn.pipeline")

#: Headers a dead letter carries, naming where the original record was.
HEADER_SOURCE_TOPIC = "source.topic"
HEADER_SOURCE_PARTITION = "source.partition"
HEADER_SOURCE_OFFSET = "source.offset"
HEADER_ERROR_TYPE = "error.type"


@dataclass
class PipelineConfig:
    """Everything the pipeline needs to run.

    Attributes:
        bootstrap_servers: ``host:port[,...]`` of the Kafka cluster.
        topics: input, output and dead-letter topic names.
        group_id: the consumer group.
        db_path: the SQLite sink.
        batch_size: most records processed (and held in memory) at once.
        exactly_once: use transactions instead of at-least-once commits.
        instance_id: static group membership id (``group.instance.id``); also
            names the default transactional id, so keep it stable across restarts.
        transactional_id: overrides the default ``<group_id>-<instance_id or host>``.
        metrics_port: port for ``/metrics`` (0 picks one; ``None`` serves nothing).
        metrics_host: interface for ``/metrics``.
        max_messages: stop (after committing) once this many records are processed.
        start_paused: join the group and report lag, but process nothing until
            :meth:`ChurnPipeline.resume` (SIGUSR1 from the command line).
        hang_before_commit: fault injection: after the N-th batch's outputs are
            produced and the sink is written, stop before committing, until the
            process is killed. Lets a test kill the pipeline at the worst moment
            deterministically instead of racing it.
        create_topics: create missing topics at start-up.
        poll_timeout: seconds one ``consume`` call waits for records.
        lag_refresh_interval: seconds between lag refreshes while idle.
        client_config: extra librdkafka settings for every client (security...).
    """

    bootstrap_servers: str
    topics: Topics = field(default_factory=Topics)
    group_id: str = "churn-pipeline"
    db_path: Path = Path("churn.db")
    batch_size: int = 100
    exactly_once: bool = False
    instance_id: str | None = None
    transactional_id: str | None = None
    metrics_port: int | None = 8000
    metrics_host: str = "127.0.0.1"
    max_messages: int | None = None
    start_paused: bool = False
    hang_before_commit: int | None = None
    create_topics: bool = False
    poll_timeout: float = 0.1
    lag_refresh_interval: float = 0.25
    client_config: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError(f"batch_size must be 1..10000, not {self.batch_size}")
        if self.max_messages is not None and self.max_messages < 0:
            raise ValueError(f"max_messages must be >= 0, not {self.max_messages}")

    @property
    def effective_transactional_id(self) -> str:
        """Return the transactional id used with ``exactly_once``."""
        if self.transactional_id:
            return self.transactional_id
        return f"{self.group_id}-{self.instance_id or socket.gethostname()}"


@dataclass(slots=True)
class Outcome:
    """What one input record becomes: a record to produce, and maybe a sink row."""

    status: str  # "success" or "deadletter"
    event_id: str
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    row: SinkRow | None = None
    error_type: str | None = None


def _event_id(raw: bytes | None, topic: str, partition: int, offset: int) -> str:
    """Return the record's ``event_id`` if its value carries one, else its coordinates."""
    try:
        data = json.loads(raw) if raw is not None else None
        if isinstance(data, dict) and isinstance(data.get("event_id"), str):
            return str(data["event_id"])
    except (ValueError, UnicodeDecodeError):
        pass
    return f"{topic}:{partition}:{offset}"


def _original_text(raw: bytes | None) -> tuple[str | None, str]:
    """Return the original value as text and its encoding (``utf-8`` or ``base64``)."""
    if raw is None:
        return None, "null"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def transform(
    value: bytes | None,
    key: bytes | None,
    source: tuple[str, int, int],
    topics: Topics,
    now: datetime,
) -> Outcome:
    """Return what the input record ``value`` at ``source`` (topic, partition, offset)
    becomes: a prediction for ``topics.output`` with its sink row, or a dead letter
    for ``topics.deadletter``. Never raises for bad input: that is what dead letters
    are for."""
    topic, partition, offset = source
    processed_at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    try:
        customer = parse_customer(value)
    except InvalidRecord as exc:
        original, encoding = _original_text(value)
        event_id = _event_id(value, topic, partition, offset)
        dead = {
            "error_type": exc.error_type,
            "error_message": str(exc),
            "error_field": exc.field,
            "original_message": original,
            "original_encoding": encoding,
            "original_key": _original_text(key)[0],
            "event_id": event_id,
            "source_topic": topic,
            "source_partition": partition,
            "source_offset": offset,
            "failed_at": processed_at,
        }
        headers = [
            (HEADER_SOURCE_TOPIC, topic.encode()),
            (HEADER_SOURCE_PARTITION, str(partition).encode()),
            (HEADER_SOURCE_OFFSET, str(offset).encode()),
            (HEADER_ERROR_TYPE, exc.error_type.encode()),
        ]
        return Outcome(
            "deadletter",
            event_id,
            topics.deadletter,
            key,
            json.dumps(dead, separators=(",", ":")).encode(),
            headers,
            error_type=exc.error_type,
        )
    result = predict(customer)
    event_id = customer.event_id or f"{topic}:{partition}:{offset}"
    out = {
        "customer_id": result.customer_id,
        "churn_probability": result.churn_probability,
        "prediction": result.prediction,
        "model_version": result.model_version,
        "processed_at": processed_at,
        "version": result.version,
        "event_id": event_id,
    }
    row = SinkRow(
        result.customer_id,
        result.version,
        result.churn_probability,
        result.prediction,
        result.model_version,
        processed_at,
        event_id,
        partition,
        offset,
    )
    # Keyed by customer, so every prediction for a customer lands in one output
    # partition, in the order its inputs were read: per-key order is preserved.
    return Outcome(
        "success",
        event_id,
        topics.output,
        result.customer_id.encode(),
        json.dumps(out, separators=(",", ":")).encode(),
        [],
        row,
    )


class DeliveryFailed(RuntimeError):
    """The broker did not acknowledge every output of a batch; nothing was committed."""


class ChurnPipeline:
    """The running pipeline. Call :meth:`run` (it blocks); stop it from another
    thread or a signal handler with :meth:`stop`.

    Args:
        config: the settings.
    """

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.metrics = PipelineMetrics()
        self.metrics_port: int | None = None
        self.processed = 0
        self.batches = 0
        # Plain flags, not locks: they are set from signal handlers, which must not
        # block on a lock the interrupted main thread may hold.
        self._stop = False
        self._paused = config.start_paused
        self._resume_requested = False
        self._wakeup = threading.Event()
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._sink: PredictionStore | None = None
        self._assigned: set[tuple[str, int]] = set()
        # Next offset to process per partition: what the group has committed.
        self._committed: dict[tuple[str, int], int] = {}
        self._last_lag_refresh = 0.0

    # -- control ---------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the pipeline to finish its current batch, commit it and return from
        :meth:`run`. Safe to call from a signal handler."""
        self._stop = True

    def resume(self) -> None:
        """Start processing, if the pipeline was started paused. Signal-safe."""
        self._resume_requested = True

    # -- lifecycle -------------------------------------------------------------------

    def run(self) -> None:
        """Process records until :meth:`stop` or ``max_messages``; then shut down cleanly.

        Raises:
            DeliveryFailed: outputs were not acknowledged (nothing was committed).
            confluent_kafka.KafkaException: a fatal client error (e.g. fenced).
            sqlite3.Error: the sink failed (nothing was committed).
        """
        cfg = self.config
        try:
            self._start()
            while not self._stop:
                if self._resume_requested and self._paused:
                    self._paused = False
                    assert self._consumer is not None
                    self._consumer.resume(self._consumer.assignment())
                    log.info("resumed")
                wanted = cfg.batch_size
                if cfg.max_messages is not None:
                    wanted = min(wanted, cfg.max_messages - self.processed)
                    if wanted <= 0:
                        log.info("max messages reached", extra={"processed": self.processed})
                        break
                batch = self._poll(wanted)
                if batch:
                    self._process(batch)
                    self._refresh_lag(remote=False)
                elif time.monotonic() - self._last_lag_refresh >= cfg.lag_refresh_interval:
                    self._refresh_lag(remote=True)
        finally:
            self._shutdown()

    def _start(self) -> None:
        cfg = self.config
        if cfg.create_topics:
            admin = AdminClient({"bootstrap.servers": cfg.bootstrap_servers, **cfg.client_config})
            created = create_topics(admin, cfg.topics)
            if created:
                log.info("topics created", extra={"topics": created})
        self._sink = PredictionStore(cfg.db_path)
        self._producer = Producer(self._producer_config())
        # An idempotent producer asks for its producer id once a broker connection is
        # up; created cold, librdkafka retries that on a 500 ms timer, which the first
        # batch would wait out. A metadata request brings the connection up now.
        self._producer.list_topics(cfg.topics.output, timeout=30)
        if cfg.exactly_once:
            # Fences any earlier instance with this transactional id and aborts the
            # transaction it left open (a crash mid-batch).
            self._producer.init_transactions(30)
        self._consumer = Consumer(self._consumer_config())
        self._consumer.subscribe(
            [cfg.topics.input],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )
        if cfg.metrics_port is not None:
            self.metrics_port = self.metrics.serve(cfg.metrics_port, cfg.metrics_host)
        log.info(
            "pipeline started",
            extra={
                "metrics_port": self.metrics_port,
                "group_id": cfg.group_id,
                "input_topic": cfg.topics.input,
                "mode": "exactly-once" if cfg.exactly_once else "at-least-once",
                "batch_size": cfg.batch_size,
                "paused": self._paused,
            },
        )

    def _consumer_config(self) -> dict[str, Any]:
        cfg = self.config
        conf: dict[str, Any] = {
            "bootstrap.servers": cfg.bootstrap_servers,
            "group.id": cfg.group_id,
            "auto.offset.reset": "earliest",
            # Offsets are committed by hand, after outputs and sink are durable.
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            # Never process records of a transaction that may still abort.
            "isolation.level": "read_committed",
            # Cap librdkafka's prefetch (64 MB by default) so a large backlog cannot
            # balloon the process: backpressure reaches the broker instead.
            "queued.max.messages.kbytes": 2048,
            "queued.min.messages": 1000,
            # A partition that is newly assigned, resumed or rewound joins the fetch
            # only after the long poll in flight returns: 100 ms instead of the
            # default 500 keeps restarts and resumes prompt, at the cost of ten
            # empty fetches a second when idle.
            "fetch.wait.max.ms": 100,
        }
        if cfg.instance_id:
            conf["group.instance.id"] = cfg.instance_id
        conf.update(cfg.client_config)
        return conf

    def _producer_config(self) -> dict[str, Any]:
        cfg = self.config
        conf: dict[str, Any] = {
            "bootstrap.servers": cfg.bootstrap_servers,
            # Idempotence keeps per-partition order and avoids duplicates on retries;
            # acks=all comes with it.
            "enable.idempotence": True,
            "linger.ms": 2,
        }
        if cfg.exactly_once:
            conf["transactional.id"] = cfg.effective_transactional_id
        conf.update(cfg.client_config)
        return conf

    def _shutdown(self) -> None:
        consumer, self._consumer = self._consumer, None
        producer, self._producer = self._producer, None
        if consumer is not None:
            # Leaves the group (a dynamic member) so the partitions move at once.
            consumer.close()
        if producer is not None:
            producer.flush(10)
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        self.metrics.close()
        log.info("pipeline stopped", extra={"processed": self.processed, "batches": self.batches})

    # -- rebalance callbacks ---------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Assign here ourselves so that a paused pipeline can pause the partitions
        # before the first fetch returns anything.
        consumer.assign(partitions)
        if self._paused:
            consumer.pause(partitions)
        for tp in partitions:
            self._assigned.add((tp.topic, tp.partition))
        self._last_lag_refresh = 0.0  # report the new partitions' lag promptly
        log.info("partitions assigned", extra={"partitions": sorted(p for _, p in self._assigned)})

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Batches are committed before the next consume(), where callbacks run, so
        # nothing is in flight here.
        for tp in partitions:
            key = (tp.topic, tp.partition)
            self._assigned.discard(key)
            self._committed.pop(key, None)
            self.metrics.forget_lag(tp.topic, tp.partition)
        log.info(
            "partitions revoked", extra={"partitions": sorted(tp.partition for tp in partitions)}
        )

    # -- the batch -------------------------------------------------------------------

    def _poll(self, wanted: int) -> list[Message]:
        """Return up to ``wanted`` records: what is queued now, or else the first to
        arrive within ``poll_timeout`` plus whatever came with it.

        ``consume(n, timeout)`` alone would wait out the whole timeout for a partial
        batch; this takes what is there, so a trickle is processed at once and a
        backlog still goes in full batches.
        """
        consumer = self._consumer
        assert consumer is not None
        msgs = consumer.consume(num_messages=wanted, timeout=0)
        if not msgs:
            first = consumer.poll(self.config.poll_timeout)
            if first is None:
                return []
            msgs = [first]
            if wanted > 1:
                msgs += consumer.consume(num_messages=wanted - 1, timeout=0)
        out = []
        for msg in msgs:
            err = msg.error()
            if err is None:
                out.append(msg)
            elif err.fatal():
                raise KafkaException(err)
            else:
                log.warning("consumer error", extra={"error": err.str()})
        return out

    def _process(self, batch: Sequence[Message]) -> None:
        cfg = self.config
        assert self._producer is not None and self._sink is not None
        taken_at = time.perf_counter()
        now = datetime.now(UTC)
        outcomes = [
            transform(m.value(), m.key(), (m.topic(), m.partition(), m.offset()), cfg.topics, now)
            for m in batch
        ]
        # Offsets to commit (next to read) and to rewind to (first of the batch).
        commit: dict[tuple[str, int], int] = {}
        first: dict[tuple[str, int], int] = {}
        for m in batch:
            key = (m.topic(), m.partition())
            commit[key] = max(commit.get(key, 0), m.offset() + 1)
            first[key] = min(first.get(key, m.offset()), m.offset())
        self.batches += 1
        if cfg.exactly_once:
            self._producer.begin_transaction()
        self._produce(outcomes)
        rows = [o.row for o in outcomes if o.row is not None]
        applied = self._sink.upsert(rows)
        if cfg.hang_before_commit is not None and self.batches == cfg.hang_before_commit:
            self._hang(len(batch), len(rows))
        offsets = [TopicPartition(t, p, o) for (t, p), o in commit.items()]
        if cfg.exactly_once:
            if not self._commit_transaction(offsets, first):
                return
        else:
            self._commit(offsets)
        acked = time.perf_counter()
        self._committed.update(commit)
        self.processed += len(batch)
        m = self.metrics
        m.batch_size.observe(len(batch))
        m.upserts.labels(result="applied").inc(applied)
        m.upserts.labels(result="stale").inc(len(rows) - applied)
        dead = sum(o.status == "deadletter" for o in outcomes)
        m.processed.labels(status="success").inc(len(outcomes) - dead)
        m.processed.labels(status="deadletter").inc(dead)
        latency = acked - taken_at  # the same for every record of the batch
        for o in outcomes:
            m.latency.observe(latency)
            if o.status == "deadletter":
                log.warning(
                    "dead-lettered",
                    extra={
                        "event_id": o.event_id,
                        "error_type": o.error_type,
                        "deadletter_topic": o.topic,
                    },
                )
            else:
                log.debug("predicted", extra={"event_id": o.event_id})
        log.info(
            "batch committed",
            extra={
                "batch": self.batches,
                "records": len(batch),
                "sink_applied": applied,
                "first_event_id": outcomes[0].event_id,
                "last_event_id": outcomes[-1].event_id,
                "offsets": {f"{t}:{p}": o for (t, p), o in commit.items()},
            },
        )

    def _produce(self, outcomes: Sequence[Outcome]) -> None:
        """Produce every outcome and wait until all are acknowledged.

        Raises:
            DeliveryFailed: an output was refused, or not acknowledged within 30 s.
        """
        producer = self._producer
        assert producer is not None
        errors: list[KafkaError] = []

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                errors.append(err)

        for o in outcomes:
            while True:
                try:
                    producer.produce(
                        o.topic, o.value, o.key, headers=o.headers or None, on_delivery=on_delivery
                    )
                    break
                except BufferError:
                    producer.poll(0.05)  # the local queue is full: let deliveries drain
        remaining = producer.flush(30)
        if errors or remaining:
            raise DeliveryFailed(
                f"{len(errors)} outputs refused ({errors[0].str() if errors else ''}), "
                f"{remaining} unacknowledged; the batch was not committed"
            )

    def _commit(self, offsets: list[TopicPartition]) -> None:
        assert self._consumer is not None
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # Typically a rebalance took the partitions away: their new owner
            # reprocesses the batch, which at-least-once allows.
            log.warning("offset commit failed", extra={"error": str(exc)})

    def _commit_transaction(
        self, offsets: list[TopicPartition], first: dict[tuple[str, int], int]
    ) -> bool:
        """Add ``offsets`` to the open transaction and commit it; return whether it
        committed. On an abortable error, abort and rewind to the batch's first
        offsets so the batch is processed again.

        Raises:
            confluent_kafka.KafkaException: a fatal error (e.g. this instance was fenced).
        """
        producer, consumer = self._producer, self._consumer
        assert producer is not None and consumer is not None
        try:
            producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(30)
            return True
        except KafkaException as exc:
            err = exc.args[0]
            if not (isinstance(err, KafkaError) and err.txn_requires_abort()):
                raise
            log.warning("transaction aborted; reprocessing the batch", extra={"error": str(exc)})
            producer.abort_transaction(30)
            for (t, p), o in first.items():
                consumer.seek(TopicPartition(t, p, o))
            return False

    def _hang(self, records: int, rows: int) -> None:
        log.warning(
            "fault injection: hanging before commit",
            extra={
                "batch": self.batches,
                "batch_records": records,
                "batch_sink_rows": rows,
                "committed_records": self.processed,
            },
        )
        # Wait for the kill the test is about to send; a stop request ends the process
        # without committing, which is what a crash here would do.
        while not self._stop:
            self._wakeup.wait(0.1)
        raise RuntimeError("stopped while hung by --hang-before-commit; batch not committed")

    # -- lag -------------------------------------------------------------------------

    def _refresh_lag(self, remote: bool) -> None:
        """Update the lag gauge of every assigned partition.

        ``remote`` asks the broker for the log end offsets (while idle or paused);
        otherwise the end offsets librdkafka learnt from the last fetches are used.
        """
        consumer = self._consumer
        assert consumer is not None
        self._last_lag_refresh = time.monotonic()
        unknown = [TopicPartition(t, p) for t, p in self._assigned if (t, p) not in self._committed]
        try:
            if unknown:
                for tp in consumer.committed(unknown, timeout=5):
                    offset = tp.offset
                    if offset < 0:  # nothing committed: we start from the log start
                        offset, _ = consumer.get_watermark_offsets(tp, timeout=5, cached=False)
                    self._committed[(tp.topic, tp.partition)] = offset
            for t, p in sorted(self._assigned):
                tp = TopicPartition(t, p)
                _, high = consumer.get_watermark_offsets(tp, timeout=5, cached=not remote)
                if high < 0:  # not cached yet
                    _, high = consumer.get_watermark_offsets(tp, timeout=5, cached=False)
                committed = self._committed.get((t, p))
                if committed is not None and high >= 0:
                    self.metrics.set_lag(t, p, max(0, high - committed))
        except KafkaException as exc:
            log.warning("lag refresh failed", extra={"error": str(exc)})
