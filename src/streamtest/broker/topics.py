"""Topics and partitions of the logical cluster: who leads, who follows, what is committed.

A :class:`Partition` is the cluster's view of one topic partition, as Kafka's
controller and partition leader see it together:

* ``replicas``: the assigned nodes, the preferred leader first;
* ``isr``: the in-sync replicas; ``leader`` and ``leader_epoch`` (KIP-101/279),
  and ``partition_epoch``, bumped on every change of leader, ISR or replicas;
* ``logs``: one replica log per assigned node (``log.PartitionLog``, on that
  node's filesystem). Replication is logical, as in franz-go's kfake: one owner
  of state copies batches from the leader's log to the followers' logs, so a
  stopped node really misses data and catches up;
* ``states``: each replica's producer state (``producers.ProducerState``:
  sequences, open transactions), kept in step with its log as Kafka keeps it on
  every replica;
* the leader's view: the high watermark (the smallest log end offset in the
  ISR), the last stable offset (KIP-98) and the Fetch requests parked on the
  partition.

Everything here is touched only from the cluster's event loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..protocol.records import BatchHeader, Record, iter_records

if TYPE_CHECKING:
    from .log import PartitionLog as ReplicaLog
    from .producers import ProducerEntry, ProducerState

Buffer = bytes | bytearray | memoryview

#: Kafka's internal topics (``Topic.INTERNAL_TOPICS`` plus the share-group state).
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state", "__share_group_state"})
NO_LEADER = -1


def _no_config(name: str) -> str:
    raise LookupError(f"partition has no topic configs ({name})")


class Partition:
    """One partition across the cluster (see the module docstring).

    Args:
        topic: the topic name.
        topic_id: the topic id (KIP-516).
        index: the partition index.
        replicas: node ids, the preferred leader first.
        logs: the replica log of each assigned node.
    """

    def __init__(
        self,
        topic: str,
        topic_id: uuid.UUID,
        index: int,
        replicas: list[int],
        logs: dict[int, ReplicaLog],
    ) -> None:
        self.topic = topic
        self.topic_id = topic_id
        self.index = index
        self.replicas = list(replicas)
        self.isr = list(replicas)
        self.leader = replicas[0] if replicas else NO_LEADER
        self.leader_epoch = 0
        self.partition_epoch = 0
        self.logs = logs
        #: Each replica's producer state, by node id (``producers.ProducerState``).
        self.states: dict[int, ProducerState] = {}
        #: When each follower last had everything the leader has (ms).
        self.caught_up_ms: dict[int, int] = {}
        #: Reads the topic's effective configs (set by the topic service).
        self.config: Callable[[str], str] = _no_config
        #: Parked Fetch requests, woken by an append or a high-watermark move.
        self.waiters: set[asyncio.Future[None]] = set()

    def __repr__(self) -> str:
        return (
            f"<Partition {self.topic}-{self.index} leader={self.leader} "
            f"epoch={self.leader_epoch} isr={self.isr}>"
        )

    @property
    def key(self) -> tuple[str, int]:
        """Return ``(topic, index)``."""
        return (self.topic, self.index)

    # -- the leader's log -------------------------------------------------------

    @property
    def log(self) -> ReplicaLog:
        """Return the leader's replica log.

        Raises:
            LookupError: the partition has no leader (every replica is offline).
        """
        log = self.logs.get(self.leader)
        if log is None:
            raise LookupError(f"{self.topic}-{self.index} has no leader")
        return log

    @property
    def online(self) -> bool:
        """Return whether the partition has a leader."""
        return self.leader in self.logs

    @property
    def log_start_offset(self) -> int:
        """Return the leader's log start offset."""
        return self.log.log_start_offset

    @property
    def log_end_offset(self) -> int:
        """Return the leader's log end offset (the next offset to assign)."""
        return self.log.log_end_offset

    @property
    def high_watermark(self) -> int:
        """Return the high watermark: the smallest log end offset in the ISR (the
        last offset every in-sync replica has, plus one)."""
        logs = self.logs
        return min(logs[r].log_end_offset for r in self.isr if r in logs)

    @property
    def producers(self) -> dict[int, ProducerEntry]:
        """Return the leader's producer entries, by producer id (empty while the
        partition has no leader)."""
        state = self.states.get(self.leader)
        return state.producers if state is not None else {}

    @property
    def open_transactions(self) -> dict[int, int]:
        """Return the first offset of each producer's open transaction on the
        leader (KIP-98)."""
        state = self.states.get(self.leader)
        return state.open_transactions if state is not None else {}

    @property
    def last_stable_offset(self) -> int:
        """Return the LSO: the first offset of the oldest open transaction, capped
        by the high watermark (KIP-98)."""
        hw = self.high_watermark
        open_txns = self.open_transactions
        if open_txns:
            return max(min(hw, min(open_txns.values())), self.log_start_offset)
        return hw

    def publish_high_watermark(self) -> None:
        """Tell every replica log the high watermark (a Kafka follower learns it
        from its fetch responses): retention, compaction and the high-watermark
        checkpoint stop there. Each log clamps it to its own end."""
        hw = self.high_watermark
        for log in self.logs.values():
            if log.high_watermark != hw and not log.closed:
                log.high_watermark = hw

    def read(
        self, offset: int, max_bytes: int, at_least_one: bool, end: int | None = None
    ) -> list[Buffer]:
        """Return whole batches of the leader's log from ``offset`` (see
        ``PartitionLog.read``; a buffer may hold several batches), never past
        ``end`` (default: the high watermark)."""
        return self.log.read(
            offset, max_bytes, at_least_one, self.high_watermark if end is None else end
        )

    def aborted_in_range(self, start: int, end: int) -> list[tuple[int, int]]:
        """Return ``(producer_id, first_offset)`` of aborted transactions that overlap
        ``[start, end)``, for read_committed fetches (KIP-98)."""
        return self.log.aborted_in_range(start, end)

    def iter_batches(self, start: int, end: int) -> Iterator[tuple[BatchHeader, Buffer]]:
        """Yield ``(header, batch)`` of the leader's batches overlapping ``[start, end)``."""
        return self.log.iter_batches(start, end)

    def records(self, read_committed: bool = False) -> list[Record]:
        """Decode every readable (committed) record, skipping control batches.

        With ``read_committed``, stop at the last stable offset and leave out the
        records of aborted transactions, as a read_committed consumer sees them.
        """
        start = self.log_start_offset
        end = self.last_stable_offset if read_committed else self.high_watermark
        aborted = (
            [(t.producer_id, t.first_offset, t.last_offset)
             for t in self.log.collect_aborted(start, end)]
            if read_committed
            else []
        )
        out: list[Record] = []
        for header, batch in self.iter_batches(start, end):
            if header.is_control:
                continue
            if read_committed and header.is_transactional and any(
                pid == header.producer_id and first <= header.base_offset <= last
                for pid, first, last in aborted
            ):
                continue
            out.extend(r for r in iter_records(batch) if start <= r.offset < end)
        return out

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """Return ``(offset, timestamp)`` of the first committed record with a timestamp
        at or after ``timestamp`` (ListOffsets, KIP-79), or ``None``."""
        found = self.log.offset_for_timestamp(timestamp)
        if found is None or found[0] >= self.high_watermark:
            return None
        return found

    def max_timestamp_offset(self) -> tuple[int, int] | None:
        """Return ``(offset, timestamp)`` of the record with the largest timestamp
        (ListOffsets MAX_TIMESTAMP, KIP-734), or ``None`` for an empty log."""
        return self.log.max_timestamp_offset()

    # -- configs ---------------------------------------------------------------------

    def min_insync_replicas(self) -> int:
        """Return the topic's ``min.insync.replicas``."""
        return int(self.config("min.insync.replicas"))

    def unclean_allowed(self) -> bool:
        """Return the topic's ``unclean.leader.election.enable``."""
        return self.config("unclean.leader.election.enable") == "true"

    # -- parked requests ---------------------------------------------------------------

    def leader_changed(self) -> None:
        """Wake every parked request so it sees the new leader (a parked Fetch or
        acks=all Produce then answers NOT_LEADER_OR_FOLLOWER or moves on)."""
        self.wake_waiters()

    def wake_waiters(self) -> None:
        """Complete every parked Fetch waiting for data on this partition."""
        if self.waiters:
            for fut in self.waiters:
                if not fut.done():
                    fut.set_result(None)
            self.waiters.clear()


