"""One share partition: a share group's view of one topic partition (KIP-932).

Kafka's ``SharePartition`` is the model. The records between the share-partition
start offset (SPSO) and end offset (SPEO) are *in flight*; each has a state:

* AVAILABLE: may be acquired (never delivered, released, or its lock expired);
* ACQUIRED: delivered to one member, locked for ``share.record.lock.duration.ms``;
* ACKNOWLEDGED: accepted (ACCEPT); ARCHIVED: rejected (REJECT), a gap (GAP, for
  offsets without a record such as transaction markers), an aborted transaction
  (read_committed), or a record whose delivery count reached
  ``share.delivery.count.limit``.

Acquiring a record counts one delivery. RELEASE and an expired lock make it
AVAILABLE again, or ARCHIVED once its delivery count reached the limit; closing a
share session releases its member's records and takes that delivery back
(Kafka's ``DeliveryCountOps.DECREASE``: they were never processed). The SPSO
moves past acknowledged and archived records; the window from SPSO to SPEO may
hold at most ``share.partition.max.record.locks`` records, so a slow group stops
acquiring new records until its oldest ones are done.

Kafka's delivery rules kept here:

* whole record batches are acquired (``max_records`` is exceeded to finish the
  batch, ShareFetch v2 ``record_limit`` mode excepted);
* a record on its last delivery attempt is delivered alone, and records past half
  the limit are delivered in shrinking groups, so one poison record does not use
  up its neighbours' deliveries;
* read_committed groups read up to the last stable offset and archive aborted
  transactions instead of delivering them.

The window is kept as parallel per-offset lists (state, delivery count, owner,
lock deadline); it holds at most a few thousand records, so a list scan is cheap
and no interval tree is needed. Everything runs on the cluster's event loop.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...protocol.errors import ErrorCode
from ...protocol.records import parse_header
from ..clock import Clock
from ..groups.timers import Timers
from ..services.group_configs import parse_iso_duration_ms
from .store import (
    ACKNOWLEDGED,
    ACQUIRED,
    ARCHIVED,
    AVAILABLE,
    PartitionState,
    ShareKey,
    ShareStateStore,
    StateBatch,
)

if TYPE_CHECKING:
    from ..topics import Partition

Buffer = bytes | bytearray | memoryview

#: Acknowledge types (``AcknowledgeType`` and 0 for a gap).
GAP, ACCEPT, RELEASE, REJECT, RENEW = 0, 1, 2, 3, 4
STATE_NAMES = {
    AVAILABLE: "available",
    ACQUIRED: "acquired",
    ACKNOWLEDGED: "acknowledged",
    ARCHIVED: "archived",
}
_TERMINAL = (ACKNOWLEDGED, ARCHIVED)


@dataclass(frozen=True, slots=True)
class Limits:
    """A group's share settings, read from its group configs at each use."""

    record_lock_ms: int
    delivery_count_limit: int
    max_record_locks: int
    read_committed: bool
    auto_offset_reset: str
    renew_enabled: bool


@dataclass(slots=True)
class Acquired:
    """What one fetch acquired: ``(first, last, delivery_count)`` ranges and the
    record batches that hold them."""

    ranges: list[tuple[int, int, int]] = field(default_factory=list)
    batches: list[Buffer] = field(default_factory=list)
    count: int = 0

    @property
    def size(self) -> int:
        """Return the bytes of the batches."""
        return sum(len(b) for b in self.batches)


