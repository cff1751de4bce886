"""The group coordinator: every group of the broker, its offsets and its timers.

The single broker is the coordinator of every group and every transactional id
(FindCoordinator always names it). :class:`GroupCoordinator` is what the API
handlers (keys 8-16, 42, 47, 68, 69) and other broker components call; it owns:

* ``groups``: group id -> :class:`ClassicGroup`, :class:`ConsumerGroup`
  (KIP-848) or :class:`ShareGroup` (KIP-932). An empty classic or consumer group
  is replaced by the other type when a member of the other protocol joins. A live
  group converts as Kafka 4.x converts it under
  ``group.consumer.migration.policy`` (KIP-848 online migration; ``bidirectional``
  by default): a ConsumerGroupHeartbeat joining a classic group of the consumer
  protocol upgrades it (its members become classic members of a consumer group),
  a classic member may join a consumer group, and when the last member using the
  consumer protocol leaves a group of classic members, the group becomes a
  classic group again and rebalances. Group ids are one namespace: a share
  group's id cannot be used by a consumer group, nor the reverse.
* ``offsets``: committed offsets (``offsets.py``). Every commit, deletion and
  group change is also written to ``__consumer_offsets`` in Kafka's schemas
  (``records.py``), where tools such as Burrow read them; on start the
  coordinator rebuilds offsets and groups from that topic.
* ``timers``: session, rebalance and expiry timers, all cancelled by :meth:`stop`.

Everything runs on the cluster's event loop, synchronously; nothing here locks.
The coordinator receives narrow services, not the cluster: the broker settings
(``group.*`` and ``offsets.*`` in Kafka's names, ``config.py``), the clock (every
timer and timestamp), the topic table (read-only look-ups for KIP-848 groups,
which address topics by id) and the ``__consumer_offsets`` log
(:class:`OffsetsLog`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ...protocol.errors import ErrorCode
from ...protocol.exceptions import InvalidFrame
from ..clock import Clock, TimerHandle
from ..config import BrokerSettings
from ..services.group_configs import GroupConfigs
from ..topics import TopicTable
from . import classic, consumer, records, regex
from .assignors import ASSIGNORS
from .classic import ClassicGroup, JoinRequest, Outcome, join_error, sync_error
from .consumer import ConsumerGroup, HeartbeatRequest, error_response
from .offsets import OffsetAndMetadata, OffsetStore
from .share import ShareGroup, ShareHeartbeat, heartbeat_error
from .timers import Timers

if TYPE_CHECKING:
    from collections.abc import Iterable

log = logging.getLogger("streamtest.broker.groups")

Group = ClassicGroup | ConsumerGroup | ShareGroup


class OffsetsLog(Protocol):
    """The ``__consumer_offsets`` topic, as the coordinator writes and reads it."""

    def append(self, group_id: str, records: list[tuple[bytes, bytes | None]]) -> None:
        """Append key/value records (``None``: a tombstone) to ``group_id``'s partition."""
        ...

    def replay(self) -> Iterable[tuple[bytes, bytes | None]]:
        """Yield every record of the topic, each partition in offset order."""
        ...


