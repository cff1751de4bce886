"""Replication: the append path, followers, the ISR, the high watermark and elections.

Replication is logical, as in franz-go's kfake: the cluster has one owner of
state, and every replica of a partition has its own log (on its own node's
storage). What Kafka does with follower Fetch requests and the controller's
AlterPartition, this module does directly, with Kafka's rules:

* **Append** (:meth:`ReplicaManager.append_to_leader`): the leader's log stores the
  batch first (an ``OSError`` leaves nothing visible), stamped with the leader
  epoch (KIP-101). Every follower that the leader can reach and that is caught up
  copies it at once, so the high watermark moves in the same step; a follower on
  a stopped or isolated node gets nothing and falls behind.
* **High watermark**: the smallest log end offset in the ISR.
* **ISR** (KIP-16 ``replica.lag.time.max.ms``): a follower that has not caught up
  with the leader for that long leaves the ISR (checked every half of it, as
  Kafka's ``isr-expiration`` task does); a leader cut off from the rest of the
  cluster (an isolated node) is fenced after that long and loses leadership. A
  follower that catches up rejoins. A stopped node leaves every ISR at once (a
  controlled shutdown, KIP-631 fencing).
* **Elections**: the first replica in assignment order that is alive, reachable
  and in the ISR leads; without one, a topic with
  ``unclean.leader.election.enable`` takes any live replica (data loss), else the
  partition goes offline until an ISR member returns. Every new leader bumps the
  leader epoch.
* **Truncation** (KIP-101/279): a returning follower, or a deposed leader, finds
  where its log diverges from the leader's through the leader-epoch caches
  (what OffsetForLeaderEpoch answers) and truncates there before copying.
* **acks=all** (``Produce``): answered once the high watermark passes the batch;
  refused with NOT_ENOUGH_REPLICAS when the ISR is smaller than
  ``min.insync.replicas``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from ..protocol.records import BatchHeader, parse_header, set_partition_leader_epoch
from .clock import Clock, TimerHandle
from .epochs import LeaderEpochCache
from .topics import NO_LEADER, Partition, Topic

log = logging.getLogger("streamtest.broker.replication")

Buffer = bytes | bytearray | memoryview


class AppendJournal(Protocol):
    """Persists an appended batch of a replica log before it is acknowledged."""

    def append(self, log: object, batch: Buffer) -> None:
        """Write ``batch`` to ``log``'s files.

        Raises:
            OSError: the write failed.
        """
        ...

    def log_start_changed(self, log: object) -> None:
        """Persist ``log``'s new log start offset."""
        ...


class Topology(Protocol):
    """What replication needs to know about the nodes."""

    def alive(self, node_id: int) -> bool:
        """Return whether the node is up (not stopped or killed)."""
        ...

    def reachable(self, a: int, b: int) -> bool:
        """Return whether nodes ``a`` and ``b`` can talk (both up, neither isolated)."""
        ...

    def isolated_since_ms(self, node_id: int) -> int | None:
        """Return when the node was cut off from the others, or ``None``."""
        ...


