"""A consumer-lag exporter for any Kafka: kafka_exporter's metrics plus Burrow's status.

:class:`LagExporter` polls the cluster every ``interval`` seconds through
confluent-kafka's AdminClient (metadata, ListOffsets, DescribeGroups, OffsetFetch)
and serves the last poll at ``/metrics`` in the Prometheus format, with the names
and labels of kafka_exporter (danielqsj/kafka_exporter), so dashboards and alerts
written for it work unchanged:

* ``kafka_brokers``
* ``kafka_topic_partitions{topic}``
* ``kafka_topic_partition_current_offset{topic,partition}`` (log end offset)
* ``kafka_topic_partition_oldest_offset{topic,partition}`` (log start offset)
* ``kafka_consumergroup_current_offset{consumergroup,topic,partition}`` (-1: no commit)
* ``kafka_consumergroup_current_offset_sum{consumergroup,topic}``
* ``kafka_consumergroup_lag{consumergroup,topic,partition}`` (-1: no commit)
* ``kafka_consumergroup_lag_sum{consumergroup,topic}`` (partitions with a commit)
* ``kafka_consumergroup_members{consumergroup}``

and Burrow-style status (:mod:`.lag_status`), as gauges of Burrow's status codes:

* ``kafka_consumergroup_partition_status{consumergroup,topic,partition}``
* ``kafka_consumergroup_status{consumergroup}``

plus the exporter's own health: ``streamtest_lag_exporter_polls_total``,
``streamtest_lag_exporter_poll_errors_total`` and
``streamtest_lag_exporter_last_poll_timestamp_seconds``.

A group's partitions are those it has committed offsets for and those assigned to
its members. Without ``groups``, every group in the cluster is watched (as
kafka_exporter does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import OffsetSpec
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .client import ClientConfig, check_reachable, kafka_error_message
from .errors import OpsError
from .groups import committed_offsets, describe_group_raw, list_groups, list_offsets
from .lag_status import OffsetSample, PartitionWindow, Status, group_status, partition_status
from .plan import TP

#: Burrow's default window: the last 10 offsets.
DEFAULT_WINDOW = 10


@dataclass(frozen=True)
class PartitionView:
    """One group partition in one poll."""

    tp: TP
    committed: int | None
    log_end_offset: int
    owned: bool
    status: Status

    @property
    def lag(self) -> int | None:
        """Return ``log end - committed`` (never negative), or ``None`` with no commit."""
        return None if self.committed is None else max(0, self.log_end_offset - self.committed)


@dataclass(frozen=True)
class GroupView:
    """One group in one poll: its state, members and partitions."""

    group: str
    state: str
    members: int
    partitions: list[PartitionView]

    @property
    def status(self) -> Status:
        """Return the group's Burrow status (NOTFOUND for a group that does not exist)."""
        if self.state == "Dead" and not self.partitions:
            return Status.NOTFOUND
        return group_status(p.status for p in self.partitions)

    @property
    def total_lag(self) -> int:
        """Return the summed lag of the partitions with a commit."""
        return sum(p.lag or 0 for p in self.partitions)


@dataclass(frozen=True)
class LagPoll:
    """Everything one poll saw."""

    at: float
    brokers: int
    partitions: dict[TP, tuple[int, int]]  # tp -> (log start, log end)
    groups: list[GroupView]