class GroupCoordinator:
    """Coordinator of every consumer group of the cluster.

    Args:
        settings: the broker settings.
        clock: the cluster's clock.
        topics: the topic table (read only).
        log: the ``__consumer_offsets`` topic (``None``: keep nothing there).
    """

    def __init__(
        self,
        settings: BrokerSettings,
        clock: Clock,
        topics: TopicTable,
        log: OffsetsLog | None = None,
        group_configs: GroupConfigs | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.topics = topics
        self.log = log
        #: Per-group overrides of the group settings (the GROUP config resource).
        self.group_configs = group_configs or GroupConfigs(settings)
        self.groups: dict[str, Group] = {}
        self.offsets = OffsetStore(self._offset_changed)
        self.timers = Timers(clock)
        self._expiry_timer: TimerHandle | None = None
        #: Called with a group id after DeleteGroups removed the group (the share
        #: partition manager then forgets its share-partition state).
        self.deleted_listeners: list[Callable[[str], None]] = []
        self._load()

    # -- lifecycle -------------------------------------------------------------------

    def _load(self) -> None:
        """Rebuild offsets and groups from ``__consumer_offsets`` (Kafka's coordinator
        loads its partitions the same way). Members are not restored: they rejoin."""
        if self.log is None:
            return
        writer, self.offsets.on_change = self.offsets.on_change, None
        try:
            for key_bytes, value in self.log.replay():
                try:
                    self._apply(key_bytes, value)
                except InvalidFrame as exc:
                    log.error("skipping an unreadable __consumer_offsets record: %s", exc)
        finally:
            self.offsets.on_change = writer
        for group_id in self.offsets.group_ids():
            self.groups.setdefault(group_id, self._new_group(group_id, "classic"))

    def _apply(self, key_bytes: bytes, value: bytes | None) -> None:
        key = records.decode_key(key_bytes)
        if key is None:
            return
        if key.record_type == records.OFFSET_COMMIT:
            assert key.topic is not None and key.partition is not None
            if value is None:
                self.offsets.delete(key.group, key.topic, key.partition)
                return
            v = records.decode_offset_value(value)
            self.offsets.commit(
                key.group,
                key.topic,
                key.partition,
                OffsetAndMetadata(
                    v.offset, v.leader_epoch, v.metadata, v.commit_timestamp, v.expire_timestamp
                ),
            )
        elif value is None:
            self.groups.pop(key.group, None)
        elif key.record_type == records.GROUP_METADATA:
            meta = records.decode_group_value(value)
            group = self._new_group(key.group, "classic")
            group.protocol_type = meta.protocol_type or None  # type: ignore[assignment]
            self.groups[key.group] = group
        elif key.record_type == records.SHARE_GROUP_METADATA:
            self.groups[key.group] = self._new_group(key.group, "share")
        else:
            self.groups[key.group] = self._new_group(key.group, "consumer")

    def _offset_changed(
        self, group_id: str, topic: str, partition: int, value: OffsetAndMetadata | None
    ) -> None:
        if self.log is None:
            return
        encoded = None
        if value is not None:
            encoded = records.offset_value(
                records.OffsetValue(
                    value.offset,
                    value.leader_epoch,
                    value.metadata,
                    value.commit_timestamp_ms,
                    value.expire_timestamp_ms,
                )
            )
        self.log.append(group_id, [(records.offset_key(group_id, topic, partition), encoded)])

    def start(self) -> None:
        """Start the periodic offset-expiry sweep (call on the broker's loop)."""
        self.timers.stopped = False
        self._schedule_expiry()

    def stop(self) -> None:
        """Cancel every timer and answer parked JoinGroup/SyncGroup requests."""
        for group in self.groups.values():
            if isinstance(group, ClassicGroup):
                for m in group.members.values():
                    group.coord.timers.cancel(m.heartbeat_timer)
                    if m.join_waiter is not None and not m.join_waiter.done():
                        m.join_waiter.set_result(
                            join_error(m.member_id, ErrorCode.COORDINATOR_NOT_AVAILABLE)
                        )
                    if m.sync_waiter is not None and not m.sync_waiter.done():
                        m.sync_waiter.set_result(sync_error(ErrorCode.COORDINATOR_NOT_AVAILABLE))
        self.timers.cancel_all()

    def _schedule_expiry(self) -> None:
        interval = self._setting("offsets.retention.check.interval.ms")
        self._expiry_timer = self.timers.call_later(interval / 1000, self._expiry_tick)

    def _expiry_tick(self) -> None:
        try:
            self.expire_offsets()
        finally:
            self._schedule_expiry()

    # -- settings --------------------------------------------------------------------

    def _setting(self, name: str) -> int:
        return int(self.settings[name])

    def now_ms(self) -> int:
        """Return the clock's wall-clock time in milliseconds."""
        return self.clock.now_ms()

    @property
    def initial_rebalance_delay_ms(self) -> int:
        """Return ``group.initial.rebalance.delay.ms``."""
        return self._setting("group.initial.rebalance.delay.ms")

    def consumer_session_timeout_ms(self, group_id: str) -> int:
        """Return a KIP-848 group's session timeout: its ``consumer.session.timeout.ms``
        group config, else ``group.consumer.session.timeout.ms``."""
        return int(self.group_configs.value(group_id, "consumer.session.timeout.ms"))

    def consumer_heartbeat_interval_ms(self, group_id: str) -> int:
        """Return a KIP-848 group's heartbeat interval: its
        ``consumer.heartbeat.interval.ms`` group config, else
        ``group.consumer.heartbeat.interval.ms``."""
        return int(self.group_configs.value(group_id, "consumer.heartbeat.interval.ms"))

    @property
    def offsets_retention_ms(self) -> int:
        """Return ``offsets.retention.minutes`` in milliseconds."""
        return self._setting("offsets.retention.minutes") * 60_000

    # -- topics (for KIP-848 groups, which address topics by id) -----------------------

    def topic_names(self) -> list[str]:
        """Return the names of all topics."""
        return self.topics.names()

    def topic_info(self, name: str) -> tuple[uuid.UUID, int] | None:
        """Return ``(topic id, partition count)`` of ``name``, or ``None``."""
        topic = self.topics.get(name)
        return None if topic is None else (topic.topic_id, len(topic.partitions))

    def is_internal(self, name: str) -> bool:
        """Return whether topic ``name`` is one of Kafka's internal topics."""
        topic = self.topics.get(name)
        return topic is not None and topic.internal

    def topic_name(self, topic_id: uuid.UUID) -> str | None:
        """Return the name of the topic with ``topic_id``, or ``None``."""
        topic = self.topics.by_id.get(topic_id)
        return None if topic is None else topic.name

    # -- groups --------------------------------------------------------------------------

    def _new_group(self, group_id: str, group_type: str) -> Group:
        if group_type == "consumer":
            return ConsumerGroup(group_id, self)
        if group_type == "share":
            return ShareGroup(group_id, self)
        return ClassicGroup(group_id, self)

    def group(self, group_id: str) -> Group | None:
        """Return the group ``group_id``, or ``None``."""
        return self.groups.get(group_id)

    def group_changed(self, group: Group) -> None:
        """Write ``group``'s metadata to ``__consumer_offsets``: a classic group's
        ``GroupMetadataValue`` (generation, protocol, leader, members), a KIP-848
        group's ``ConsumerGroupMetadataValue`` (epoch)."""
        if self.log is None or self.groups.get(group.group_id) is not group:
            return
        if isinstance(group, ClassicGroup):
            value = records.group_value(
                records.GroupValue(
                    group.protocol_type or "",
                    group.generation_id,
                    group.protocol_name,
                    group.leader_id,
                    group.state_timestamp_ms,
                    [
                        records.MemberValue(
                            m.member_id,
                            m.group_instance_id,
                            m.client_id,
                            m.client_host,
                            m.rebalance_timeout_ms,
                            m.session_timeout_ms,
                            m.metadata(group.protocol_name),
                            m.assignment,
                        )
                        for m in group.members.values()
                    ],
                )
            )
            key = records.group_key(group.group_id, records.GROUP_METADATA)
        elif isinstance(group, ShareGroup):
            value = records.share_group_value(group.group_epoch)
            key = records.group_key(group.group_id, records.SHARE_GROUP_METADATA)
        else:
            value = records.consumer_group_value(group.group_epoch)
            key = records.group_key(group.group_id, records.CONSUMER_GROUP_METADATA)
        self.log.append(group.group_id, [(key, value)])

    def _drop_group(self, group: Group) -> None:
        group.shutdown()
        self.groups.pop(group.group_id, None)
        self.offsets.delete_group(group.group_id)
        if self.log is not None:
            record_type = (
                records.GROUP_METADATA
                if isinstance(group, ClassicGroup)
                else records.SHARE_GROUP_METADATA
                if isinstance(group, ShareGroup)
                else records.CONSUMER_GROUP_METADATA
            )
            self.log.append(
                group.group_id, [(records.group_key(group.group_id, record_type), None)]
            )

    def _classic_for_join(self, group_id: str, member_id: str) -> ClassicGroup | ErrorCode:
        group = self.groups.get(group_id)
        if isinstance(group, ShareGroup):
            return ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        if isinstance(group, ConsumerGroup):
            group.shutdown()
            group = None  # an empty consumer group becomes a classic group
        if group is None:
            if member_id:
                return ErrorCode.UNKNOWN_MEMBER_ID
            group = ClassicGroup(group_id, self)
            self.groups[group_id] = group
        return group

    # -- classic protocol --------------------------------------------------------------

    def join_group(self, group_id: str, req: JoinRequest) -> Outcome:
        """Handle JoinGroup; return the response dict or a future of it."""
        if not group_id:
            return join_error(req.member_id, ErrorCode.INVALID_GROUP_ID)
        low = self._setting("group.min.session.timeout.ms")
        high = self._setting("group.max.session.timeout.ms")
        if not low <= req.session_timeout_ms <= high:
            return join_error(req.member_id, ErrorCode.INVALID_SESSION_TIMEOUT)
        existing = self.groups.get(group_id)
        if isinstance(existing, ConsumerGroup) and not existing.is_empty:
            # Kafka's classicGroupJoinToConsumerGroup: a classic member of a consumer group.
            return existing.classic_join(req)
        group = self._classic_for_join(group_id, req.member_id)
        if isinstance(group, ErrorCode):
            return join_error(req.member_id, group)
        return group.join(req)

    def sync_group(
        self,
        group_id: str,
        member_id: str,
        instance_id: str | None,
        generation_id: int,
        protocol_type: str | None,
        protocol_name: str | None,
        assignments: dict[str, bytes],
    ) -> Outcome:
        """Handle SyncGroup; return the response dict or a future of it."""
        group = self.groups.get(group_id)
        if not group_id:
            return sync_error(ErrorCode.INVALID_GROUP_ID)
        if isinstance(group, ConsumerGroup):
            return group.classic_sync(
                member_id, instance_id, generation_id, protocol_type, protocol_name
            )
        if not isinstance(group, ClassicGroup):
            return sync_error(ErrorCode.UNKNOWN_MEMBER_ID)
        return group.sync(
            member_id, instance_id, generation_id, protocol_type, protocol_name, assignments
        )

    def heartbeat(
        self, group_id: str, member_id: str, instance_id: str | None, generation_id: int
    ) -> ErrorCode:
        """Handle a classic Heartbeat; return its error code."""
        group = self.groups.get(group_id)
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        if isinstance(group, ConsumerGroup):
            return group.classic_heartbeat(member_id, instance_id, generation_id)
        if not isinstance(group, ClassicGroup):
            return ErrorCode.UNKNOWN_MEMBER_ID
        return group.heartbeat(member_id, instance_id, generation_id)

    def leave_group(
        self, group_id: str, members: list[tuple[str, str | None]]
    ) -> tuple[ErrorCode, list[ErrorCode]]:
        """Handle LeaveGroup; return the top-level error and one error per member."""
        group = self.groups.get(group_id)
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID, []
        if isinstance(group, ConsumerGroup):
            return ErrorCode.NONE, group.classic_leave(members)
        if not isinstance(group, ClassicGroup):
            return ErrorCode.UNKNOWN_MEMBER_ID, []
        return ErrorCode.NONE, [group.leave(m, i) for m, i in members]

    # -- KIP-848 -------------------------------------------------------------------------

    def consumer_group_heartbeat(self, req: HeartbeatRequest) -> dict[str, Any]:
        """Handle ConsumerGroupHeartbeat; return the response dict."""
        problem = self._validate_heartbeat(req)
        if problem is not None:
            return problem
        group = self.groups.get(req.group_id)
        if isinstance(group, ShareGroup):
            return error_response(
                ErrorCode.GROUP_ID_NOT_FOUND, f"Group {req.group_id} is not a consumer group."
            )
        if isinstance(group, ClassicGroup):
            if group.is_empty and req.member_epoch == consumer.JOIN_EPOCH:
                group.shutdown()
                group = None
            else:
                upgraded = self._upgrade(group, req)
                if isinstance(upgraded, dict):
                    return upgraded
                group = upgraded
        if group is None:
            if req.member_epoch != consumer.JOIN_EPOCH:
                # Kafka: a heartbeat (other than a join) for a group it does not
                # know is GROUP_ID_NOT_FOUND.
                return error_response(
                    ErrorCode.GROUP_ID_NOT_FOUND, f"Group {req.group_id} not found."
                )
            group = ConsumerGroup(req.group_id, self)
            self.groups[req.group_id] = group
            self.group_changed(group)
        return group.heartbeat(req)

    # -- online migration (KIP-848) ---------------------------------------------------

    def _migration(self, direction: str) -> bool:
        policy = str(self.settings["group.consumer.migration.policy"])
        return policy in (direction, "bidirectional")

    def _upgrade(
        self, group: ClassicGroup, req: HeartbeatRequest
    ) -> ConsumerGroup | dict[str, Any]:
        """Turn a live classic group into a consumer group for a member joining with
        ConsumerGroupHeartbeat, as Kafka's ``validateOnlineUpgrade`` and
        ``convertToConsumerGroup`` do; return it, or the refusal to answer."""
        not_consumer = error_response(
            ErrorCode.GROUP_ID_NOT_FOUND, f"Group {req.group_id} is not a consumer group."
        )
        if req.member_epoch != consumer.JOIN_EPOCH or group.state == classic.DEAD:
            return not_consumer
        if not self._migration("upgrade"):
            log.info("cannot upgrade classic group %s: the online upgrade is disabled",
                     group.group_id)
            return not_consumer
        if group.protocol_type != "consumer":
            log.info("cannot upgrade classic group %s: it does not use the consumer protocol",
                     group.group_id)
            return not_consumer
        try:
            upgraded = ConsumerGroup.from_classic(group, self)
        except ValueError:
            return error_response(
                ErrorCode.GROUP_ID_NOT_FOUND,
                f"Cannot upgrade the classic group {group.group_id} to consumer group because "
                "the embedded consumer protocol is malformed.",
            )
        group.shutdown(ErrorCode.REBALANCE_IN_PROGRESS)
        self._replace(group, upgraded)
        log.info("classic group %s upgraded to a consumer group", group.group_id)
        return upgraded

    def maybe_downgrade(self, group: ConsumerGroup, leaving: Any) -> bool:
        """Turn ``group`` into a classic group if ``leaving`` is its last member using
        the consumer protocol and classic members remain (Kafka's
        ``validateOnlineDowngradeWithFencedMember`` and ``convertToClassicGroup``);
        return whether it did. The classic group then rebalances."""
        others = [m for m in group.members.values() if m is not leaving]
        if not others or any(m.classic is None for m in others):
            return False
        if not self._migration("downgrade"):
            log.info("cannot downgrade consumer group %s: the online downgrade is disabled",
                     group.group_id)
            return False
        downgraded = ClassicGroup.from_consumer(group, leaving, self)
        group.shutdown()
        self._replace(group, downgraded)
        downgraded.prepare_rebalance(f"Downgrade group {group.group_id} from consumer to classic.")
        log.info("consumer group %s downgraded to a classic group", group.group_id)
        return True

    def _replace(self, old: Group, new: Group) -> None:
        """Put ``new`` in ``old``'s place, and in ``__consumer_offsets`` a tombstone
        for the old type's record before the new type's (as Kafka writes them)."""
        if self.log is not None:
            record_type = (
                records.GROUP_METADATA
                if isinstance(old, ClassicGroup)
                else records.CONSUMER_GROUP_METADATA
            )
            self.log.append(old.group_id, [(records.group_key(old.group_id, record_type), None)])
        self.groups[old.group_id] = new
        self.group_changed(new)

    def _validate_heartbeat(self, req: HeartbeatRequest) -> dict[str, Any] | None:
        def invalid(message: str) -> dict[str, Any]:
            return error_response(ErrorCode.INVALID_REQUEST, message)

        if not req.group_id:
            return invalid("GroupId can't be empty.")
        if req.member_epoch > 0 and not req.member_id:
            return invalid("MemberId can't be empty.")
        if req.member_epoch == consumer.JOIN_EPOCH:
            if req.rebalance_timeout_ms == -1:
                return invalid("RebalanceTimeoutMs must be provided in first request.")
            if req.owned is None:
                return invalid("TopicPartitions must be empty when (re-)joining.")
            if req.subscribed_topic_names is None and req.subscribed_topic_regex is None:
                return invalid(
                    "SubscribedTopicNames or SubscribedTopicRegex must be set in first request."
                )
        if req.member_epoch == consumer.STATIC_LEAVE_EPOCH and req.instance_id is None:
            return invalid("InstanceId can't be null when MemberEpoch is -2.")
        if req.server_assignor is not None and req.server_assignor not in ASSIGNORS:
            return error_response(
                ErrorCode.UNSUPPORTED_ASSIGNOR,
                f"ServerAssignor {req.server_assignor} is not supported. "
                f"Supported assignors: {', '.join(ASSIGNORS)}.",
            )
        if req.subscribed_topic_regex:
            problem = regex.check(req.subscribed_topic_regex)
            if problem is not None:
                return error_response(ErrorCode.INVALID_REGULAR_EXPRESSION, problem)
        return None

    # -- KIP-932 -------------------------------------------------------------------------

    def share_group_heartbeat(self, req: ShareHeartbeat) -> dict[str, Any]:
        """Handle ShareGroupHeartbeat; return the response dict."""
        if not req.group_id:
            return heartbeat_error(ErrorCode.INVALID_REQUEST, "GroupId can't be empty.")
        if not req.member_id:
            return heartbeat_error(ErrorCode.INVALID_REQUEST)
        if req.member_epoch < -1:
            return heartbeat_error(ErrorCode.INVALID_REQUEST, "MemberEpoch is invalid.")
        if req.member_epoch == 0 and not req.subscribed_topic_names:
            return heartbeat_error(
                ErrorCode.INVALID_REQUEST, "SubscribedTopicNames must be set in first request."
            )
        group = self.groups.get(req.group_id)
        if group is not None and not isinstance(group, ShareGroup):
            return heartbeat_error(
                ErrorCode.GROUP_ID_NOT_FOUND, f"Group {req.group_id} is not a share group."
            )
        if group is None:
            if req.member_epoch != 0:
                return heartbeat_error(
                    ErrorCode.UNKNOWN_MEMBER_ID,
                    f"Member {req.member_id} is not a member of group {req.group_id}.",
                )
            group = self.create_share_group(req.group_id)
        return group.heartbeat(req)

    def create_share_group(self, group_id: str) -> ShareGroup:
        """Create an empty share group (a first heartbeat, or AlterShareGroupOffsets on
        a new group id)."""
        group = ShareGroup(group_id, self)
        self.groups[group_id] = group
        self.group_changed(group)
        return group

    def share_group(self, group_id: str) -> ShareGroup | None:
        """Return the share group ``group_id``, or ``None`` (absent, or another type)."""
        group = self.groups.get(group_id)
        return group if isinstance(group, ShareGroup) and not group.dead else None

    # -- offsets ---------------------------------------------------------------------------

    def validate_offset_commit(
        self,
        group_id: str,
        member_id: str,
        instance_id: str | None,
        generation_id: int,
        api_version: int,
    ) -> ErrorCode:
        """Check an OffsetCommit against its group; create a simple group for a
        standalone commit (generation -1) to a group that does not exist."""
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        group = self.groups.get(group_id)
        if isinstance(group, ShareGroup):
            return ErrorCode.GROUP_ID_NOT_FOUND  # share groups have no committed offsets
        if group is None:
            if generation_id >= 0:
                # Kafka: GROUP_ID_NOT_FOUND from v9, ILLEGAL_GENERATION before.
                return (
                    ErrorCode.GROUP_ID_NOT_FOUND
                    if api_version >= 9
                    else (ErrorCode.ILLEGAL_GENERATION)
                )
            self._ensure_group(group_id)
            return ErrorCode.NONE
        if isinstance(group, ConsumerGroup):
            return group.validate_offset_commit(member_id, generation_id, api_version)
        return group.validate_offset_commit(member_id, instance_id, generation_id)

    def commit_offset(
        self,
        group_id: str,
        topic: str,
        partition: int,
        offset: int,
        leader_epoch: int = -1,
        metadata: str | None = None,
        expire_timestamp_ms: int | None = None,
    ) -> ErrorCode:
        """Store one committed offset (after validation); return its error code."""
        metadata = metadata or ""
        if len(metadata.encode()) > self._setting("offset.metadata.max.bytes"):
            return ErrorCode.OFFSET_METADATA_TOO_LARGE
        value = OffsetAndMetadata(
            offset, leader_epoch, metadata, self.clock.now_ms(), expire_timestamp_ms
        )
        self._ensure_group(group_id)
        self.offsets.commit(group_id, topic, partition, value)
        return ErrorCode.NONE

    def _ensure_group(self, group_id: str) -> None:
        # Offsets always belong to a group that ListGroups/DeleteGroups can see;
        # committing to an unknown group makes a "simple" (memberless) classic group.
        if group_id not in self.groups:
            self.groups[group_id] = ClassicGroup(group_id, self)
            self.group_changed(self.groups[group_id])

    def validate_txn_offset_commit(
        self, group_id: str, generation_id: int, member_id: str, instance_id: str | None
    ) -> ErrorCode:
        """Check the consumer's generation carried by TxnOffsetCommit v3+ (KIP-447).

        Like :meth:`validate_offset_commit`, except that a group still waiting
        for SyncGroup accepts it (the offsets apply only when the transaction
        commits) and a KIP-848 member's stale epoch is ILLEGAL_GENERATION, the
        error transactional producers understand.
        """
        group = self.groups.get(group_id)
        if group is None:
            return ErrorCode.NONE if generation_id < 0 else ErrorCode.ILLEGAL_GENERATION
        if isinstance(group, ShareGroup):
            return ErrorCode.GROUP_ID_NOT_FOUND
        if isinstance(group, ConsumerGroup):
            code = group.validate_offset_commit(member_id, generation_id, 9)
            return ErrorCode.ILLEGAL_GENERATION if code == ErrorCode.STALE_MEMBER_EPOCH else code
        return group.validate_offset_commit(
            member_id, instance_id, generation_id, transactional=True
        )

    def commit_offsets_from_txn(
        self, group_id: str, offsets: list[tuple[str, int, int, int, str | None]]
    ) -> None:
        """Write offsets committed by a transaction (KIP-98 TxnOffsetCommit) for
        ``group_id``, without generation checks: the transaction coordinator calls
        this when the transaction commits. Each item is
        ``(topic, partition, offset, leader_epoch, metadata)``."""
        self._ensure_group(group_id)
        for topic, partition, offset, leader_epoch, metadata in offsets:
            value = OffsetAndMetadata(offset, leader_epoch, metadata or "", self.clock.now_ms())
            self.offsets.commit(group_id, topic, partition, value)

    def committed(self, group_id: str) -> dict[tuple[str, int], int]:
        """Return ``{(topic, partition): offset}`` committed by ``group_id`` (for tests)."""
        return {tp: v.offset for tp, v in self.offsets.group_offsets(group_id).items()}

    def validate_offset_fetch(
        self, group_id: str, member_id: str | None, member_epoch: int
    ) -> ErrorCode:
        """Check an OffsetFetch v9+ that names a member of a KIP-848 group."""
        group = self.groups.get(group_id)
        if isinstance(group, ConsumerGroup):
            return group.validate_offset_fetch(member_id, member_epoch)
        return ErrorCode.NONE

    def expire_offsets(self, now: int | None = None) -> int:
        """Expire offsets past ``offsets.retention.minutes`` (KIP-211, KIP-496) and
        delete empty groups left without offsets; return how many offsets expired.

        ``now`` (ms since the epoch) lets tests look into the future.
        """
        now = self.clock.now_ms() if now is None else now
        retention = self.offsets_retention_ms
        total = 0
        for group in list(self.groups.values()):
            if isinstance(group, ShareGroup):
                continue  # no committed offsets; kept until DeleteGroups (as Kafka)
            total += self._expire_group(group, now, retention)
            if group.is_empty and not self.offsets.has_offsets(group.group_id):
                if getattr(group, "pending_members", None):
                    continue
                self._drop_group(group)
        return total

    def _expire_group(self, group: Group, now: int, retention: int) -> int:
        if group.is_empty:
            if group.protocol_type:
                # Used group management: retention counts from when it became Empty.
                since = group.state_timestamp_ms
                return self.offsets.expire(group.group_id, now, retention, lambda tp, v: since)
            return self.offsets.expire(
                group.group_id, now, retention, lambda tp, v: v.commit_timestamp_ms
            )
        subscribed = group.subscribed_topics()
        if subscribed is None:
            return 0
        # KIP-496: offsets of topics a live group no longer subscribes to.
        return self.offsets.expire(
            group.group_id,
            now,
            retention,
            lambda tp, v: None if tp[0] in subscribed else v.commit_timestamp_ms,
        )

    # -- admin -------------------------------------------------------------------------------

    def list_groups(self, states: set[str], types: set[str]) -> list[dict[str, Any]]:
        """Return ListGroups entries, filtered by state and type (case-insensitive)."""
        out = []
        for group in self.groups.values():
            state = group.state
            if state == classic.DEAD:
                continue
            if states and state.lower() not in states:
                continue
            if types and group.group_type not in types:
                continue
            out.append(
                {
                    "group_id": group.group_id,
                    "protocol_type": group.protocol_type or "",
                    "group_state": state,
                    "group_type": group.group_type,
                }
            )
        return out

    def delete_group(self, group_id: str) -> ErrorCode:
        """Delete an empty group and its offsets (DeleteGroups); return the error code."""
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        group = self.groups.get(group_id)
        if group is None or group.state == classic.DEAD:
            return ErrorCode.GROUP_ID_NOT_FOUND
        if not group.is_empty:
            return ErrorCode.NON_EMPTY_GROUP
        self._drop_group(group)
        for fn in self.deleted_listeners:
            fn(group_id)
        return ErrorCode.NONE

    def delete_offsets(
        self, group_id: str, partitions: list[tuple[str, int]]
    ) -> tuple[ErrorCode, dict[tuple[str, int], ErrorCode]]:
        """Delete committed offsets of ``partitions`` (OffsetDelete, KIP-496).

        Returns:
            The group-level error and an error per partition: GROUP_SUBSCRIBED_TO_TOPIC
            for topics the live group subscribes to.
        """
        group = self.groups.get(group_id)
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID, {}
        if group is None or group.state == classic.DEAD:
            return ErrorCode.GROUP_ID_NOT_FOUND, {}
        subscribed = group.subscribed_topics()
        if subscribed is None:
            return ErrorCode.NON_EMPTY_GROUP, {}
        results = {}
        for topic, partition in partitions:
            if topic in subscribed:
                results[(topic, partition)] = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
            else:
                self.offsets.delete(group_id, topic, partition)
                results[(topic, partition)] = ErrorCode.NONE
        return ErrorCode.NONE, results
