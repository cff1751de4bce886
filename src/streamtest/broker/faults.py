"""Injected failures: answer matching requests, or matching partitions of them, with
an error code, while the rest is served normally.

A :class:`Fault` names an API and, optionally, a topic, a partition and the node
the request reaches, the error to answer and how many times (``count``). The
partition-level APIs (Produce, Fetch, ListOffsets, DeleteRecords,
OffsetForLeaderEpoch, OffsetCommit, TxnOffsetCommit) and the topic-level ones
(Metadata, CreateTopics, DeleteTopics) fail only the matching partitions or
topics and serve the rest, as kfake's partition errors do; nothing is written for
a failed partition. Any other API whose response has a top-level error code
fails as a whole. A fault with a topic on an API that cannot fail per topic is
refused when it is added.

Faults are plain data, so the same table serves thread mode, process mode
(through the child's control channel) and the control endpoint.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode

#: APIs whose handlers fail single topics/partitions (``RequestContext.fault``).
PARTITION_LEVEL = frozenset(
    {
        ApiKey.PRODUCE,
        ApiKey.FETCH,
        ApiKey.LIST_OFFSETS,
        ApiKey.DELETE_RECORDS,
        ApiKey.OFFSET_FOR_LEADER_EPOCH,
        ApiKey.OFFSET_COMMIT,
        ApiKey.TXN_OFFSET_COMMIT,
        ApiKey.METADATA,
        ApiKey.CREATE_TOPICS,
        ApiKey.DELETE_TOPICS,
    }
)

_ids = itertools.count(1)


@dataclass(slots=True)
class Fault:
    """One injected failure.

    Attributes:
        api: the API it applies to.
        error: the Kafka error code to answer.
        topic: only this topic (``None``: any).
        partition: only this partition (``None``: any).
        node: only requests reaching this node (``None``: any).
        count: how many more times it applies (``None``: until removed).
        hits: how many times it applied.
        fault_id: identifies it (for removal across processes).
    """

    api: int
    error: int
    topic: str | None = None
    partition: int | None = None
    node: int | None = None
    count: int | None = None
    hits: int = 0
    fault_id: int = field(default_factory=lambda: next(_ids))

    def __post_init__(self) -> None:
        self.api = int(ApiKey(self.api))
        self.error = int(ErrorCode(self.error))
        if self.count is not None and self.count < 1:
            raise ValueError(f"count must be at least 1 (or None), not {self.count}")
        if self.partition is not None and self.topic is None:
            raise ValueError("a fault on a partition must name its topic")
        if self.topic is not None and self.api not in PARTITION_LEVEL:
            raise ValueError(
                f"{ApiKey(self.api).name} cannot fail single topics or partitions; "
                "leave topic/partition unset, or use intercept() to shape the response"
            )

    @property
    def exhausted(self) -> bool:
        """Return whether it has been used up."""
        return self.count is not None and self.hits >= self.count

    def describe(self) -> dict[str, object]:
        """Return it as plain data."""
        return {
            "id": self.fault_id,
            "api": ApiKey(self.api).name,
            "error": ErrorCode(self.error).name,
            "topic": self.topic,
            "partition": self.partition,
            "node": self.node,
            "count": self.count,
            "hits": self.hits,
        }


class FaultTable:
    """The faults installed on a cluster."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def __bool__(self) -> bool:
        return bool(self._faults)

    def add(self, fault: Fault) -> Fault:
        """Install ``fault`` and return it."""
        self._faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> Fault | None:
        """Uninstall a fault by id; return it (with its hit count), or ``None``."""
        for f in self._faults:
            if f.fault_id == fault_id:
                self._faults.remove(f)
                return f
        return None

    def clear(self) -> None:
        """Uninstall every fault."""
        self._faults.clear()

    def list(self) -> list[Fault]:
        """Return the installed faults."""
        return list(self._faults)

    def has_api(self, api: int) -> bool:
        """Return whether any fault applies to ``api`` (the dispatcher's fast check)."""
        return any(f.api == api for f in self._faults)

    def take(
        self, api: int, node: int, topic: str | None = None, partition: int | None = None
    ) -> int:
        """Use up the first fault matching a request (or one of its topics or
        partitions) and return its error code, or 0 when none matches."""
        for f in self._faults:
            if f.api != api or (f.node is not None and f.node != node):
                continue
            if f.topic is not None and f.topic != topic:
                continue
            if f.partition is not None and f.partition != partition:
                continue
            f.hits += 1
            if f.exhausted:
                self._faults.remove(f)
            return f.error
        return 0
