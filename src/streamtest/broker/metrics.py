"""Prometheus metrics of the broker, served at ``/metrics`` on their own port.

The broker touches this module at a handful of points, each a one-line call on
``cluster.metrics`` (``None`` unless metrics are on, so a cluster without them pays
one attribute test per event):

* :meth:`BrokerMetrics.request_done` when a response is sent (or a request fails);
* :meth:`BrokerMetrics.produced` after a partition's batches are appended;
* :meth:`BrokerMetrics.fetched` when a Fetch response is built;
* :meth:`BrokerMetrics.connection_opened` / :meth:`BrokerMetrics.connection_closed`;
* :meth:`BrokerMetrics.throttled` when a quota delays a client.

Everything else (log sizes and offsets, groups, committed offsets and lag, open
connections) is read at scrape time by :func:`snapshot`, the ONE function here that
knows the broker's internals. It runs on the cluster's event loop (the loop owns all
state, see ``cluster.py``) and returns plain data, so a broker core with a
different shape needs only a new :func:`snapshot`. One endpoint serves the whole
logical cluster (every node): partitions through their leader's log.

Names follow what the Prometheus JMX exporter makes of Kafka's MBeans with the
commonly used rules (lower-cased ``kafka_<domain>_<type>_<name>``, counters with
``_total``): ``kafka_network_requestmetrics_requests_total{request,version}``,
``kafka_server_brokertopicmetrics_bytes_in_total{topic}``,
``kafka_log_log_logendoffset{topic,partition}``, ... Kafka has no broker-side
lag metric; lag uses kafka_exporter's names (``kafka_consumergroup_lag``, ...), the
same ones ``streamtest lag --prometheus-port`` serves for any Kafka, so one
dashboard (``grafana/streamtest-broker.json``) reads either source.

Each broker has its own :class:`~prometheus_client.CollectorRegistry` (never the
global one), so several brokers in one test process do not clash.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

#: Request latency buckets in seconds: a local request takes tens of microseconds;
#: a Fetch long poll waits up to ``fetch.max.wait.ms`` (500 ms by default).
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
)  # fmt: skip

#: Offset of the ``records count`` field in a v2 record batch header (KIP-98 layout).
_RECORDS_COUNT = struct.Struct(">i")
_RECORDS_COUNT_AT = 57


def batch_record_count(batch: bytes | bytearray | memoryview) -> int:
    """Return the number of records a v2 record batch says it holds (0 if truncated)."""
    if len(batch) < _RECORDS_COUNT_AT + 4:
        return 0
    return int(_RECORDS_COUNT.unpack_from(batch, _RECORDS_COUNT_AT)[0])


# -- the state read at scrape time -------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartitionState:
    """One partition's leader log, as the log gauges show it."""

    topic: str
    partition: int
    size_bytes: int
    log_start_offset: int
    log_end_offset: int
    high_watermark: int
    under_replicated: bool = False


@dataclass(frozen=True, slots=True)
class GroupState:
    """One consumer group: its state, type and member count."""

    group_id: str
    state: str
    group_type: str
    members: int


@dataclass(frozen=True, slots=True)
class CommittedOffset:
    """One committed offset of a group."""

    group_id: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class BrokerState:
    """Plain data read from the broker for one scrape."""

    partitions: list[PartitionState] = field(default_factory=list)
    groups: list[GroupState] = field(default_factory=list)
    offsets: list[CommittedOffset] = field(default_factory=list)
    connections: int = 0


def snapshot(cluster: Any) -> BrokerState:
    """Return the cluster's scrape-time state as plain data.

    The only function of this module that reads the broker's internals; call it on
    the cluster's event loop. A partition is shown through its leader's log; one
    with no leader (every replica offline) is left out.
    """
    partitions = []
    for topic in cluster.topics:
        for p in topic.partitions:
            if not p.online:
                continue
            log = p.log
            partitions.append(
                PartitionState(
                    p.topic,
                    p.index,
                    log.size_bytes,
                    log.log_start_offset,
                    log.log_end_offset,
                    p.high_watermark,
                    len(p.isr) < len(p.replicas),
                )
            )
    coordinator = cluster.groups
    groups = [
        GroupState(gid, g.state, g.group_type, len(g.members))
        for gid, g in coordinator.groups.items()
    ]
    offsets = [
        CommittedOffset(gid, topic, partition, value.offset)
        for gid in coordinator.offsets.group_ids()
        for (topic, partition), value in coordinator.offsets.group_offsets(gid).items()
    ]
    connections = sum(len(node.connections) for node in cluster.nodes.values())
    return BrokerState(partitions, groups, offsets, connections)


