"""Replication: the append path, followers, the ISR, the high watermark and elections.

Replication is logical, as in franz-go's kfake: the cluster has one owner of
state, and every replica of a partition has its own log (on its own node's
storage). What Kafka does with follower Fetch requests and the controller's
AlterPartition, this module does directly, with Kafka's rules:

* **Append** (:meth:`ReplicaManager.append_to_leader`): the leader's log stores the
  batch first (an ``OSError`` leaves nothing visible), stamped with the leader
  epoch (KIP-101), and the leader's producer state applies it. Every follower
  that the leader can reach and that is caught up copies it at once (into its
  own log and producer state), so the high watermark moves in the same step; a
  follower on a stopped or isolated node gets nothing and falls behind.
* **High watermark**: the smallest log end offset in the ISR, published to every
  replica log after each change (retention and compaction stop there).
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

from ..protocol.records import BatchHeader
from .clock import Clock, TimerHandle
from .log import LeaderEpochCache, PartitionLog
from .producers import ProducerIdManager, ProducerState, record_aborted, recover_state
from .topics import NO_LEADER, Partition, Topic

logger = logging.getLogger("streamtest.broker.replication")

Buffer = bytes | bytearray | memoryview


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
        on_leader_change: called with a partition after every election
            (coordinators move).
        producer_ids: told about every producer id found in a recovered log.
    """

    def __init__(
        self,
        clock: Clock,
        topology: Topology,
        lag_time_ms: Callable[[], int],
        on_leader_change: Callable[[Partition], None],
        producer_ids: ProducerIdManager | None = None,
    ) -> None:
        self.clock = clock
        self.topology = topology
        self.lag_time_ms = lag_time_ms
        self.on_leader_change = on_leader_change
        self.producer_ids = producer_ids
        self._timer: TimerHandle | None = None
        self._partitions: Callable[[], Iterable[Partition]] = lambda: ()

    # -- epochs and bookkeeping -----------------------------------------------------

    @staticmethod
    def epochs(partition: Partition, node_id: int) -> LeaderEpochCache:
        """Return the leader-epoch cache of ``partition``'s replica on ``node_id``
        (kept by its log, in its ``leader-epoch-checkpoint``)."""
        return partition.logs[node_id].epochs

    def init_partition(self, partition: Partition) -> None:
        """Start a new or recovered partition's bookkeeping: each replica's producer
        state (recovered from its log), and the leader's current epoch, which begins
        at the leader's log end offset."""
        now = self.clock.now_ms()
        for r in partition.replicas:
            partition.caught_up_ms[r] = now
        for r in partition.logs:
            self.recover(partition, r)
        if partition.online:
            log = partition.log
            if log.epochs.latest_epoch != partition.leader_epoch:
                log.epochs.assign(partition.leader_epoch, log.log_end_offset)
        partition.publish_high_watermark()

    def recover(self, partition: Partition, node_id: int) -> None:
        """Rebuild the producer state of ``partition``'s replica on ``node_id`` from
        its log (its newest snapshot, then the batches after it)."""
        log = partition.logs[node_id]
        state = recover_state(log, self.producer_ids, self.clock.now_ms())
        partition.states[node_id] = state
        self._attach(partition, node_id, log, state)

    def _attach(
        self, partition: Partition, node_id: int, log: PartitionLog, state: ProducerState
    ) -> None:
        """Connect a replica log to its producer state: snapshots at each roll (as
        Kafka takes them) and the cleaner's view of active producers."""

        def on_roll(new_base: int) -> None:
            # Only a state that reflects exactly the log up to the roll is a valid
            # snapshot there: true for appends in order, which is when logs roll.
            if partition.states.get(node_id) is state and log.log_end_offset == new_base:
                try:
                    log.write_snapshot(new_base, state.snapshot())
                except OSError as exc:
                    logger.warning("%s: producer snapshot at %d failed: %s", log.directory,
                                   new_base, exc)

        log.on_roll = on_roll
        log.active_producers = state.last_records

    def snapshot_states(self, partition: Partition, node_id: int | None = None) -> None:
        """Write the producer-state snapshot of every open replica (or only the one
        on ``node_id``) at its log end: a clean shutdown does, so that the next
        start replays nothing."""
        for replica_node, log in partition.logs.items():
            if node_id is not None and replica_node != node_id:
                continue
            state = partition.states.get(replica_node)
            if state is None or log.closed:
                continue
            try:
                log.write_snapshot(log.log_end_offset, state.snapshot())
            except OSError as exc:
                logger.warning("%s: producer snapshot failed: %s", log.directory, exc)

    def _apply(self, partition: Partition, node_id: int, header: BatchHeader, batch: Buffer,
               now: int) -> None:
        """Apply an appended batch to the replica's producer state: an aborted
        transaction goes into its log's transaction index, and the log learns its
        first unstable offset."""
        state = partition.states.get(node_id)
        if state is None:
            state = partition.states[node_id] = ProducerState()
            self._attach(partition, node_id, partition.logs[node_id], state)
        if header.producer_id < 0:
            return
        log = partition.logs[node_id]
        aborted = state.apply(header, batch, now)
        if aborted is not None:
            record_aborted(log, state, aborted)
        log.first_unstable_offset = state.first_unstable_offset()

    # -- the append path ------------------------------------------------------------

    def append_to_leader(
        self, partition: Partition, batch: Buffer, header: BatchHeader, *, owned: bool = False
    ) -> int:
        """Append one batch, whose base offset is already set, to ``partition``'s
        leader, then to every caught-up follower the leader can reach.

        Args:
            partition: the partition.
            batch: the batch (writable: the leader epoch is stamped into it).
            header: its parsed header.
            owned: the caller never touches ``batch`` again (a request frame), so
                in-memory logs may keep it instead of a copy (the replicas then
                share it: it is never changed once appended).

        Returns:
            The batch's base offset.

        Raises:
            OSError: the leader's storage refused the batch; nothing became visible.
            LookupError: the partition has no leader.
        """
        leader = partition.leader
        leader_log = partition.log
        end = leader_log.log_end_offset
        epoch = partition.leader_epoch
        # Write first: an OSError here leaves the log (and everything else) untouched.
        leader_log.append(batch, header, epoch, owned=owned)
        now = self.clock.now_ms()
        self._apply(partition, leader, header, batch, now)
        if len(partition.logs) > 1:
            reachable = self.topology.reachable
            for node_id, replica in partition.logs.items():
                if node_id == leader or not reachable(leader, node_id):
                    continue
                if replica.log_end_offset == end:
                    try:
                        self._copy(partition, node_id, header, batch, epoch, now, owned)
                    except OSError as exc:
                        # The follower's disk failed: it falls behind (and out of
                        # the ISR), as a Kafka follower with a failed log dir does.
                        logger.error("%s-%d: node %d cannot store a batch: %s",
                                     partition.topic, partition.index, node_id, exc)
                        continue
                    partition.caught_up_ms[node_id] = now
                elif node_id not in partition.isr:
                    self.catch_up(partition, node_id)
        partition.publish_high_watermark()
        partition.wake_waiters()
        return header.base_offset

    def _copy(self, partition: Partition, node_id: int, header: BatchHeader, batch: Buffer,
              epoch: int, now: int, owned: bool) -> None:
        """Append a batch the leader already has to a follower's log and state."""
        log = partition.logs[node_id]
        log.append(batch, header, owned=owned)
        if epoch >= 0 and log.epochs.latest_epoch != epoch:
            log.epochs.assign(epoch, header.base_offset)
        self._apply(partition, node_id, header, batch, now)

    def delete_records_before(self, partition: Partition, offset: int) -> None:
        """Move ``partition``'s log start offset to ``offset`` on every replica that
        the leader reaches (DeleteRecords); the segments below it are deleted."""
        for node_id, replica in partition.logs.items():
            if node_id != partition.leader and not self.topology.reachable(
                partition.leader, node_id
            ):
                continue
            replica.delete_records_before(offset)
        partition.publish_high_watermark()
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
        if mine.closed:
            return False  # its node is down; start_node reopens it
        try:
            self._truncate_to_divergence(partition, follower)
            if mine.log_end_offset < lead.log_start_offset:
                # It misses what the leader no longer has: start over at the
                # leader's log start (Kafka's truncateFullyAndStartAt).
                mine.truncate_fully_and_start_at(lead.log_start_offset)
                self.recover(partition, follower)
            elif mine.log_start_offset < lead.log_start_offset:
                mine.delete_records_before(lead.log_start_offset)
            now = self.clock.now_ms()
            for header, batch in lead.iter_batches(mine.log_end_offset, lead.log_end_offset):
                self._copy(partition, follower, header, batch, header.partition_leader_epoch,
                           now, False)
        except OSError as exc:
            logger.error("%s-%d: node %d cannot catch up: %s", partition.topic,
                         partition.index, follower, exc)
            return False
        partition.caught_up_ms[follower] = self.clock.now_ms()
        if follower not in partition.isr:
            partition.isr.append(follower)
            order = partition.replicas
            partition.isr.sort(key=lambda r: order.index(r) if r in order else len(order))
            partition.partition_epoch += 1
            logger.info("%s-%d: node %d rejoined the ISR %s", partition.topic, partition.index,
                        follower, partition.isr)
        partition.publish_high_watermark()
        partition.wake_waiters()
        return True

    def _truncate_to_divergence(self, partition: Partition, follower: int) -> None:
        lead = partition.logs[partition.leader]
        mine = partition.logs[follower]
        mine_cache = self.epochs(partition, follower)
        lead_cache = self.epochs(partition, partition.leader)
        epoch = mine_cache.latest_epoch
        if epoch is None:
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
            logger.info("%s-%d: node %d truncates its log from %d to %d", partition.topic,
                     partition.index, follower, mine.log_end_offset, target)
            mine.truncate_to(target)
            # Its producer state described the cut batches too (Kafka reloads it
            # from the snapshot below the truncation point).
            self.recover(partition, follower)

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
            logger.exception("ISR check failed")
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
                logger.info("%s-%d: leader %d is cut off; it leaves the ISR", partition.topic,
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
                    logger.info("%s-%d: node %d lagged for %d ms; it leaves the ISR",
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
        # A smaller ISR may move the high watermark up (KIP-16).
        partition.publish_high_watermark()
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
                logger.warning("%s-%d: unclean election of node %d (out of sync; data may be "
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
        logger.info("%s-%d: leader %d -> %d (epoch %d, isr %s)", partition.topic,
                    partition.index, old, new, partition.leader_epoch, partition.isr)
        if new != NO_LEADER:
            partition.publish_high_watermark()
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