@dataclass
class LagMonitor:
    """Polls the cluster and keeps the sliding windows (no HTTP; see :class:`LagExporter`).

    Args:
        config: the cluster.
        groups: the groups to watch; ``None`` or empty watches every group.
        window: samples per partition window (Burrow's ``intervals``, 10).
    """

    config: ClientConfig
    groups: list[str] | None = None
    window: int = DEFAULT_WINDOW
    windows: dict[tuple[str, TP], PartitionWindow] = field(default_factory=dict)

    def poll(self) -> LagPoll:
        """Look at the cluster once, update the windows and return what was seen.

        Raises:
            BrokerUnreachableError: the cluster cannot be reached.
            OpsError: a request failed.
        """
        config = self.config
        check_reachable(config)
        admin = config.admin()
        try:
            md = admin.list_topics(timeout=config.timeout)
        except KafkaException as exc:
            raise OpsError(f"no metadata: {kafka_error_message(exc)}") from None
        counts = {n: len(t.partitions) for n, t in md.topics.items() if t.error is None}
        names = list(self.groups) if self.groups else [g.group_id for g in list_groups(config)]
        per_group: list[tuple[str, Any, dict[TP, int], set[TP]]] = []
        wanted: set[TP] = {
            TP(t, p) for t, n in counts.items() if not t.startswith("__") for p in range(n)
        }
        for name in names:
            info = describe_group_raw(admin, config, name)
            committed = committed_offsets(admin, config, name)
            owned = {tp for m in info.members for tp in m.assignment}
            tps = {tp for tp in set(committed) | owned if tp.topic in counts}
            wanted |= tps
            per_group.append((name, info, committed, owned))
        ends = list_offsets(admin, config, {tp: OffsetSpec.latest() for tp in wanted})
        starts = list_offsets(admin, config, {tp: OffsetSpec.earliest() for tp in wanted})
        now = time.time()
        partitions = {tp: (starts[tp][0], ends[tp][0]) for tp in sorted(wanted)}
        views = []
        for name, info, committed, owned in per_group:
            tps = sorted({tp for tp in set(committed) | owned if tp in partitions})
            parts = []
            for tp in tps:
                end = partitions[tp][1]
                offset = committed.get(tp)
                lag = None if offset is None else max(0, end - offset)
                window = self.windows.setdefault((name, tp), PartitionWindow(self.window))
                if offset is not None and lag is not None:
                    window.add(OffsetSample(now, offset, lag))
                status = partition_status(list(window.samples), lag, tp in owned)
                parts.append(PartitionView(tp, offset, end, tp in owned, status))
            views.append(GroupView(name, info.state, len(info.members), parts))
        return LagPoll(now, len(md.brokers), partitions, views)