@dataclass(eq=False)
class Topic:
    """A topic: its id, partitions and explicitly set configs.

    ``defaults`` gives the effective default of a topic config (the broker's
    ``log.retention.ms`` for ``retention.ms``, ...); see ``services/configs.py``.
    """

    name: str
    topic_id: uuid.UUID
    partitions: list[Partition]
    configs: dict[str, str] = field(default_factory=dict)
    defaults: Any = None

    def config(self, key: str) -> str:
        """Return the effective value of a topic config (set, or the default)."""
        value = self.configs.get(key)
        if value is not None:
            return value
        return self.defaults(key)

    @property
    def internal(self) -> bool:
        """Return whether this is one of Kafka's internal topics."""
        return self.name in INTERNAL_TOPICS

    @property
    def max_message_bytes(self) -> int:
        """Return ``max.message.bytes``: the largest batch the topic accepts."""
        return int(self.config("max.message.bytes"))

    @property
    def log_append_time(self) -> bool:
        """Return whether the topic stamps batches with LogAppendTime."""
        return self.config("message.timestamp.type") == "LogAppendTime"

    @property
    def compacted(self) -> bool:
        """Return whether ``cleanup.policy`` includes ``compact``."""
        return "compact" in self.config("cleanup.policy").split(",")

    @property
    def replication_factor(self) -> int:
        """Return the number of replicas of the first partition."""
        return len(self.partitions[0].replicas) if self.partitions else 0