class AckError(Exception):
    """An acknowledgement refused as a whole; ``code`` is the error to answer."""

    def __init__(self, code: ErrorCode, message: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SharePartition:
    """The in-flight records of one share partition, on the partition's leader.

    Args:
        key: group, topic id and partition.
        partition: the topic partition (its leader's log is read).
        store: where the state is persisted.
        clock: the cluster's clock (lock deadlines, ``by_duration`` resets).
        timers: schedules lock expiry.
        limits: returns the group's current share settings.
    """

    def __init__(
        self,
        key: ShareKey,
        partition: Partition,
        store: ShareStateStore,
        clock: Clock,
        timers: Timers,
        limits: Callable[[], Limits],
    ) -> None:
        self.key = key
        self.partition = partition
        self.store = store
        self.clock = clock
        self.timers = timers
        self.limits = limits
        self.leader_epoch = partition.leader_epoch
        self.state_epoch = 0
        self.start = 0
        self.end = 0
        self._state: list[int] = []
        self._count: list[int] = []
        self._owner: list[str | None] = []
        self._deadline: list[float] = []
        self._available = 0
        #: Parked ShareFetch requests woken when records become available.
        self.waiters: set[asyncio.Future[None]] = set()
        #: Set when the partition is dropped (leader moved, group deleted): its
        #: pending lock timers then do nothing.
        self.fenced = False
        self._load()

    # -- loading -----------------------------------------------------------------------

    def _load(self) -> None:
        state = self.store.read(self.key)
        if state is None or state.start_offset < 0:
            self.state_epoch = state.state_epoch if state is not None else 0
            self.start = self.end = self._reset_offset()
            self._persist()
            return
        self.state_epoch = state.state_epoch
        self.start = self.end = state.start_offset
        for batch in state.batches:
            if batch.last_offset < self.start:
                continue
            first = max(batch.first_offset, self.start)
            if first > self.end:
                # Offsets the state does not mention were fetched but never
                # acknowledged: acquirable again (Kafka's persister gap window).
                self._append(self.end, first - self.end, AVAILABLE, 0)
            self._append(
                first, batch.last_offset - first + 1, batch.delivery_state, batch.delivery_count
            )
        self._sync_log_start()
        self._advance()

    def _append(self, first: int, n: int, state: int, count: int) -> None:
        assert first == self.end
        self._state.extend([state] * n)
        self._count.extend([count] * n)
        self._owner.extend([None] * n)
        self._deadline.extend([0.0] * n)
        if state == AVAILABLE:
            self._available += n
        self.end += n

    def _reset_offset(self) -> int:
        """Return the start offset ``share.auto.offset.reset`` gives a new share
        partition (Kafka's ``startOffsetDuringInitialization``)."""
        p = self.partition
        reset = self.limits().auto_offset_reset
        if reset == "earliest":
            return p.log_start_offset
        if reset.startswith("by_duration:"):
            ms = parse_iso_duration_ms(reset[len("by_duration:") :]) or 0
            found = p.offset_for_timestamp(self.clock.now_ms() - ms)
            return found[0] if found is not None else p.high_watermark
        return p.high_watermark

    def _sync_log_start(self) -> bool:
        """Move the SPSO up to the log start offset when records were deleted
        (retention, DeleteRecords); return whether it moved."""
        log_start = self.partition.log_start_offset
        if log_start <= self.start:
            return False
        drop = min(log_start, self.end) - self.start
        self._drop_front(drop)
        if log_start > self.end:
            self.end = log_start
        self.start = log_start
        return True

    def _drop_front(self, n: int) -> None:
        if n <= 0:
            return
        self._available -= self._state[:n].count(AVAILABLE)
        del self._state[:n], self._count[:n], self._owner[:n], self._deadline[:n]
        self.start += n

    # -- state ---------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Return the records between the SPSO and the SPEO."""
        return self.end - self.start

    def next_fetch_offset(self) -> int:
        """Return the first AVAILABLE in-flight offset, else the end of the window."""
        if self._available:
            for i, s in enumerate(self._state):
                if s == AVAILABLE:
                    return self.start + i
        return self.end

    def _fetch_end(self, limits: Limits) -> int:
        p = self.partition
        return p.last_stable_offset if limits.read_committed else p.high_watermark

    def can_acquire(self) -> bool:
        """Return whether a fetch could acquire something now."""
        limits = self.limits()
        self._sync_log_start()
        if self._available:
            return True
        return self.end < self._fetch_end(limits) and self.in_flight < limits.max_record_locks

    def acquirable_bytes(self, budget: int) -> int:
        """Return (up to ``budget``) the bytes a fetch could read now, to decide
        whether a parked ShareFetch has its ``min_bytes``."""
        if not self.can_acquire():
            return 0
        start = self.next_fetch_offset()
        batches = self.partition.read(start, budget, True, self._fetch_end(self.limits()))
        return sum(len(b) for b in batches)

    def delivery_complete_count(self) -> int:
        """Return the acknowledged and archived records in flight."""
        return self._state.count(ACKNOWLEDGED) + self._state.count(ARCHIVED)

    def lag(self) -> int:
        """Return the records not yet delivered for good: from the SPSO to the end of
        what the group may read, less those already acknowledged or archived
        (KIP-1226)."""
        end = self._fetch_end(self.limits())
        return end - self.start - self.delivery_complete_count()

    # -- acquiring ------------------------------------------------------------------------

    def acquire(
        self,
        member_id: str,
        max_records: int,
        max_bytes: int,
        record_limit: bool = False,
        batch_size: int = 0,
    ) -> Acquired:
        """Acquire up to ``max_records`` records for ``member_id`` and lock them.

        Records past ``max_records`` are acquired to the end of their batch unless
        ``record_limit`` (ShareFetch v2 ``share_acquire_mode`` 1). ``max_bytes``
        bounds the data read, though the first batch is always read (KIP-74).
        Returns the acquired ranges and the batches to send.
        """
        out = Acquired()
        if max_records <= 0 or max_bytes <= 0:
            return out
        limits = self.limits()
        moved = self._sync_log_start()
        fetch_end = self._fetch_end(limits)
        start_at = self.next_fetch_offset()
        new_room = limits.max_record_locks - self.in_flight
        if start_at >= fetch_end or (start_at >= self.end and new_room <= 0):
            if moved:
                self._advance()
                self._persist()
            return out
        batches = _one_per_batch(self.partition.read(start_at, max_bytes, True, fetch_end))
        deadline = self.clock.monotonic() + limits.record_lock_ms / 1000
        got = _Spans()
        archived = self._acquire_from(
            member_id,
            batches,
            start_at,
            fetch_end,
            limits,
            deadline,
            max_records,
            record_limit,
            new_room,
            got,
        )
        if got.count:
            spans = [tuple(span) for span in got.items]
            out.ranges = _split(spans, batches, batch_size)  # type: ignore[arg-type]
            out.batches = _covering(batches, spans)  # type: ignore[arg-type]
            out.count = got.count
            self.timers.call_later(
                limits.record_lock_ms / 1000, self._lock_expired, member_id, spans
            )
        if archived or moved:
            self._settle()
        return out

    def _acquire_from(
        self,
        member_id: str,
        batches: Sequence[Buffer],
        start_at: int,
        fetch_end: int,
        limits: Limits,
        deadline: float,
        max_records: int,
        record_limit: bool,
        new_room: int,
        got: _Spans,
    ) -> bool:
        """Walk the fetched batches and acquire their available offsets (one by one)
        and their new offsets past the window (a batch at a time); return whether
        any record was archived instead (aborted transactions, missing offsets)."""
        limit = limits.delivery_count_limit
        throttle_from = max(2, -(-limit // 2))
        throttle_max = -1
        archived = False
        full = False
        # read_committed: (producer id, first, last offset) of aborted transactions.
        aborted_txns = (
            [
                (t.producer_id, t.first_offset, t.last_offset)
                for t in self.partition.log.collect_aborted(start_at, fetch_end)
            ]
            if limits.read_committed
            else []
        )
        for batch in batches:
            if full:
                break
            h = parse_header(batch)
            aborted = (
                h.is_transactional
                and not h.is_control
                and any(
                    pid == h.producer_id and first <= h.base_offset <= last
                    for pid, first, last in aborted_txns
                )
            )
            lo, hi = max(h.base_offset, start_at), min(h.last_offset, fetch_end - 1)
            for off in range(lo, min(hi, self.end - 1) + 1):
                i = off - self.start
                if i < 0 or self._state[i] != AVAILABLE:
                    continue
                if aborted:
                    self._set(i, ARCHIVED)
                    archived = True
                    continue
                count = self._count[i]
                if got.count and (
                    (limit > 2 and count == limit - 1)
                    or (count >= throttle_from and throttle_max < 0)
                ):
                    # A record near its delivery limit goes out alone, or in a smaller
                    # group than its batch (Kafka's throttling of redeliveries).
                    return archived
                if count >= throttle_from and throttle_max < 0:
                    batch_len = h.last_offset - h.base_offset + 1
                    throttle_max = max(1, batch_len >> (count - throttle_from + 1))
                self._state[i] = ACQUIRED
                self._available -= 1
                self._count[i] = count + 1
                self._owner[i] = member_id
                self._deadline[i] = deadline
                got.add(off, off, count + 1)
                if limit > 2 and count + 1 == limit:
                    return archived
                if throttle_max > 0 and got.count >= throttle_max:
                    return archived
                if got.count >= max_records:
                    if record_limit:
                        return archived
                    full = True  # finish this batch, then stop
            first_new = max(lo, self.end)
            if first_new > hi:
                continue
            if full or new_room <= 0 or throttle_max > 0:
                # Only a batch already begun is finished past the limits.
                if record_limit or throttle_max > 0 or not got.count or first_new == h.base_offset:
                    return archived
            if first_new > self.end:
                # Offsets the log no longer has (compaction, deleted records).
                self._append(self.end, first_new - self.end, ARCHIVED, 0)
                archived = True
            n = hi - first_new + 1
            if aborted:
                self._append(first_new, n, ARCHIVED, 0)
                new_room -= n
                archived = True
                continue
            if record_limit:
                n = min(n, max_records - got.count, max(new_room, 0))
            self._state.extend([ACQUIRED] * n)
            self._count.extend([1] * n)
            self._owner.extend([member_id] * n)
            self._deadline.extend([deadline] * n)
            self.end += n
            new_room -= n
            got.add(first_new, first_new + n - 1, 1)
            if got.count >= max_records or new_room <= 0:
                if record_limit:
                    return archived
                full = True
        return archived

    # -- acknowledging and releasing -------------------------------------------------------

    def acknowledge(
        self, member_id: str, batches: Sequence[tuple[int, int, Sequence[int]]]
    ) -> None:
        """Apply a member's acknowledgements, all or nothing.

        Each item is ``(first_offset, last_offset, acknowledge_types)`` with one type
        for the whole range or one per offset. Offsets below the SPSO are ignored.

        Raises:
            AckError: INVALID_RECORD_STATE for an offset that is not acquired by
                ``member_id`` or not in flight, or a renewal the group does not
                allow; INVALID_REQUEST for an offset past the records in flight.
        """
        limits = self.limits()
        # Check everything first: (index from, index to, one type or one per offset).
        changes: list[tuple[int, int, Sequence[int]]] = []
        for first, last, types in batches:
            if last < self.start:
                continue
            if self.start == self.end:
                raise AckError(
                    ErrorCode.INVALID_RECORD_STATE,
                    "Batch record not found. The request batch offsets are not found in the cache.",
                )
            if first >= self.end:
                raise AckError(
                    ErrorCode.INVALID_REQUEST,
                    "Batch record not found. The first offset in request is past acquired records.",
                )
            if last >= self.end:
                raise AckError(
                    ErrorCode.INVALID_REQUEST,
                    "Batch record not found. The last offset in request is past acquired records.",
                )
            lo, hi = max(first, self.start) - self.start, last - self.start + 1
            kinds = types if len(types) == 1 else types[lo + self.start - first :]
            self._check_acquired(member_id, lo, hi, len(types) == 1)
            if RENEW in kinds and not limits.renew_enabled:
                raise AckError(
                    ErrorCode.INVALID_RECORD_STATE,
                    "Renew acknowledgements are disabled for this share group "
                    "(share.renew.acknowledge.enable=false).",
                )
            changes.append((lo, hi, kinds))
        renewed: list[tuple[int, int, int]] = []
        deadline = self.clock.monotonic() + limits.record_lock_ms / 1000
        changed = False
        for lo, hi, kinds in changes:
            if len(kinds) == 1:
                changed |= self._apply(lo, hi, kinds[0], deadline, limits, renewed)
            else:
                for k, kind in enumerate(kinds):
                    changed |= self._apply(lo + k, lo + k + 1, kind, deadline, limits, renewed)
        if renewed:
            self.timers.call_later(
                limits.record_lock_ms / 1000, self._lock_expired, member_id, renewed
            )
        if changed:
            self._settle()
            self._wake()

    def _check_acquired(self, member_id: str, lo: int, hi: int, one: bool) -> None:
        """Check that indexes ``lo..hi-1`` are acquired by ``member_id``.

        Raises:
            AckError: INVALID_RECORD_STATE with Kafka's message.
        """
        n = hi - lo
        if self._state[lo:hi].count(ACQUIRED) == n and self._owner[lo:hi].count(member_id) == n:
            return
        for i in range(lo, hi):  # find the first culprit, for Kafka's message
            if self._state[i] != ACQUIRED:
                raise AckError(
                    ErrorCode.INVALID_RECORD_STATE,
                    "The batch cannot be acknowledged. The batch is not in the acquired state."
                    if one
                    else "The offset cannot be acknowledged. The offset is not acquired.",
                )
            if self._owner[i] != member_id:
                raise AckError(
                    ErrorCode.INVALID_RECORD_STATE,
                    "Member is not the owner of batch record"
                    if one
                    else "Member is not the owner of offset",
                )

    def _apply(
        self,
        lo: int,
        hi: int,
        kind: int,
        deadline: float,
        limits: Limits,
        renewed: list[tuple[int, int, int]],
    ) -> bool:
        """Apply one acknowledge type to acquired indexes ``lo..hi-1``; return whether
        a state changed (a renewal only moves the lock deadline)."""
        n = hi - lo
        if kind == RENEW:
            self._deadline[lo:hi] = [deadline] * n
            renewed.append((self.start + lo, self.start + hi - 1, 0))
            return False
        if kind == RELEASE:
            limit = limits.delivery_count_limit
            states = [ARCHIVED if c >= limit else AVAILABLE for c in self._count[lo:hi]]
            self._available += states.count(AVAILABLE)
        else:
            states = [ACKNOWLEDGED if kind == ACCEPT else ARCHIVED] * n  # REJECT, GAP
        self._state[lo:hi] = states
        self._owner[lo:hi] = [None] * n
        return True

    def release_member(self, member_id: str) -> int:
        """Release every record ``member_id`` holds (its share session closed):
        AVAILABLE again, with this delivery not counted. Return how many."""
        n = 0
        for i, owner in enumerate(self._owner):
            if owner == member_id and self._state[i] == ACQUIRED:
                self._count[i] = max(self._count[i] - 1, 0)
                self._set(i, AVAILABLE)
                n += 1
        if n:
            self._settle()
            self._wake()
        return n

    def _lock_expired(self, member_id: str, spans: Sequence[tuple[int, int, int]]) -> None:
        """Release the records of one acquisition whose lock ran out (an ack or a
        renewal in the meantime leaves them alone)."""
        if self.fenced:
            return
        now = self.clock.monotonic() + 1e-6
        limit = self.limits().delivery_count_limit
        n = 0
        size = len(self._state)
        for first, last, *_ in spans:
            for i in range(max(first - self.start, 0), min(last - self.start + 1, size)):
                if self._state[i] == ACQUIRED and self._owner[i] == member_id:
                    if self._deadline[i] <= now:
                        self._release(i, limit)
                        n += 1
        if n:
            self._settle()
            self._wake()

    def _release(self, i: int, limit: int) -> None:
        self._set(i, ARCHIVED if self._count[i] >= limit else AVAILABLE)

    def _set(self, i: int, state: int) -> None:
        old = self._state[i]
        if old == AVAILABLE:
            self._available -= 1
        if state == AVAILABLE:
            self._available += 1
        self._state[i] = state
        self._owner[i] = None

    def _advance(self) -> None:
        """Move the SPSO past the acknowledged and archived records at its head."""
        state = self._state
        n = len(state)
        for open_state in (AVAILABLE, ACQUIRED):  # list.index scans in C
            try:
                n = min(n, state.index(open_state, 0, n))
            except ValueError:
                pass
        self._drop_front(n)

    # -- persistence and waiters ------------------------------------------------------------

    def state(self) -> PartitionState:
        """Return the state as it is persisted (acquired records as AVAILABLE, with
        the delivery count they had before this delivery)."""
        batches: list[StateBatch] = []
        items = (
            (AVAILABLE, c - 1) if s == ACQUIRED else (s, c)
            for s, c in zip(self._state, self._count, strict=True)
        )
        offset = self.start
        for (s, c), group in itertools.groupby(items):
            n = sum(1 for _ in group)
            batches.append(StateBatch(offset, offset + n - 1, s, c))
            offset += n
        return PartitionState(
            self.state_epoch,
            self.start,
            self.leader_epoch,
            batches,
            self.delivery_complete_count(),
        )

    def _persist(self) -> None:
        self.store.write(self.key, self.state())

    def _settle(self) -> None:
        """Persist the changed record states, then move the SPSO past the finished
        records at its head. Kafka writes the state with the start offset it had
        before the change and moves it once the write succeeds, so the persisted
        start offset (what DescribeShareGroupOffsets reports) trails the live one
        until the next write; the lag it reports is right all the same, as the
        finished records count as delivery-complete."""
        self._persist()
        self._advance()

    def _wake(self) -> None:
        if self.waiters:
            for fut in self.waiters:
                if not fut.done():
                    fut.set_result(None)
            self.waiters.clear()

    def fence(self) -> None:
        """Drop the partition (its leader moved, or its state was reset): its lock
        timers do nothing, and parked fetches wake up to see the change."""
        self.fenced = True
        self._wake()

    def snapshot(self) -> dict[str, Any]:
        """Return the in-flight records as plain data (for tests and tools)."""
        return {
            "start_offset": self.start,
            "end_offset": self.end - 1 if self.end > self.start else self.start - 1,
            "state_epoch": self.state_epoch,
            "leader_epoch": self.leader_epoch,
            "records": [
                {
                    "offset": self.start + i,
                    "state": STATE_NAMES[s],
                    "delivery_count": self._count[i],
                    "member_id": self._owner[i],
                }
                for i, s in enumerate(self._state)
            ],
        }


class _Spans:
    """Acquired offsets as ``[first, last, delivery_count]`` runs, in order."""

    __slots__ = ("count", "items")

    def __init__(self) -> None:
        self.items: list[list[int]] = []
        self.count = 0

    def add(self, first: int, last: int, delivery_count: int) -> None:
        """Add ``first..last`` (inclusive), all delivered ``delivery_count`` times."""
        items = self.items
        if items and items[-1][1] + 1 == first and items[-1][2] == delivery_count:
            items[-1][1] = last
        else:
            items.append([first, last, delivery_count])
        self.count += last - first + 1


def _split(
    spans: list[tuple[int, int, int]], batches: Sequence[Buffer], batch_size: int
) -> list[tuple[int, int, int]]:
    """Split acquired runs at record-batch boundaries once a piece holds
    ``batch_size`` records (Kafka splits acquisitions at ShareFetch's ``batch_size``)."""
    if batch_size <= 0 or all(last - first < batch_size for first, last, _ in spans):
        return spans
    bases = [parse_header(b).base_offset for b in batches]
    out: list[tuple[int, int, int]] = []
    for first, last, count in spans:
        start = first
        for base in bases[bisect.bisect_right(bases, first) :]:
            if base > last:
                break
            if base - start >= batch_size:
                out.append((start, base - 1, count))
                start = base
        out.append((start, last, count))
    return out


def _one_per_batch(buffers: Sequence[Buffer]) -> list[memoryview]:
    """Return the record batches the log's read buffers hold, one view each (a
    buffer may hold several whole batches)."""
    out: list[memoryview] = []
    for buf in buffers:
        view = memoryview(buf)
        pos, n = 0, len(view)
        while pos < n:
            size = parse_header(view, pos).size
            out.append(view[pos : pos + size])
            pos += size
    return out


def _covering(batches: Sequence[Buffer], spans: list[tuple[int, int, int]]) -> list[Buffer]:
    """Return the batches that hold at least one offset of the (ordered) ``spans``."""
    out = []
    j = 0
    for batch in batches:
        h = parse_header(batch)
        while j < len(spans) and spans[j][1] < h.base_offset:
            j += 1
        if j < len(spans) and spans[j][0] <= h.last_offset:
            out.append(batch)
    return out