class LagExporter:
    """Serves the :class:`LagMonitor`'s last poll at ``/metrics``, polling in a thread.

    Args:
        monitor: what to poll.
        interval: seconds between polls.
    """

    def __init__(self, monitor: LagMonitor, interval: float = 10.0) -> None:
        self.monitor = monitor
        self.interval = interval
        self.registry = CollectorRegistry(auto_describe=True)
        self.last: LagPoll | None = None
        self.polls = 0
        self.errors = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self.port = 0
        self.registry.register(_LagCollector(self))

    def poll_once(self) -> LagPoll | None:
        """Poll now; keep the result (or count the error); return the result."""
        try:
            result = self.monitor.poll()
        except OpsError as exc:
            with self._lock:
                self.polls += 1
                self.errors += 1
                self.last_error = str(exc)
            return None
        with self._lock:
            self.polls += 1
            self.last = result
            self.last_error = None
        return result

    def _loop(self) -> None:
        # start() has just polled: wait an interval before the next look.
        while not self._stop.wait(self.interval):
            self.poll_once()

    def start(self, port: int = 0, host: str = "127.0.0.1") -> int:
        """Poll once, then serve ``/metrics`` and keep polling; return the bound port.

        Raises:
            OSError: the port cannot be bound.
        """
        self.poll_once()
        # prometheus_client's own server: threaded, quiet, in a daemon thread.
        self._server, self._server_thread = start_http_server(port, host, self.registry)
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(target=self._loop, name="lag-exporter-poll", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        """Stop polling and serving."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for t in (self._thread, self._server_thread):
            if t is not None:
                t.join(timeout=self.monitor.config.timeout + 5)

    def snapshot(self) -> tuple[LagPoll | None, int, int]:
        """Return the last poll, the number of polls and of failed polls."""
        with self._lock:
            return self.last, self.polls, self.errors


class _LagCollector(Collector):
    def __init__(self, exporter: LagExporter) -> None:
        self.exporter = exporter

    def describe(self) -> Iterator[Any]:
        yield from families(None, 0, 0)

    def collect(self) -> Iterator[Any]:
        yield from families(*self.exporter.snapshot())


def families(poll: LagPoll | None, polls: int, errors: int) -> Iterable[Any]:
    """Return the metric families of one poll (kafka_exporter's names, Burrow's codes)."""
    g = GaugeMetricFamily
    brokers = g("kafka_brokers", "Number of brokers in the Kafka cluster.")
    topic_parts = g("kafka_topic_partitions", "Number of partitions of a topic.", labels=["topic"])
    current = g(
        "kafka_topic_partition_current_offset",
        "Current offset (log end offset) of a partition.",
        labels=["topic", "partition"],
    )
    oldest = g(
        "kafka_topic_partition_oldest_offset",
        "Oldest offset (log start offset) of a partition.",
        labels=["topic", "partition"],
    )
    g_offset = g(
        "kafka_consumergroup_current_offset",
        "Committed offset of a consumer group in a partition (-1: none).",
        labels=["consumergroup", "topic", "partition"],
    )
    g_offset_sum = g(
        "kafka_consumergroup_current_offset_sum",
        "Committed offsets of a consumer group summed over a topic.",
        labels=["consumergroup", "topic"],
    )
    g_lag = g(
        "kafka_consumergroup_lag",
        "Lag of a consumer group in a partition: log end minus committed offset (-1: no commit).",
        labels=["consumergroup", "topic", "partition"],
    )
    g_lag_sum = g(
        "kafka_consumergroup_lag_sum",
        "Lag of a consumer group summed over a topic (partitions with a commit).",
        labels=["consumergroup", "topic"],
    )
    members = g(
        "kafka_consumergroup_members", "Members of a consumer group.", labels=["consumergroup"]
    )
    p_status = g(
        "kafka_consumergroup_partition_status",
        "Burrow status of a group partition: 1 OK, 2 WARN, 4 STOP, 5 STALL, 6 REWIND.",
        labels=["consumergroup", "topic", "partition"],
    )
    status = g(
        "kafka_consumergroup_status",
        "Burrow status of a group: 0 NOTFOUND, 1 OK, 2 WARN, 3 ERR.",
        labels=["consumergroup"],
    )
    last = g(
        "streamtest_lag_exporter_last_poll_timestamp_seconds",
        "Unix time of the last successful poll.",
    )
    polls_total = CounterMetricFamily(
        "streamtest_lag_exporter_polls", "Polls of the cluster, successful or not."
    )
    errors_total = CounterMetricFamily(
        "streamtest_lag_exporter_poll_errors", "Polls that failed (the last good poll is served)."
    )
    polls_total.add_metric([], polls)
    errors_total.add_metric([], errors)
    if poll is not None:
        brokers.add_metric([], poll.brokers)
        last.add_metric([], poll.at)
        per_topic: dict[str, int] = {}
        for tp, (start, end) in poll.partitions.items():
            labels = [tp.topic, str(tp.partition)]
            current.add_metric(labels, end)
            oldest.add_metric(labels, start)
            per_topic[tp.topic] = per_topic.get(tp.topic, 0) + 1
        for topic, n in sorted(per_topic.items()):
            topic_parts.add_metric([topic], n)
        for view in poll.groups:
            members.add_metric([view.group], view.members)
            status.add_metric([view.group], int(view.status))
            offset_sums: dict[str, int] = {}
            lag_sums: dict[str, int] = {}
            for p in view.partitions:
                labels = [view.group, p.tp.topic, str(p.tp.partition)]
                g_offset.add_metric(labels, -1 if p.committed is None else p.committed)
                g_lag.add_metric(labels, -1 if p.lag is None else p.lag)
                p_status.add_metric(labels, int(p.status))
                if p.committed is not None:
                    offset_sums[p.tp.topic] = offset_sums.get(p.tp.topic, 0) + p.committed
                    lag_sums[p.tp.topic] = lag_sums.get(p.tp.topic, 0) + (p.lag or 0)
            for topic, value in sorted(offset_sums.items()):
                g_offset_sum.add_metric([view.group, topic], value)
            for topic, value in sorted(lag_sums.items()):
                g_lag_sum.add_metric([view.group, topic], value)
    return [
        brokers,
        topic_parts,
        current,
        oldest,
        g_offset,
        g_offset_sum,
        g_lag,
        g_lag_sum,
        members,
        p_status,
        status,
        last,
        polls_total,
        errors_total,
    ]