class TopicTable:
    """Every topic of the cluster, by name and by id."""

    def __init__(self) -> None:
        self.by_name: dict[str, Topic] = {}
        self.by_id: dict[uuid.UUID, Topic] = {}

    def add(self, topic: Topic) -> None:
        """Index a new topic."""
        self.by_name[topic.name] = topic
        self.by_id[topic.topic_id] = topic

    def remove(self, name: str) -> Topic | None:
        """Unindex a topic; return it, or ``None``."""
        topic = self.by_name.pop(name, None)
        if topic is not None:
            self.by_id.pop(topic.topic_id, None)
        return topic

    def get(self, name: str) -> Topic | None:
        """Return the topic called ``name``, or ``None``."""
        return self.by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __getitem__(self, name: str) -> Topic:
        """Return the topic called ``name``.

        Raises:
            KeyError: no such topic.
        """
        return self.by_name[name]

    def __iter__(self) -> Iterator[Topic]:
        return iter(list(self.by_name.values()))

    def __len__(self) -> int:
        return len(self.by_name)

    def names(self) -> list[str]:
        """Return every topic name."""
        return list(self.by_name)

    def partition(self, topic: str, index: int) -> Partition | None:
        """Return ``topic``/``index``, or ``None``."""
        t = self.by_name.get(topic)
        if t is None or not 0 <= index < len(t.partitions):
            return None
        return t.partitions[index]

    def partitions(self) -> Iterable[Partition]:
        """Yield every partition of every topic."""
        for topic in list(self.by_name.values()):
            yield from topic.partitions


_LEGAL = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def is_valid_topic_name(name: str) -> str | None:
    """Return why ``name`` is not a legal topic name, or ``None`` if it is.

    Kafka's rules (``org.apache.kafka.common.internals.Topic``): 1-249 characters
    from ``[a-zA-Z0-9._-]``, and not ``.`` or ``..``.
    """
    if not name:
        return "Topic name is illegal, it can't be empty"
    if name in (".", ".."):
        return 'Topic name cannot be "." or ".."'
    if len(name) > 249:
        return "Topic name is illegal, it can't be longer than 249 characters"
    if not set(name) <= _LEGAL:
        return (
            f'Topic name "{name}" is illegal, it contains a character other than '
            "ASCII alphanumerics, '.', '_' and '-'"
        )
    return None
