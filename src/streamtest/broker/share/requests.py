"""Serving ShareFetch and ShareAcknowledge: sessions, acknowledgements, the long poll.

The API handlers (``apis/k78_share_fetch.py``, ``apis/k79_share_acknowledge.py``)
turn the request into a :class:`ShareFetchArgs` or :class:`ShareAckArgs` and call
:func:`share_fetch` or :func:`share_acknowledge`, which return the response as a
dict (or an awaitable of one, for a parked ShareFetch).

Kafka's order (``KafkaApis.handleShareFetchRequest``): the session is checked and
updated first, the piggybacked acknowledgements are applied next, then records
are acquired. A partition this node does not lead answers NOT_LEADER_OR_FOLLOWER
with its current leader, whose endpoint the response carries (KIP-951), so the
consumer moves to the new leader.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...protocol.errors import ErrorCode
from ..services.partitions import leader_partition
from ..topics import Partition, TopicTable
from .manager import SharePartitionManager
from .partition import AckError, Acquired, SharePartition
from .sessions import FINAL_EPOCH, INITIAL_EPOCH, SessionError, ShareSession

#: ShareFetch v2 ``share_acquire_mode``: 0 batch-optimized, 1 record limit (KIP-1206).
BATCH_OPTIMIZED, RECORD_LIMIT = 0, 1

AckBatches = list[tuple[int, int, tuple[int, ...]]]


@dataclass(slots=True)
class PartitionArgs:
    """One partition of a request, with its acknowledgement batches."""

    topic_id: uuid.UUID
    index: int
    acks: AckBatches = field(default_factory=list)


@dataclass(slots=True)
class ShareFetchArgs:
    """A ShareFetch request, as plain values."""

    version: int
    group_id: str
    member_id: str
    epoch: int
    max_wait_ms: int
    min_bytes: int
    max_bytes: int
    max_records: int
    batch_size: int
    acquire_mode: int
    is_renew_ack: bool
    partitions: list[PartitionArgs]
    forgotten: list[tuple[uuid.UUID, int]]


@dataclass(slots=True)
class ShareAckArgs:
    """A ShareAcknowledge request, as plain values."""

    version: int
    group_id: str
    member_id: str
    epoch: int
    is_renew_ack: bool
    partitions: list[PartitionArgs]


@dataclass(slots=True)
class Serving:
    """Where a request is served: the node, the connection, the topic table."""

    node_id: int
    connection_id: int
    topics: TopicTable
    clock: Any


@dataclass(slots=True)
class _Result:
    topic_id: uuid.UUID
    index: int
    error: int = 0
    error_message: str | None = None
    ack_error: int | None = None
    ack_message: str | None = None
    leader: tuple[int, int] = (0, 0)
    acquired: Acquired | None = None

    def fetch_entry(self) -> dict[str, Any]:
        acquired = self.acquired
        return {
            "partition_index": self.index,
            "error_code": self.error,
            "error_message": self.error_message,
            "acknowledge_error_code": self.ack_error or 0,
            "acknowledge_error_message": self.ack_message,
            "current_leader": {"leader_id": self.leader[0], "leader_epoch": self.leader[1]},
            "records": b"".join(acquired.batches) if acquired else b"",
            "acquired_records": [
                {"first_offset": f, "last_offset": la, "delivery_count": c}
                for f, la, c in (acquired.ranges if acquired else ())
            ],
        }

    def ack_entry(self) -> dict[str, Any]:
        return {
            "partition_index": self.index,
            "error_code": self.ack_error or 0,
            "error_message": self.ack_message,
            "current_leader": {"leader_id": self.leader[0], "leader_epoch": self.leader[1]},
        }


def partition_args(topics: Iterable[Any]) -> list[PartitionArgs]:
    """Return a request's partitions with their acknowledgement batches, merging a
    topic or partition named more than once (librdkafka lists the partitions it
    adds to a session and those it acknowledges separately)."""
    out: dict[tuple[uuid.UUID, int], PartitionArgs] = {}
    for t in topics:
        for p in t.partitions:
            entry = out.get((t.topic_id, p.partition_index))
            if entry is None:
                entry = out[(t.topic_id, p.partition_index)] = PartitionArgs(
                    t.topic_id, p.partition_index
                )
            entry.acks.extend(
                (b.first_offset, b.last_offset, tuple(int(x) for x in b.acknowledge_types))
                for b in p.acknowledgement_batches
            )
    for entry in out.values():
        entry.acks.sort()
    return list(out.values())


def _top_error(code: ErrorCode, message: str | None = None) -> dict[str, Any]:
    return {
        "throttle_time": 0,
        "error_code": code,
        "error_message": message,
        "acquisition_lock_timeout": 0,
        "responses": [],
        "node_endpoints": [],
    }


def _resolve(serving: Serving, topic_id: uuid.UUID, index: int) -> tuple[Partition | None, int]:
    """Return the partition if this node leads it, else the partition error."""
    topic = serving.topics.by_id.get(topic_id)
    if topic is None:
        return None, ErrorCode.UNKNOWN_TOPIC_ID
    partition, code = leader_partition(serving.topics, serving.node_id, topic.name, index)
    return partition, int(code)


def _check_acks(version: int, acks: AckBatches) -> None:
    """Check a partition's acknowledgement batches (Kafka's
    ``validateAcknowledgementBatches``).

    Raises:
        AckError: INVALID_REQUEST for batches out of order or overlapping, types
            that match neither one type nor one per offset, or an unknown type
            (RENEW, 4, needs v2).
    """
    allowed = 4 if version >= 2 else 3
    prev = -1
    for first, last, types in acks:
        if first > last or first <= prev:
            raise AckError(
                ErrorCode.INVALID_REQUEST,
                "Acknowledgement batches must be in offset order and must not overlap.",
            )
        if not types or (len(types) != 1 and len(types) != last - first + 1):
            raise AckError(
                ErrorCode.INVALID_REQUEST,
                "Acknowledgement batch must have one acknowledge type, or one per offset.",
            )
        if any(not 0 <= t <= allowed for t in types):
            raise AckError(ErrorCode.INVALID_REQUEST, None)
        prev = last


def _acknowledge(
    manager: SharePartitionManager,
    serving: Serving,
    group_id: str,
    member_id: str,
    version: int,
    p: PartitionArgs,
) -> _Result:
    result = _Result(p.topic_id, p.index)
    try:
        _check_acks(version, p.acks)
    except AckError as exc:
        result.ack_error, result.ack_message = exc.code, exc.message
        return result
    partition, code = _resolve(serving, p.topic_id, p.index)
    if code:
        result.ack_error = code
        if partition is not None and code == ErrorCode.NOT_LEADER_OR_FOLLOWER:
            result.leader = (partition.leader, partition.leader_epoch)
        return result
    assert partition is not None
    sp = manager.existing(group_id, partition)
    if sp is None:
        result.ack_error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return result
    try:
        sp.acknowledge(member_id, p.acks)
        result.ack_error = 0
    except AckError as exc:
        result.ack_error, result.ack_message = exc.code, exc.message
    return result


def _endpoints(
    serving: Serving, nodes: Callable[[int], Any], results: Sequence[_Result]
) -> list[Any]:
    leaders = sorted(
        {
            r.leader[0]
            for r in results
            if r.leader[0] >= 0
            and (r.error or r.ack_error)
            and ErrorCode.NOT_LEADER_OR_FOLLOWER in (r.error, r.ack_error)
        }
    )
    out = []
    for node_id in leaders:
        node = nodes(node_id)
        if node is not None:
            out.append(
                {
                    "node_id": node.node_id,
                    "host": node.advertised_host,
                    "port": node.port,
                    "rack": node.rack,
                }
            )
    return out


def _by_topic(results: Sequence[_Result], entry: Callable[[_Result], dict[str, Any]]) -> list[Any]:
    topics: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for r in results:
        topics.setdefault(r.topic_id, []).append(entry(r))
    return [{"topic_id": t, "partitions": ps} for t, ps in topics.items()]


def _close(manager: SharePartitionManager, session: ShareSession) -> None:
    if manager.sessions.remove(session.key) is session:
        manager.release_session(session)


# -- ShareFetch ------------------------------------------------------------------------------


def share_fetch(
    manager: SharePartitionManager,
    serving: Serving,
    nodes: Callable[[int], Any],
    req: ShareFetchArgs,
) -> Any:
    """Serve one ShareFetch; return the response dict, or an awaitable of it when
    the request waits for records (``max_wait_ms``, ``min_bytes``)."""
    if not req.group_id or not req.member_id:
        return _top_error(ErrorCode.INVALID_REQUEST)
    if req.acquire_mode not in (BATCH_OPTIMIZED, RECORD_LIMIT):
        return _top_error(ErrorCode.INVALID_REQUEST, f"Invalid ShareAcquireMode {req.acquire_mode}")
    if req.is_renew_ack and (req.max_wait_ms or req.min_bytes or req.max_bytes or req.max_records):
        return _top_error(
            ErrorCode.INVALID_REQUEST,
            "MaxWaitMs, MinBytes, MaxBytes and MaxRecords must be 0 with IsRenewAck.",
        )
    has_acks = any(p.acks for p in req.partitions)
    if req.epoch == INITIAL_EPOCH and has_acks:
        return _top_error(ErrorCode.INVALID_REQUEST)
    try:
        if req.epoch == INITIAL_EPOCH:
            session, old = manager.sessions.open(
                serving.node_id,
                req.group_id,
                req.member_id,
                serving.connection_id,
                [(p.topic_id, p.index) for p in req.partitions],
            )
            if old is not None:
                manager.release_session(old)
        else:
            session = manager.sessions.use(serving.node_id, req.group_id, req.member_id, req.epoch)
            if req.epoch != FINAL_EPOCH:
                session.update([(p.topic_id, p.index) for p in req.partitions], req.forgotten)
    except SessionError as exc:
        return _top_error(exc.code)
    lock_ms = manager.limits(req.group_id).record_lock_ms
    acked = [
        _acknowledge(manager, serving, req.group_id, req.member_id, req.version, p)
        for p in req.partitions
        if p.acks
    ]
    if req.epoch == FINAL_EPOCH or req.is_renew_ack:
        if req.epoch == FINAL_EPOCH:
            _close(manager, session)
        return _fetch_response(serving, nodes, acked, lock_ms)
    fetch = _Fetch(manager, serving, nodes, req, session, acked, lock_ms)
    return fetch.run()


class _Fetch:
    """One ShareFetch: acquire now, or wait for records and then acquire."""

    def __init__(
        self,
        manager: SharePartitionManager,
        serving: Serving,
        nodes: Callable[[int], Any],
        req: ShareFetchArgs,
        session: ShareSession,
        acked: list[_Result],
        lock_ms: int,
    ) -> None:
        self.manager = manager
        self.serving = serving
        self.nodes = nodes
        self.req = req
        self.session = session
        self.lock_ms = lock_ms
        self.full = req.epoch == INITIAL_EPOCH
        self.results: dict[tuple[uuid.UUID, int], _Result] = {
            (r.topic_id, r.index): r for r in acked
        }
        # Rotate the partitions by the session epoch so that max_records and
        # max_bytes are shared fairly (Kafka's PartitionRotateStrategy).
        parts = list(session.partitions)
        shift = (req.epoch % len(parts)) if parts else 0
        self.order = parts[shift:] + parts[:shift]

    def _targets(self) -> list[tuple[_Result, SharePartition | None]]:
        out = []
        for topic_id, index in self.order:
            result = self.results.get((topic_id, index))
            if result is None:
                result = _Result(topic_id, index)
            result.error, result.error_message = 0, None
            partition, code = _resolve(self.serving, topic_id, index)
            sp = None
            if code:
                result.error = code
                if partition is not None and code == ErrorCode.NOT_LEADER_OR_FOLLOWER:
                    result.leader = (partition.leader, partition.leader_epoch)
            else:
                assert partition is not None
                sp = self.manager.share_partition(self.req.group_id, partition)
            out.append((result, sp))
        return out

    def _ready(self, targets: list[tuple[_Result, SharePartition | None]]) -> bool:
        # Errors alone do not end the wait: like Kafka, a fetch waits for records
        # on its good partitions unless every partition failed.
        if self.req.max_wait_ms <= 0 or all(sp is None for _, sp in targets):
            return True
        need = max(self.req.min_bytes, 1)
        have = 0
        for _, sp in targets:
            if sp is not None:
                have += sp.acquirable_bytes(need - have)
                if have >= need:
                    return True
        return False

    def _respond(self, targets: list[tuple[_Result, SharePartition | None]]) -> dict[str, Any]:
        req = self.req
        records_left = req.max_records
        bytes_left = req.max_bytes if req.max_bytes > 0 else 2**31 - 1
        live = self.manager.sessions.get(*self.session.key) is self.session
        for result, sp in targets:
            if sp is None or not live or records_left <= 0 or bytes_left <= 0:
                continue
            got = sp.acquire(
                req.member_id,
                records_left,
                bytes_left,
                req.acquire_mode == RECORD_LIMIT,
                req.batch_size,
            )
            if got.count:
                result.acquired = got
                records_left -= got.count
                bytes_left -= got.size
        results = [
            r for r, _ in targets if self.full or r.error or r.acquired or r.ack_error is not None
        ]
        return _fetch_response(self.serving, self.nodes, results, self.lock_ms)

    def run(self) -> Any:
        targets = self._targets()
        if self._ready(targets):
            return self._respond(targets)
        return self._wait()

    async def _wait(self) -> dict[str, Any]:
        # The wait follows the cluster's clock, and also ends after max_wait_ms of
        # real time: with a manual clock, a parked ShareFetch would otherwise hold
        # every later request of its connection (the client's acknowledgements,
        # its leaving) until the test advanced the clock. Locks and sessions still
        # expire on the cluster's clock only.
        clock = self.serving.clock
        loop = asyncio.get_running_loop()
        wait = self.req.max_wait_ms / 1000
        deadline = clock.monotonic() + wait
        real_deadline = loop.time() + wait
        while True:
            targets = self._targets()
            remaining = min(deadline - clock.monotonic(), real_deadline - loop.time())
            if remaining <= 0 or self._ready(targets):
                return self._respond(targets)
            fut: asyncio.Future[None] = loop.create_future()
            watched: list[set[asyncio.Future[None]]] = []
            for _, sp in targets:
                if sp is not None:
                    watched += [sp.waiters, sp.partition.waiters]
            for waiters in watched:
                waiters.add(fut)
            try:
                await asyncio.wait_for(clock.wait_for(fut, remaining), remaining + 0.001)
            except TimeoutError:
                return self._respond(self._targets())
            finally:
                for waiters in watched:
                    waiters.discard(fut)


def _fetch_response(
    serving: Serving, nodes: Callable[[int], Any], results: Sequence[_Result], lock_ms: int
) -> dict[str, Any]:
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "acquisition_lock_timeout": lock_ms,
        "responses": _by_topic(results, _Result.fetch_entry),
        "node_endpoints": _endpoints(serving, nodes, results),
    }


# -- ShareAcknowledge ---------------------------------------------------------------------


def share_acknowledge(
    manager: SharePartitionManager,
    serving: Serving,
    nodes: Callable[[int], Any],
    req: ShareAckArgs,
) -> dict[str, Any]:
    """Serve one ShareAcknowledge; return the response dict."""
    if not req.group_id or not req.member_id:
        return _top_error(ErrorCode.INVALID_REQUEST)
    if req.epoch == INITIAL_EPOCH:
        return _top_error(ErrorCode.INVALID_SHARE_SESSION_EPOCH)
    try:
        session = manager.sessions.use(serving.node_id, req.group_id, req.member_id, req.epoch)
    except SessionError as exc:
        return _top_error(exc.code)
    results = [
        _acknowledge(manager, serving, req.group_id, req.member_id, req.version, p)
        for p in req.partitions
    ]
    if req.epoch == FINAL_EPOCH:
        _close(manager, session)
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "acquisition_lock_timeout": manager.limits(req.group_id).record_lock_ms,
        "responses": _by_topic(results, _Result.ack_entry),
        "node_endpoints": _endpoints(serving, nodes, results),
    }
