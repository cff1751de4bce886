"""What a benchmark run does: :class:`BenchConfig`, checked by :meth:`BenchConfig.validate`.

Counts are totals over all worker processes: ``records=100_000`` with
``producers=4`` makes each producer send 25,000. ``rate`` is records per second
over all producers. ``duration_s`` replaces ``records`` (run for that long).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..ops.client import ClientConfig
from ..ops.errors import InvalidInputError

Mode = Literal["produce", "consume", "e2e"]
MODES: tuple[str, ...] = ("produce", "consume", "e2e")
COMPRESSIONS: tuple[str, ...] = ("none", "gzip", "snappy", "lz4", "zstd")
ACKS: tuple[str, ...] = ("0", "1", "all", "-1")
#: Records when neither ``records`` nor ``duration_s`` is given.
DEFAULT_RECORDS = 100_000
#: End-to-end records carry their send time (microseconds, 8 bytes) in the value.
E2E_HEADER_BYTES = 8


@dataclass
class BenchConfig:
    """Settings of one benchmark run.

    Attributes:
        mode: ``produce``, ``consume`` or ``e2e`` (producers and consumers together).
        topic: the topic; created (with ``partitions``) if missing. With ``topics``
            above 1, the name prefix of ``<topic>-0`` ... ``<topic>-<N-1>``.
        topics: how many topics; producers spread records over them, consumers
            subscribe to all of them.
        records: records to produce (produce, e2e) or consume (consume), in total.
        duration_s: run for this many seconds instead of a record count.
        record_size: bytes of each record's value.
        producers: producer processes.
        consumers: consumer processes per subscription.
        subscriptions: consumer groups reading every topic (OMB's
            ``subscriptionsPerTopic``); each record is consumed once per group.
        rate: records per second over all producers; ``None`` for as fast as possible.
        batch_size: librdkafka ``batch.size`` (bytes); ``None`` keeps the client's.
        linger_ms: librdkafka ``linger.ms``; ``None`` keeps the client's (5 ms).
        acks: ``0``, ``1`` or ``all``.
        compression: ``none``, ``gzip``, ``snappy``, ``lz4`` or ``zstd``.
        keys: give records keys, cycling through this many distinct keys (so they
            spread over partitions by hash); ``None`` sends no keys.
        partitions: partitions of the topic when it is created.
        replication_factor: of the topic when it is created (-1: the broker's default).
        group: the consumers' group id; ``None`` makes a new one per run.
        interval_s: length of the intervals that the live view and ``intervals`` report.
        client: where the cluster is (bootstrap servers, client properties).
        producer_properties: extra librdkafka producer properties.
        consumer_properties: extra librdkafka consumer properties.
    """

    mode: Mode = "produce"
    topic: str = "streamtest-bench"
    topics: int = 1
    records: int | None = None
    duration_s: float | None = None
    record_size: int = 1024
    producers: int = 1
    consumers: int = 1
    subscriptions: int = 1
    rate: float | None = None
    batch_size: int | None = None
    linger_ms: float | None = None
    acks: str = "all"
    compression: str = "none"
    keys: int | None = None
    partitions: int = 1
    replication_factor: int = -1
    group: str | None = None
    interval_s: float = 1.0
    client: ClientConfig = field(default_factory=ClientConfig)
    producer_properties: Mapping[str, str] = field(default_factory=dict)
    consumer_properties: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> BenchConfig:
        """Return a checked copy with defaults filled in (``records`` when neither
        ``records`` nor ``duration_s`` is set).

        Raises:
            InvalidInputError: a value is out of range or two settings conflict; the
                message is one line naming the setting.
        """
        c = dataclasses.replace(self)
        if c.mode not in MODES:
            raise InvalidInputError(f"mode must be one of {', '.join(MODES)}, not {c.mode!r}")
        if not c.topic:
            raise InvalidInputError("topic must not be empty")
        if c.records is not None and c.duration_s is not None:
            raise InvalidInputError("give records or duration, not both")
        if c.records is None and c.duration_s is None:
            c.records = DEFAULT_RECORDS
        _at_least("records", c.records, 1)
        if c.duration_s is not None and not c.duration_s > 0:
            raise InvalidInputError(f"duration must be more than 0 seconds, not {c.duration_s}")
        minimum = E2E_HEADER_BYTES if c.mode == "e2e" else 0
        _at_least("record size", c.record_size, minimum)
        if c.record_size > 100 * 1024 * 1024:
            raise InvalidInputError(f"record size {c.record_size} is over 100 MiB")
        # produce runs have no consumers and consume runs no producers (validate
        # sets them to 0, and must accept its own output).
        _at_least("producers", c.producers, 0 if c.mode == "consume" else 1)
        _at_least("consumers", c.consumers, 0 if c.mode == "produce" else 1)
        _at_most("producers", c.producers, 256)
        _at_most("consumers", c.consumers, 256)
        _at_least("topics", c.topics, 1)
        _at_most("topics", c.topics, 1000)
        _at_least("subscriptions", c.subscriptions, 1)
        _at_most("subscriptions", c.subscriptions, 16)
        if c.rate is not None and not c.rate > 0:
            raise InvalidInputError(f"rate must be more than 0 records/s, not {c.rate}")
        _at_least("batch size", c.batch_size, 1)
        if c.linger_ms is not None and not 0 <= c.linger_ms <= 900_000:
            raise InvalidInputError(f"linger must be 0 to 900000 ms, not {c.linger_ms}")
        c.acks = str(c.acks).lower()
        if c.acks not in ACKS:
            raise InvalidInputError(f"acks must be 0, 1 or all, not {c.acks!r}")
        if c.acks == "-1":
            c.acks = "all"
        c.compression = str(c.compression).lower()
        if c.compression not in COMPRESSIONS:
            raise InvalidInputError(
                f"compression must be one of {', '.join(COMPRESSIONS)}, not {c.compression!r}"
            )
        _at_least("keys", c.keys, 1)
        _at_least("partitions", c.partitions, 1)
        if c.replication_factor == 0 or c.replication_factor < -1:
            raise InvalidInputError(
                f"replication factor must be -1 (broker default) or at least 1, "
                f"not {c.replication_factor}"
            )
        if not 0.1 <= c.interval_s <= 60:
            raise InvalidInputError(f"interval must be 0.1 to 60 seconds, not {c.interval_s}")
        if c.mode == "produce":
            c.consumers = 0
            c.subscriptions = 1
        if c.mode == "consume":
            c.producers = 0
        return c

    @property
    def topic_names(self) -> list[str]:
        """Return the names of the run's topics."""
        if self.topics == 1:
            return [self.topic]
        return [f"{self.topic}-{i}" for i in range(self.topics)]

    def producer_conf(self) -> dict[str, Any]:
        """Return the librdkafka producer properties for this run."""
        conf: dict[str, Any] = {"acks": self.acks, "compression.type": self.compression}
        if self.batch_size is not None:
            conf["batch.size"] = self.batch_size
        if self.linger_ms is not None:
            conf["linger.ms"] = self.linger_ms
        conf.update(self.producer_properties)
        return conf

    def consumer_conf(self) -> dict[str, Any]:
        """Return the librdkafka consumer properties for this run.

        ``fetch.queue.backoff.ms`` is lowered from librdkafka's 1000 ms: once the
        local queue passes ``queued.min.messages`` the client pauses fetching for
        that long, and whether a pause landed in the measurement swung consume
        throughput 4x between identical runs. ``consumer_properties`` override it.
        """
        conf: dict[str, Any] = {"fetch.queue.backoff.ms": 10}
        conf.update(self.consumer_properties)
        return conf


def _at_least(name: str, value: int | None, low: int) -> None:
    if value is not None and value < low:
        raise InvalidInputError(f"{name} must be at least {low}, not {value}")


def _at_most(name: str, value: int | None, high: int) -> None:
    if value is not None and value > high:
        raise InvalidInputError(f"{name} must be at most {high}, not {value}")