class ReplicaManager:
    """The append path and the replica state machine of every partition.

    Args:
        clock: the cluster's clock.
        topology: node liveness and reachability.
        lag_time_ms: returns ``replica.lag.time.max.ms``.
        on_leader_change: called with a partition after every election (producer
            state is rebuilt, coordinators move).
        journal: persists appends (``None``: memory only).
    """

    def __init__(
        self,
        clock: Clock,
        topology: Topology,
        lag_time_ms: Callable[[], int],
        on_leader_change: Callable[[Partition], None],
        journal: AppendJournal | None = None,
    ) -> None:
        self.clock = clock
        self.topology = topology
        self.lag_time_ms = lag_time_ms
        self.on_leader_change = on_leader_change
        self.journal = journal
        self._timer: TimerHandle | None = None
        self._partitions: Callable[[], Iterable[Partition]] = lambda: ()

    # -- epochs and bookkeeping -----------------------------------------------------

    @staticmethod
    def epochs(partition: Partition, node_id: int) -> LeaderEpochCache:
        """Return the leader-epoch cache of ``partition``'s replica on ``node_id``."""
        cache = partition.epochs.get(node_id)
        if cache is None:
            cache = partition.epochs[node_id] = LeaderEpochCache()
        return cache

    def init_partition(self, partition: Partition) -> None:
        """Start a new or recovered partition's epoch bookkeeping: its leader's
        current epoch begins at the leader's log end offset."""
        now = self.clock.now_ms()
        for r in partition.replicas:
            partition.caught_up_ms[r] = now
        if partition.online:
            self.epochs(partition, partition.leader).assign(
                partition.leader_epoch, partition.log.log_end_offset
            )

    # -- the append path ------------------------------------------------------------

    def append_to_leader(self, partition: Partition, batch: Buffer, header: BatchHeader) -> int:
        """Append one batch, whose base offset is already set, to ``partition``'s
        leader, then to every caught-up follower the leader can reach.

        Returns:
            The batch's base offset.

        Raises:
            OSError: storage refused the batch; nothing became visible.
            LookupError: the partition has no leader.
        """
        leader = partition.leader
        leader_log = partition.log
        end = leader_log.log_end_offset
        set_partition_leader_epoch(batch, partition.leader_epoch)
        if self.journal is not None:
            # Write first: a failure here leaves the in-memory log untouched.
            self.journal.append(leader_log, batch)
        leader_log.append(batch, header)
        self.epochs(partition, leader).assign(partition.leader_epoch, header.base_offset)
        if len(partition.logs) > 1:
            now = self.clock.now_ms()
            reachable = self.topology.reachable
            for node_id, replica in partition.logs.items():
                if node_id == leader or not reachable(leader, node_id):
                    continue
                if replica.log_end_offset == end:
                    replica.append(bytes(batch), header)
                    self.epochs(partition, node_id).assign(partition.leader_epoch, end)
                    partition.caught_up_ms[node_id] = now
                elif node_id not in partition.isr:
                    self.catch_up(partition, node_id)
        partition.wake_waiters()
        return header.base_offset

    def delete_records_before(self, partition: Partition, offset: int) -> None:
        """Move ``partition``'s log start offset to ``offset`` on every replica that
        the leader reaches (DeleteRecords) and persist it."""
        for node_id, replica in partition.logs.items():
            if node_id != partition.leader and not self.topology.reachable(
                partition.leader, node_id
            ):
                continue
            replica.delete_records_before(offset)
            self.epochs(partition, node_id).truncate_from_start(offset)
            if self.journal is not None:
                self.journal.log_start_changed(replica)
        partition.wake_waiters()

    # -- followers ----------------------------------------------------------------------

    def catch_up(self, partition: Partition, follower: int) -> bool:
        """Bring ``follower``'s replica in line with the leader: truncate where it
        diverges (KIP-279), copy what it misses, and add it to the ISR.

        Returns:
            Whether the follower is now caught up (and in the ISR).
        """
        leader = partition.leader
        if (
            leader == NO_LEADER
            or follower == leader
            or not partition.online
            or not self.topology.reachable(leader, follower)
        ):
            return False
        lead = partition.logs[leader]
        mine = partition.logs[follower]
        self._truncate_to_divergence(partition, follower)
        if mine.log_end_offset < lead.log_start_offset:
            mine.truncate_fully_and_start_at(lead.log_start_offset)
            self.epochs(partition, follower).clear()
        elif mine.log_start_offset < lead.log_start_offset:
            mine.delete_records_before(lead.log_start_offset)
        cache = self.epochs(partition, follower)
        for batch in lead.read(mine.log_end_offset, 2**62, True, lead.log_end_offset):
            header = parse_header(batch)
            mine.append(bytes(batch), header)
            cache.assign(header.partition_leader_epoch, header.base_offset)
        partition.caught_up_ms[follower] = self.clock.now_ms()
        if follower not in partition.isr:
            partition.isr.append(follower)
            order = partition.replicas
            partition.isr.sort(key=lambda r: order.index(r) if r in order else len(order))
            partition.partition_epoch += 1
            log.info("%s-%d: node %d rejoined the ISR %s", partition.topic, partition.index,
                     follower, partition.isr)
        partition.wake_waiters()
        return True

    def _truncate_to_divergence(self, partition: Partition, follower: int) -> None:
        lead = partition.logs[partition.leader]
        mine = partition.logs[follower]
        mine_cache = self.epochs(partition, follower)
        lead_cache = self.epochs(partition, partition.leader)
        epoch = mine_cache.latest_epoch
        if epoch < 0:
            target = min(mine.log_end_offset, lead.log_end_offset)
        else:
            lead_epoch, lead_end = lead_cache.end_offset_for(epoch, lead.log_end_offset)
            if lead_epoch < 0:
                # The leader knows no epoch this late: as Kafka's fetcher, fall
                # back to the high watermark, which every ISR member has.
                target = min(partition.high_watermark, mine.log_end_offset)
            elif lead_epoch == epoch:
                target = min(lead_end, mine.log_end_offset)
            else:
                # KIP-279: the leader knows an older epoch only; cut at the end of
                # that epoch on both sides.
                _, my_end = mine_cache.end_offset_for(lead_epoch, mine.log_end_offset)
                target = min(lead_end, my_end)
        if target < mine.log_end_offset:
            log.info("%s-%d: node %d truncates its log from %d to %d", partition.topic,
                     partition.index, follower, mine.log_end_offset, target)
            mine.truncate_to(target)
            mine_cache.truncate_from_end(mine.log_end_offset)

    # -- ISR maintenance ------------------------------------------------------------------

    def start(self, partitions: Callable[[], Iterable[Partition]]) -> None:
        """Start the periodic ISR check (every half of ``replica.lag.time.max.ms``)."""
        self._partitions = partitions
        self._schedule()

    def stop(self) -> None:
        """Cancel the ISR check."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self) -> None:
        self._timer = self.clock.call_later(max(self.lag_time_ms(), 2) / 2000, self._tick)

    def _tick(self) -> None:
        try:
            self.check_isr()
        except Exception:
            log.exception("ISR check failed")
        self._schedule()

    def check_isr(self) -> int:
        """Shrink every ISR by the followers that lagged for ``replica.lag.time.max.ms``
        and fence leaders isolated for that long; return how many replicas left."""
        now = self.clock.now_ms()
        lag = self.lag_time_ms()
        removed = 0
        for partition in list(self._partitions()):
            leader = partition.leader
            if leader == NO_LEADER:
                continue
            since = self.topology.isolated_since_ms(leader)
            if since is not None and now - since >= lag:
                log.info("%s-%d: leader %d is cut off; it leaves the ISR", partition.topic,
                         partition.index, leader)
                self.remove_from_isr(partition, leader)
                removed += 1
                continue
            lead_end = partition.logs[leader].log_end_offset
            for f in [r for r in partition.isr if r != leader]:
                if (
                    self.topology.reachable(leader, f)
                    and partition.logs[f].log_end_offset >= lead_end
                ):
                    partition.caught_up_ms[f] = now
                elif now - partition.caught_up_ms.get(f, now) >= lag:
                    log.info("%s-%d: node %d lagged for %d ms; it leaves the ISR",
                             partition.topic, partition.index, f, lag)
                    self.remove_from_isr(partition, f)
                    removed += 1
        return removed

    def remove_from_isr(self, partition: Partition, node_id: int) -> None:
        """Take ``node_id`` out of ``partition``'s ISR (electing a new leader if it
        led), keeping the last member as Kafka keeps it for an offline partition."""
        if node_id not in partition.isr:
            return
        if len(partition.isr) == 1:
            # The last in-sync replica stays in the ISR: it holds every committed
            # record, so it must lead when the partition comes back.
            if partition.leader == node_id:
                self.elect(partition)
            return
        partition.isr.remove(node_id)
        partition.partition_epoch += 1
        if partition.leader == node_id:
            self.elect(partition)
        partition.wake_waiters()

    # -- elections -----------------------------------------------------------------------

    def candidates(self, partition: Partition) -> list[int]:
        """Return the ISR members that could lead now, in assignment order."""
        alive = self.topology.alive
        return [
            r
            for r in partition.replicas
            if r in partition.isr and alive(r) and self.topology.isolated_since_ms(r) is None
        ]

    def elect(
        self, partition: Partition, preferred: int | None = None, unclean: bool | None = None
    ) -> int:
        """Choose ``partition``'s leader again (``preferred`` if it may lead) and
        return it (-1: the partition is offline).

        ``unclean`` overrides the topic's ``unclean.leader.election.enable``.
        """
        candidates = self.candidates(partition)
        if preferred is not None and preferred in candidates:
            new = preferred
        elif partition.leader in candidates and preferred is None:
            new = partition.leader
        elif candidates:
            new = candidates[0]
        else:
            allow = partition.unclean_allowed() if unclean is None else unclean
            live = [
                r
                for r in partition.replicas
                if self.topology.alive(r) and self.topology.isolated_since_ms(r) is None
            ]
            if allow and live:
                new = live[0]
                log.warning("%s-%d: unclean election of node %d (out of sync; data may be "
                            "lost)", partition.topic, partition.index, new)
                partition.isr = [new]
            else:
                new = NO_LEADER
        if new == partition.leader:
            return new
        self.set_leader(partition, new)
        return new

    def set_leader(self, partition: Partition, new: int) -> None:
        """Make ``new`` the leader (or take the partition offline with -1): bump the
        epochs, let the other live replicas follow it, and tell listeners."""
        old = partition.leader
        partition.leader = new
        partition.partition_epoch += 1
        if new != NO_LEADER:
            partition.leader_epoch += 1
            if new not in partition.isr:
                partition.isr = [new]
            self.epochs(partition, new).assign(
                partition.leader_epoch, partition.logs[new].log_end_offset
            )
            for f in partition.replicas:
                if f != new and self.topology.reachable(new, f):
                    self.catch_up(partition, f)
        log.info("%s-%d: leader %d -> %d (epoch %d, isr %s)", partition.topic,
                 partition.index, old, new, partition.leader_epoch, partition.isr)
        partition.leader_changed()
        self.on_leader_change(partition)

    # -- produce acks=all -------------------------------------------------------------------

    async def wait_for_acks(
        self, partition: Partition, required: int, leader_epoch: int, timeout: float
    ) -> int:
        """Wait until every in-sync replica has offsets below ``required``.

        Returns:
            An error code: NONE; NOT_LEADER_OR_FOLLOWER if the leader changed;
            NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below
            ``min.insync.replicas``; REQUEST_TIMED_OUT after ``timeout`` seconds.
        """
        from ..protocol.errors import ErrorCode

        loop = asyncio.get_running_loop()
        deadline = self.clock.monotonic() + timeout
        while True:
            if partition.leader_epoch != leader_epoch or not partition.online:
                return ErrorCode.NOT_LEADER_OR_FOLLOWER
            if partition.high_watermark >= required:
                if len(partition.isr) < partition.min_insync_replicas():
                    return ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
                return ErrorCode.NONE
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                return ErrorCode.REQUEST_TIMED_OUT
            fut: asyncio.Future[None] = loop.create_future()
            partition.waiters.add(fut)
            try:
                await self.clock.wait_for(fut, remaining)
            except TimeoutError:
                return ErrorCode.REQUEST_TIMED_OUT
            finally:
                partition.waiters.discard(fut)


def topic_partitions(topics: Iterable[Topic]) -> Iterable[Partition]:
    """Yield every partition of ``topics``."""
    for t in topics:
        yield from t.partitions