# -- metrics -------------------------------------------------------------------------


class BrokerMetrics:
    """The broker's metrics registry, the event counters, and the HTTP endpoint.

    Args:
        read_state: returns the scrape-time :class:`BrokerState`; it is called from
            the HTTP server's thread, so it must hop onto the broker's loop itself
            (:meth:`attach` builds such a reader).
        api_names: API key -> Kafka's request name (``Produce``, ``Fetch``, ...).
    """

    def __init__(
        self,
        read_state: Callable[[], BrokerState] | None = None,
        api_names: Callable[[int], str] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._read_state = read_state
        self._api_names = api_names or str
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = 0
        r = self.registry
        self.requests = Counter(
            "kafka_network_requestmetrics_requests",
            "Requests handled, by API (Kafka's request name) and version "
            "(kafka.network:type=RequestMetrics,name=RequestsPerSec).",
            ["request", "version"],
            registry=r,
        )
        self.request_errors = Counter(
            "kafka_network_requestmetrics_errors",
            "Requests that closed the connection instead of being answered "
            "(a protocol error or a handler failure).",
            ["request"],
            registry=r,
        )
        self.total_time = Histogram(
            "kafka_network_requestmetrics_totaltime_seconds",
            "Seconds from a request being read to its response being written, by API "
            "(kafka.network:type=RequestMetrics,name=TotalTimeMs); includes Fetch long polls.",
            ["request"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        topic_help = "(kafka.server:type=BrokerTopicMetrics,name={}PerSec)"
        self.bytes_in = Counter(
            "kafka_server_brokertopicmetrics_bytes_in",
            "Record batch bytes appended by Produce, per topic " + topic_help.format("BytesIn"),
            ["topic"],
            registry=r,
        )
        self.records_in = Counter(
            "kafka_server_brokertopicmetrics_records_in",
            "Records appended by Produce, per topic " + topic_help.format("MessagesIn"),
            ["topic"],
            registry=r,
        )
        self.bytes_out = Counter(
            "kafka_server_brokertopicmetrics_bytes_out",
            "Record batch bytes returned by Fetch, per topic " + topic_help.format("BytesOut"),
            ["topic"],
            registry=r,
        )
        self.records_out = Counter(
            "kafka_server_brokertopicmetrics_records_out",
            "Records in the batches returned by Fetch, per topic (whole batches: the "
            "records before the fetch offset in a batch's first batch count too).",
            ["topic"],
            registry=r,
        )
        self.connections_created = Counter(
            "kafka_server_socketservermetrics_connection_creation",
            "Client connections accepted (kafka.server:type=socket-server-metrics,"
            "name=connection-creation-total).",
            registry=r,
        )
        self.connections_closed = Counter(
            "kafka_server_socketservermetrics_connection_close",
            "Client connections closed (connection-close-total).",
            registry=r,
        )
        self.throttle_time = Counter(
            "kafka_server_quota_throttle_time_seconds",
            "Seconds clients were throttled by a quota, per quota type (produce, fetch, "
            "request) and client id (kafka.server:type=<quota>,client-id=...).",
            ["quota", "client_id"],
            registry=r,
        )
        r.register(_StateCollector(self))

    # -- event counters: the broker calls these ------------------------------------------

    def request_done(
        self, api_key: int, version: int, seconds: float, failed: bool = False
    ) -> None:
        """Count one request of ``api_key``/``version`` that took ``seconds``;
        ``failed`` means it closed the connection instead of being answered."""
        name = self._api_names(api_key)
        self.requests.labels(name, str(version)).inc()
        self.total_time.labels(name).observe(seconds)
        if failed:
            self.request_errors.labels(name).inc()

    def produced(self, topic: str, records: int, nbytes: int) -> None:
        """Count ``records`` appended to ``topic`` in ``nbytes`` of batches."""
        if records > 0:
            self.records_in.labels(topic).inc(records)
            self.bytes_in.labels(topic).inc(nbytes)

    def fetched(self, topics: Iterable[tuple[str, Sequence[Sequence[Any]]]]) -> None:
        """Count what a Fetch response returns: ``(topic, [batches of each partition])``."""
        for topic, partitions in topics:
            nbytes = records = 0
            for batches in partitions:
                for batch in batches:
                    nbytes += len(batch)
                    records += batch_record_count(batch)
            if nbytes:
                self.bytes_out.labels(topic).inc(nbytes)
                self.records_out.labels(topic).inc(records)

    def connection_opened(self) -> None:
        """Count an accepted connection."""
        self.connections_created.inc()

    def connection_closed(self) -> None:
        """Count a closed connection."""
        self.connections_closed.inc()

    def throttled(self, quota: str, client_id: str, seconds: float) -> None:
        """Count ``seconds`` of throttling of ``client_id`` by the ``quota`` quota."""
        self.throttle_time.labels(quota, client_id).inc(seconds)

    # -- scrape-time state --------------------------------------------------------------

    def read_state(self) -> BrokerState | None:
        """Return the broker's current state, or ``None`` when it cannot be read."""
        if self._read_state is None:
            return None
        return self._read_state()

    def attach(self, cluster: Any, loop: asyncio.AbstractEventLoop) -> None:
        """Read the state of ``cluster`` (running on ``loop``) at each scrape."""

        def read() -> BrokerState:
            fut: Future[BrokerState] = Future()

            def run() -> None:
                try:
                    fut.set_result(snapshot(cluster))
                except BaseException as exc:  # report to the scraping thread
                    fut.set_exception(exc)

            loop.call_soon_threadsafe(run)
            return fut.result(timeout=5)

        self._read_state = read

    # -- HTTP endpoint ------------------------------------------------------------------

    def serve(self, port: int = 0, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``host:port`` in a daemon thread; return the port.

        Raises:
            OSError: the port cannot be bound.
        """
        # prometheus_client's own server: threaded, quiet (no line per scrape), in a
        # daemon thread.
        self._server, self._thread = start_http_server(port, host, self.registry)
        self.port = int(self._server.server_port)
        return self.port

    def close(self) -> None:
        """Stop the HTTP endpoint (a no-op if it is not running)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class _StateCollector(Collector):
    """Gauges read from the broker at scrape time."""

    def __init__(self, metrics: BrokerMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterator[Any]:
        # Describing reads no state: registering must not call into the broker.
        yield from self._families(BrokerState())

    def collect(self) -> Iterator[Any]:
        try:
            state = self.metrics.read_state()
        except Exception:
            state = None  # the broker is stopping; serve the event counters alone
        if state is not None:
            yield from self._families(state)

    @staticmethod
    def _families(state: BrokerState) -> Iterator[Any]:
        size = GaugeMetricFamily(
            "kafka_log_log_size",
            "Bytes of record batches in the partition's log.",
            labels=["topic", "partition"],
        )
        start = GaugeMetricFamily(
            "kafka_log_log_logstartoffset",
            "The partition's log start offset.",
            labels=["topic", "partition"],
        )
        end = GaugeMetricFamily(
            "kafka_log_log_logendoffset",
            "The partition leader's log end offset.",
            labels=["topic", "partition"],
        )
        hw = GaugeMetricFamily(
            "kafka_cluster_partition_highwatermark",
            "The partition's high watermark (what consumers can read).",
            labels=["topic", "partition"],
        )
        urp = GaugeMetricFamily(
            "kafka_server_replicamanager_underreplicatedpartitions",
            "Partitions whose in-sync replicas are fewer than their replicas.",
        )
        leo: dict[tuple[str, int], int] = {}
        for p in state.partitions:
            labels = [p.topic, str(p.partition)]
            size.add_metric(labels, p.size_bytes)
            start.add_metric(labels, p.log_start_offset)
            end.add_metric(labels, p.log_end_offset)
            hw.add_metric(labels, p.high_watermark)
            leo[(p.topic, p.partition)] = p.high_watermark
        urp.add_metric([], sum(1 for p in state.partitions if p.under_replicated))
        yield size
        yield start
        yield end
        yield hw
        yield urp
        topics = GaugeMetricFamily(
            "kafka_controller_kafkacontroller_globaltopiccount", "Topics in the cluster."
        )
        topics.add_metric([], len({p.topic for p in state.partitions}))
        yield topics
        parts = GaugeMetricFamily(
            "kafka_controller_kafkacontroller_globalpartitioncount", "Partitions in the cluster."
        )
        parts.add_metric([], len(state.partitions))
        yield parts
        conns = GaugeMetricFamily(
            "kafka_server_socketservermetrics_connection_count", "Open client connections."
        )
        conns.add_metric([], state.connections)
        yield conns
        yield from _group_families(state, leo)


def _group_families(state: BrokerState, leo: dict[tuple[str, int], int]) -> Iterator[Any]:
    num = GaugeMetricFamily(
        "kafka_coordinator_group_groupmetadatamanager_numgroups",
        "Consumer groups, by state (kafka.coordinator.group:type=GroupMetadataManager,"
        "name=NumGroups<State>).",
        labels=["state"],
    )
    by_state: dict[str, int] = {}
    for g in state.groups:
        by_state[g.state] = by_state.get(g.state, 0) + 1
    for name, count in sorted(by_state.items()):
        num.add_metric([name], count)
    yield num
    info = GaugeMetricFamily(
        "kafka_consumergroup_state",
        "1 for the group's current state (Kafka's names: Stable, Empty, ...), by group type "
        "(classic, or consumer for KIP-848 groups).",
        labels=["consumergroup", "state", "type"],
    )
    members = GaugeMetricFamily(
        "kafka_consumergroup_members", "Members of the group.", labels=["consumergroup"]
    )
    for g in state.groups:
        info.add_metric([g.group_id, g.state, g.group_type], 1)
        members.add_metric([g.group_id], g.members)
    yield info
    yield members
    current = GaugeMetricFamily(
        "kafka_consumergroup_current_offset",
        "The group's committed offset (kafka_exporter's name).",
        labels=["consumergroup", "topic", "partition"],
    )
    lag = GaugeMetricFamily(
        "kafka_consumergroup_lag",
        "High watermark minus the committed offset, never negative (kafka_exporter's name).",
        labels=["consumergroup", "topic", "partition"],
    )
    lag_sum = GaugeMetricFamily(
        "kafka_consumergroup_lag_sum",
        "The group's lag summed over a topic's partitions.",
        labels=["consumergroup", "topic"],
    )
    sums: dict[tuple[str, str], int] = {}
    for o in state.offsets:
        labels = [o.group_id, o.topic, str(o.partition)]
        current.add_metric(labels, o.offset)
        end = leo.get((o.topic, o.partition))
        if end is None:
            continue  # the topic was deleted: no lag to report
        value = max(0, end - o.offset)
        lag.add_metric(labels, value)
        sums[(o.group_id, o.topic)] = sums.get((o.group_id, o.topic), 0) + value
    for (gid, topic), value in sorted(sums.items()):
        lag_sum.add_metric([gid, topic], value)
    yield current
    yield lag
    yield lag_sum


def enable_metrics(cluster: Any, port: int = 0, host: str = "127.0.0.1") -> BrokerMetrics:
    """Turn on metrics for ``cluster`` and serve them; call it on the cluster's loop,
    after ``cluster.start()``. Returns the :class:`BrokerMetrics` (its ``port`` is
    the bound port). ``cluster.stop()`` closes the endpoint.

    Raises:
        OSError: the metrics port cannot be bound.
    """
    from .observe import api_name

    metrics = BrokerMetrics(api_names=api_name)
    metrics.attach(cluster, asyncio.get_running_loop())
    metrics.serve(port, host)
    cluster.metrics = metrics
    return metrics
