"""KIP-848 consumer groups: ConsumerGroupHeartbeat, server-side assignment, reconciliation.

In the consumer group protocol the coordinator owns the assignment. Its model
(KIP-848, "Group Epoch - Assignment Epoch - Member Epoch"):

* the **group epoch** moves whenever membership, a subscription, the assignor or
  the partition count of a subscribed topic changes;
* the **target assignment** is recomputed by the server-side assignor
  (``assignors.py``) when the group epoch passes the **assignment epoch**;
* each member converges to its target through the *current assignment builder*
  state machine: partitions another member still owns are held back
  (``unreleased_partitions``), and partitions the member must give up are
  revoked first (``unrevoked_partitions``; the member stays at its old epoch
  until its heartbeat no longer lists them as owned). Its **member epoch**
  reaches the assignment epoch when it is done.

Member epochs in requests: 0 joins, -1 leaves, -2 is a static member's
temporary leave (KIP-848 static membership: the member keeps its assignment
until the session timeout; a new instance with the same ``instance_id`` takes it
over with its epoch). An epoch that is neither current nor the previous one
(a lost response) is fenced with FENCED_MEMBER_EPOCH.

Timeouts: ``group.consumer.session.timeout.ms`` (no heartbeat: removed) and the
member's rebalance timeout (not revoking in time: removed). Group states, as
Kafka names them: Empty, Assigning, Reconciling, Stable, Dead.

Classic members (KIP-848 online migration, Kafka 3.8+): a consumer group also
takes members that speak the classic protocol (JoinGroup, SyncGroup, Heartbeat,
LeaveGroup), as Kafka's ``classicGroup*ToConsumerGroup`` handlers do. Such a
member is reconciled like any other, with the owned partitions of its JoinGroup
subscription, and learns its assignment from SyncGroup; its classic Heartbeat
answers REBALANCE_IN_PROGRESS when it must rejoin (the group epoch moved past its
epoch, it has partitions to revoke, or partitions it waited for were released).
It keeps its classic session timeout, must rejoin within its rebalance timeout
once told to, and must send SyncGroup within it after joining. The coordinator
converts groups between the two types (``coordinator.py``).

Left out: rack-aware assignment, client-side assignors, KIP-1071 streams groups.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...protocol.errors import ErrorCode
from ..clock import TimerHandle
from . import regex
from .assignors import ASSIGNORS, DEFAULT_ASSIGNOR, MemberSpec, TopicPartitions
from .consumer_protocol import (
    decode_assignment,
    decode_subscription,
    encode_assignment,
    subscription_version,
)

if TYPE_CHECKING:
    from .classic import ClassicGroup, JoinRequest
    from .coordinator import GroupCoordinator

EMPTY, ASSIGNING, RECONCILING, STABLE, DEAD = "Empty", "Assigning", "Reconciling", "Stable", "Dead"
# Member reconciliation states (Kafka's MemberState).
MEMBER_STABLE = "stable"
UNREVOKED_PARTITIONS = "unrevoked_partitions"
UNRELEASED_PARTITIONS = "unreleased_partitions"

JOIN_EPOCH, LEAVE_EPOCH, STATIC_LEAVE_EPOCH = 0, -1, -2


@dataclass(slots=True)
class HeartbeatRequest:
    """A ConsumerGroupHeartbeat, with owned partitions keyed by topic id."""

    group_id: str
    member_id: str
    member_epoch: int
    instance_id: str | None = None
    rack_id: str | None = None
    rebalance_timeout_ms: int = -1
    subscribed_topic_names: list[str] | None = None
    subscribed_topic_regex: str | None = None
    server_assignor: str | None = None
    owned: TopicPartitions | None = None
    client_id: str = ""
    client_host: str = ""


@dataclass(slots=True)
class ClassicProtocol:
    """What a member that joined with the classic protocol keeps (Kafka's
    ``ClassicMemberMetadata``): its session timeout and its JoinGroup protocols."""

    session_timeout_ms: int
    protocols: list[tuple[str, bytes]]

    @property
    def protocol_name(self) -> str:
        """Return the protocol it prefers (the first it listed)."""
        return self.protocols[0][0] if self.protocols else ""

    def assignment_version(self) -> int:
        """Return the consumer-protocol version its assignments are written in."""
        return subscription_version(self.protocols[0][1]) if self.protocols else 0


@dataclass(eq=False, slots=True)
class ConsumerMember:
    """One member of a consumer group and where it stands in reconciliation."""

    member_id: str
    instance_id: str | None
    rack_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    subscribed_topic_names: list[str] = field(default_factory=list)
    subscribed_topic_regex: str | None = None
    server_assignor: str | None = None
    member_epoch: int = 0
    previous_member_epoch: int = -1
    state: str = MEMBER_STABLE
    #: What the member has been told it owns.
    assigned: TopicPartitions = field(default_factory=dict)
    #: What it must give up before it may move to a newer epoch.
    pending_revocation: TopicPartitions = field(default_factory=dict)
    #: A static member that sent epoch -2 and may be replaced by its successor.
    static_left: bool = False
    session_timer: TimerHandle | None = None
    revocation_timer: TimerHandle | None = None
    #: Set for a member that speaks the classic protocol (online migration).
    classic: ClassicProtocol | None = None
    #: A classic member told to rejoin must do so within its rebalance timeout.
    join_timer: TimerHandle | None = None
    #: A classic member that joined must send SyncGroup within its rebalance timeout.
    sync_timer: TimerHandle | None = None


def _copy(tps: TopicPartitions) -> TopicPartitions:
    return {t: set(ps) for t, ps in tps.items() if ps}


def _owns_any(owned: TopicPartitions | None, partitions: TopicPartitions) -> bool:
    """Return whether the member still reports one of ``partitions`` as owned.

    A heartbeat without owned partitions (``None``) proves nothing, so it counts
    as still owning them (Kafka's ``ownsRevokedPartitions``).
    """
    if owned is None:
        return True
    return any(owned.get(t, set()) & ps for t, ps in partitions.items())


def _subset(small: TopicPartitions, big: TopicPartitions) -> bool:
    return all(ps <= big.get(t, set()) for t, ps in small.items())


def error_response(code: ErrorCode, message: str | None = None) -> dict[str, Any]:
    """Return a ConsumerGroupHeartbeat response carrying only ``code``."""
    return {
        "error_code": code,
        "error_message": message,
        "member_id": None,
        "member_epoch": -1,
        "heartbeat_interval": 0,
        "assignment": None,
    }


class ConsumerGroup:
    """A KIP-848 consumer group."""

    group_type = "consumer"
    protocol_type = "consumer"

    def __init__(self, group_id: str, coordinator: GroupCoordinator) -> None:
        self.group_id = group_id
        self.coord = coordinator
        self.group_epoch = 0
        self.assignment_epoch = 0
        self.members: dict[str, ConsumerMember] = {}
        self.static_members: dict[str, str] = {}
        #: member id -> target assignment of the assignment epoch.
        self.target: dict[str, TopicPartitions] = {}
        #: Subscribed topics that exist: name -> (topic id, partition count).
        self.subscription_metadata: dict[str, tuple[uuid.UUID, int]] = {}
        self.dead = False
        self.state_timestamp_ms = self.coord.now_ms()
        self._last_state = EMPTY
        #: Each subscribed pattern and the topics its last resolution found.
        self.resolved_regexes: dict[str, frozenset[str]] = {}
        self._regex_refresh: TimerHandle | None = None
        self._regex_refreshed_ms = 0
        self._regex_topics: frozenset[str] = frozenset()

    # -- state ---------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        """Return whether the group has no members."""
        return not self.members

    @property
    def state(self) -> str:
        """Return the group state as Kafka's ConsumerGroupState names it."""
        if self.dead:
            return DEAD
        if not self.members:
            return EMPTY
        if self.group_epoch > self.assignment_epoch:
            return ASSIGNING
        for m in self.members.values():
            if m.member_epoch != self.assignment_epoch or m.state != MEMBER_STABLE:
                return RECONCILING
        return STABLE

    def _note_state(self) -> None:
        state = self.state
        if state != self._last_state:
            self._last_state = state
            self.state_timestamp_ms = self.coord.now_ms()

    def assignor_name(self) -> str:
        """Return the assignor the group uses: the one most members ask for."""
        wanted = Counter(m.server_assignor for m in self.members.values() if m.server_assignor)
        return wanted.most_common(1)[0][0] if wanted else DEFAULT_ASSIGNOR

    # -- subscriptions and target assignment -----------------------------------------

    def _member_topics(self, member: ConsumerMember) -> set[str]:
        topics = set(member.subscribed_topic_names)
        if member.subscribed_topic_regex:
            # What the last resolution found (``regex.py``): until a new pattern is
            # resolved, it matches nothing.
            topics.update(self.resolved_regexes.get(member.subscribed_topic_regex, ()))
        return topics

    # -- regular expressions (resolved asynchronously, as Kafka does) ----------------

    def _subscribed_regexes(self) -> set[str]:
        return {m.subscribed_topic_regex for m in self.members.values() if m.subscribed_topic_regex}

    def _maybe_refresh_regexes(self) -> None:
        """Schedule a resolution of the group's patterns when Kafka would: a new
        pattern, or ten seconds since the last one and the topics changed."""
        regexes = self._subscribed_regexes()
        if not regexes or self._regex_refresh is not None:
            return
        new = any(r not in self.resolved_regexes for r in regexes)
        if not new:
            if self.coord.now_ms() < self._regex_refreshed_ms + regex.REFRESH_INTERVAL_MS:
                return
            if frozenset(self.coord.topic_names()) == self._regex_topics:
                return
        self._regex_refresh = self.coord.timers.call_later(0, self._refresh_regexes)

    def _refresh_regexes(self) -> None:
        self._regex_refresh = None
        if self.dead:
            return
        names = [n for n in self.coord.topic_names() if not self.coord.is_internal(n)]
        self._regex_topics = frozenset(self.coord.topic_names())
        self._regex_refreshed_ms = self.coord.now_ms()
        self.resolved_regexes = {r: regex.resolve(r, names) for r in self._subscribed_regexes()}
        if self.members:
            self.maybe_compute_target()
            self._note_state()

    def _refresh_subscription_metadata(self) -> bool:
        wanted: set[str] = set()
        for m in self.members.values():
            wanted |= self._member_topics(m)
        meta = {}
        for name in wanted:
            info = self.coord.topic_info(name)
            if info is not None:
                meta[name] = info
        if meta != self.subscription_metadata:
            self.subscription_metadata = meta
            return True
        return False

    def bump_epoch(self) -> None:
        """Move the group epoch forward (membership or metadata changed)."""
        self.group_epoch += 1

    def maybe_compute_target(self, changed: bool = False) -> None:
        """Move the group epoch once if membership (``changed``) or the subscribed
        topics' metadata changed, then run the assignor if the group epoch is past
        the assignment epoch."""
        if self._refresh_subscription_metadata() or changed:
            self.bump_epoch()
        if self.group_epoch <= self.assignment_epoch:
            return
        topics = dict(self.subscription_metadata.values())
        specs = {}
        for m in self.members.values():
            ids = frozenset(
                self.subscription_metadata[t][0]
                for t in self._member_topics(m)
                if t in self.subscription_metadata
            )
            specs[m.member_id] = MemberSpec(ids, _copy(self.target.get(m.member_id, {})))
        self.target = ASSIGNORS[self.assignor_name()](specs, topics)
        self.assignment_epoch = self.group_epoch

    # -- reconciliation (Kafka's CurrentAssignmentBuilder) ------------------------------

    def _owner(self, topic_id: uuid.UUID, partition: int, other_than: ConsumerMember) -> bool:
        for m in self.members.values():
            if m is other_than:
                continue
            if partition in m.assigned.get(topic_id, ()) or partition in m.pending_revocation.get(
                topic_id, ()
            ):
                return True
        return False

    def _reconcile(self, member: ConsumerMember, owned: TopicPartitions | None) -> None:
        if member.state == UNREVOKED_PARTITIONS:
            if _owns_any(owned, member.pending_revocation):
                return
            member.pending_revocation = {}
            self.coord.timers.cancel(member.revocation_timer)
            member.revocation_timer = None
            self._next_assignment(member, owned)
        elif member.state == UNRELEASED_PARTITIONS or member.member_epoch != self.assignment_epoch:
            self._next_assignment(member, owned)

    def _next_assignment(self, member: ConsumerMember, owned: TopicPartitions | None) -> None:
        target = self.target.get(member.member_id, {})
        kept: TopicPartitions = {}
        revoke: TopicPartitions = {}
        unreleased = False
        for topic_id in set(target) | set(member.assigned):
            want = target.get(topic_id, set())
            have = member.assigned.get(topic_id, set())
            keep = have & want
            if have - want:
                revoke[topic_id] = have - want
            for p in want - have:
                if self._owner(topic_id, p, member):
                    unreleased = True
                else:
                    keep.add(p)
            if keep:
                kept[topic_id] = keep
        if revoke and _owns_any(owned, revoke):
            # Revoke first; the member keeps its epoch and gets nothing new until
            # its heartbeat no longer lists the revoked partitions.
            member.assigned = {t: ps & target.get(t, set()) for t, ps in member.assigned.items()}
            member.assigned = {t: ps for t, ps in member.assigned.items() if ps}
            member.pending_revocation = revoke
            member.state = UNREVOKED_PARTITIONS
            self.coord.timers.cancel(member.revocation_timer)
            member.revocation_timer = self.coord.timers.call_later(
                member.rebalance_timeout_ms / 1000, self._revocation_expired, member
            )
            return
        if member.member_epoch != self.assignment_epoch:
            member.previous_member_epoch = member.member_epoch
            member.member_epoch = self.assignment_epoch
        member.assigned = kept
        member.pending_revocation = {}
        member.state = UNRELEASED_PARTITIONS if unreleased else MEMBER_STABLE

    # -- timers ------------------------------------------------------------------------

    def _schedule_session(self, member: ConsumerMember) -> None:
        timers = self.coord.timers
        timers.cancel(member.session_timer)
        timeout_ms = (
            member.classic.session_timeout_ms
            if member.classic is not None
            else self.coord.consumer_session_timeout_ms(self.group_id)
        )
        member.session_timer = timers.call_later(timeout_ms / 1000, self._session_expired, member)

    def _session_expired(self, member: ConsumerMember) -> None:
        member.session_timer = None
        if self.members.get(member.member_id) is member:
            self.remove_member(member)

    def _revocation_expired(self, member: ConsumerMember) -> None:
        member.revocation_timer = None
        if self.members.get(member.member_id) is member and member.state == UNREVOKED_PARTITIONS:
            self.remove_member(member)  # fenced: it did not revoke within its rebalance timeout

    def remove_member(self, member: ConsumerMember, downgrade: bool = True) -> None:
        """Remove ``member`` (left, expired or fenced); its partitions go to the others.

        When the last member using the consumer protocol goes and only classic
        members remain, the coordinator may turn the group into a classic group
        instead (``downgrade``; Kafka's ``validateOnlineDowngradeWithFencedMember``).
        """
        if downgrade and member.classic is None and self.coord.maybe_downgrade(self, member):
            return
        self._cancel_timers(member)
        self.members.pop(member.member_id, None)
        self.target.pop(member.member_id, None)
        if member.instance_id and self.static_members.get(member.instance_id) == member.member_id:
            del self.static_members[member.instance_id]
        self.maybe_compute_target(changed=True)
        self._note_state()
        self.coord.group_changed(self)

    # -- ConsumerGroupHeartbeat ------------------------------------------------------------

    def heartbeat(self, req: HeartbeatRequest) -> dict[str, Any]:
        """Handle one ConsumerGroupHeartbeat; return the response dict."""
        if req.member_epoch in (LEAVE_EPOCH, STATIC_LEAVE_EPOCH):
            return self._leave(req)
        if req.member_epoch == JOIN_EPOCH:
            joined = self._join(req)
            if isinstance(joined, dict):
                return joined
            member, changed = joined
        else:
            found = self.members.get(req.member_id)
            if found is None:
                return error_response(
                    ErrorCode.UNKNOWN_MEMBER_ID,
                    f"member {req.member_id} is not in group {self.group_id}",
                )
            member, changed = found, False
            if req.member_epoch != member.member_epoch and not (
                req.member_epoch == member.previous_member_epoch
                and req.owned is not None
                and _subset(req.owned, member.assigned)
            ):
                return error_response(
                    ErrorCode.FENCED_MEMBER_EPOCH,
                    f"member epoch {req.member_epoch} is not the current {member.member_epoch}",
                )
        changed |= self._update_member(member, req)
        self._maybe_refresh_regexes()
        before = (member.member_epoch, _copy(member.assigned))
        self.maybe_compute_target(changed)
        self._reconcile(member, req.owned)
        self._schedule_session(member)
        self._note_state()
        if changed:
            self.coord.group_changed(self)
        full = req.member_epoch == JOIN_EPOCH or (
            req.rebalance_timeout_ms != -1
            and (req.subscribed_topic_names is not None or req.subscribed_topic_regex is not None)
            and req.owned is not None
        )
        response: dict[str, Any] = {
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "member_id": member.member_id,
            "member_epoch": member.member_epoch,
            "heartbeat_interval": self.coord.consumer_heartbeat_interval_ms(self.group_id),
            "assignment": None,
        }
        if full or before != (member.member_epoch, member.assigned):
            response["assignment"] = {
                "topic_partitions": [
                    {"topic_id": t, "partitions": sorted(ps)} for t, ps in member.assigned.items()
                ]
            }
        return response

    def _join(self, req: HeartbeatRequest) -> tuple[ConsumerMember, bool] | dict[str, Any]:
        member_id = req.member_id or uuid.uuid4().hex
        if req.instance_id is not None:
            old_id = self.static_members.get(req.instance_id)
            old = self.members.get(old_id) if old_id is not None else None
            if old is not None:
                if not old.static_left and old_id != member_id:
                    return error_response(
                        ErrorCode.UNRELEASED_INSTANCE_ID,
                        f"instance {req.instance_id} is used by member {old_id}",
                    )
                return self._replace_static(old, member_id, req), False
        existing = self.members.get(member_id)
        if existing is not None:
            # Rejoining with epoch 0 (after an error): start over as a new member.
            self.remove_member(existing, downgrade=False)
        member = ConsumerMember(
            member_id,
            req.instance_id,
            req.rack_id,
            req.client_id,
            req.client_host,
            req.rebalance_timeout_ms,
        )
        self.members[member_id] = member
        if req.instance_id is not None:
            self.static_members[req.instance_id] = member_id
        return member, True

    def _replace_static(
        self, old: ConsumerMember, member_id: str, req: HeartbeatRequest
    ) -> ConsumerMember:
        timers = self.coord.timers
        timers.cancel(old.session_timer)
        timers.cancel(old.revocation_timer)
        del self.members[old.member_id]
        member = ConsumerMember(
            member_id,
            req.instance_id,
            req.rack_id,
            req.client_id,
            req.client_host,
            req.rebalance_timeout_ms,
            list(old.subscribed_topic_names),
            old.subscribed_topic_regex,
            old.server_assignor,
            old.member_epoch,
            old.previous_member_epoch,
            old.state,
            _copy(old.assigned),
            _copy(old.pending_revocation),
        )
        if old.member_id in self.target:
            self.target[member_id] = self.target.pop(old.member_id)
        self.members[member_id] = member
        assert req.instance_id is not None
        self.static_members[req.instance_id] = member_id
        return member

    def _update_member(self, member: ConsumerMember, req: HeartbeatRequest) -> bool:
        changed = False
        member.client_id, member.client_host = req.client_id, req.client_host
        if req.rebalance_timeout_ms != -1:
            member.rebalance_timeout_ms = req.rebalance_timeout_ms
        if req.rack_id is not None:
            member.rack_id = req.rack_id
        if req.subscribed_topic_names is not None and sorted(req.subscribed_topic_names) != sorted(
            member.subscribed_topic_names
        ):
            member.subscribed_topic_names = list(req.subscribed_topic_names)
            changed = True
        if req.subscribed_topic_regex is not None:
            regex = req.subscribed_topic_regex or None
            if regex != member.subscribed_topic_regex:
                member.subscribed_topic_regex = regex
                changed = True
        if req.server_assignor is not None and req.server_assignor != member.server_assignor:
            member.server_assignor = req.server_assignor
            changed = True
        member.static_left = False
        return changed

    def _leave(self, req: HeartbeatRequest) -> dict[str, Any]:
        member = self.members.get(req.member_id)
        if member is None and req.instance_id is not None:
            member = self.members.get(self.static_members.get(req.instance_id, ""))
        if member is None:
            return error_response(
                ErrorCode.UNKNOWN_MEMBER_ID,
                f"member {req.member_id} is not in group {self.group_id}",
            )
        if req.member_epoch == STATIC_LEAVE_EPOCH and member.instance_id is not None:
            # KIP-848 static membership: keep the assignment for a successor until
            # the session timeout removes the member.
            member.static_left = True
            self._schedule_session(member)
        else:
            self.remove_member(member)
        return {
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "member_id": member.member_id,
            "member_epoch": req.member_epoch,
            "heartbeat_interval": 0,
            "assignment": None,
        }

    # -- classic members (KIP-848 online migration) ----------------------------------------

    @classmethod
    def from_classic(cls, group: ClassicGroup, coordinator: GroupCoordinator) -> ConsumerGroup:
        """Return the consumer group a classic group becomes (Kafka's
        ``ConsumerGroup.fromClassicGroup``): every member keeps its last assignment
        as its target and is Stable at the generation, which becomes the group and
        assignment epoch. The new member that triggered the upgrade then bumps the
        epoch, and the classic members rejoin to reconcile.

        Raises:
            ValueError: a member's subscription or assignment does not decode.
        """
        new = cls(group.group_id, coordinator)
        generation = group.generation_id
        for m in group.members.values():
            protocol = group.protocol_name or (m.protocols[0][0] if m.protocols else None)
            sub = decode_subscription(m.metadata(protocol))
            assigned = new._ids(decode_assignment(m.assignment))
            member = ConsumerMember(
                m.member_id,
                m.group_instance_id,
                sub.rack_id,
                m.client_id,
                m.client_host,
                m.rebalance_timeout_ms,
                list(sub.topics),
                member_epoch=generation,
                previous_member_epoch=generation,
                assigned=assigned,
            )
            member.classic = ClassicProtocol(m.session_timeout_ms, list(m.protocols))
            new.members[m.member_id] = member
            new.target[m.member_id] = _copy(assigned)
            if m.group_instance_id is not None:
                new.static_members[m.group_instance_id] = m.member_id
        new.group_epoch = new.assignment_epoch = generation
        new._refresh_subscription_metadata()
        for member in new.members.values():
            new._schedule_session(member)
        new._note_state()
        return new

    def _ids(self, by_name: dict[str, list[int]]) -> TopicPartitions:
        out: TopicPartitions = {}
        for name, partitions in by_name.items():
            info = self.coord.topic_info(name)
            if info is not None and partitions:
                out.setdefault(info[0], set()).update(partitions)
        return out

    def _names(self, by_id: TopicPartitions) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for topic_id, partitions in by_id.items():
            name = self.coord.topic_name(topic_id)
            if name is not None and partitions:
                out[name] = sorted(partitions)
        return out

    def target_names(self, member_id: str) -> dict[str, list[int]]:
        """Return ``member_id``'s target assignment by topic name."""
        return self._names(self.target.get(member_id, {}))

    def supports_classic(self, protocol_type: str, protocols: list[tuple[str, bytes]]) -> bool:
        """Return whether a classic member with these protocols may join (Kafka's
        ``supportsClassicProtocols``): the consumer protocol type, and a protocol
        every classic member already in the group supports."""
        if protocol_type != "consumer" or not protocols:
            return False
        classic = [m.classic for m in self.members.values() if m.classic is not None]
        common = {name for name, _ in protocols}
        for c in classic:
            common &= {name for name, _ in c.protocols}
        return bool(common)

    def classic_member(self, member_id: str, instance_id: str | None) -> ConsumerMember | ErrorCode:
        """Return the classic member a classic request names, or its error
        (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID), as Kafka's ``validateConsumerGroupMember``
        and ``throwIfMemberDoesNotUseClassicProtocol``."""
        if instance_id is None:
            member = self.members.get(member_id)
        else:
            member = self.members.get(self.static_members.get(instance_id, ""))
            if member is not None and member.member_id != member_id:
                return ErrorCode.FENCED_INSTANCE_ID
        if member is None or member.classic is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        return member

    def classic_join(self, req: JoinRequest) -> dict[str, Any]:
        """Handle a JoinGroup from a classic member (Kafka's
        ``classicGroupJoinToConsumerGroup``): subscribe it, reconcile it with the
        owned partitions of its subscription, and answer at once with its member
        epoch as the generation; its assignment comes with SyncGroup."""
        from .classic import join_error

        if not self.supports_classic(req.protocol_type, req.protocols):
            return join_error(req.member_id, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        member_id = req.member_id or str(uuid.uuid4())
        if not req.member_id and req.require_known_member_id and req.group_instance_id is None:
            return join_error(member_id, ErrorCode.MEMBER_ID_REQUIRED)
        try:
            sub = decode_subscription(req.protocols[0][1])
        except ValueError:
            return join_error(member_id, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        member, changed = self._classic_member_for_join(member_id, req)
        if member is None:
            return join_error(member_id, ErrorCode.FENCED_INSTANCE_ID)
        member.classic = ClassicProtocol(req.session_timeout_ms, list(req.protocols))
        member.client_id, member.client_host = req.client_id, req.client_host
        member.rebalance_timeout_ms = req.rebalance_timeout_ms
        if sub.rack_id is not None:
            member.rack_id = sub.rack_id
        if sorted(sub.topics) != sorted(member.subscribed_topic_names):
            member.subscribed_topic_names = list(sub.topics)
            changed = True
        member.static_left = False
        self.maybe_compute_target(changed)
        self._reconcile(member, self._ids(sub.owned_partitions))
        timers = self.coord.timers
        timers.cancel(member.join_timer)
        member.join_timer = None
        self._schedule_session(member)
        timers.cancel(member.sync_timer)
        member.sync_timer = timers.call_later(
            member.rebalance_timeout_ms / 1000, self._classic_timeout, member, "sync_timer"
        )
        self._note_state()
        if changed:
            self.coord.group_changed(self)
        return {
            "error_code": ErrorCode.NONE,
            "generation_id": member.member_epoch,
            "protocol_type": "consumer",
            "protocol_name": member.classic.protocol_name,
            "leader": "",
            "skip_assignment": False,
            "member_id": member.member_id,
            "members": [],
        }

    def _classic_member_for_join(
        self, member_id: str, req: JoinRequest
    ) -> tuple[ConsumerMember | None, bool]:
        instance_id = req.group_instance_id
        if instance_id is not None:
            old_id = self.static_members.get(instance_id)
            old = self.members.get(old_id) if old_id is not None else None
            if old is not None:
                if old_id == member_id:
                    return old, False
                if req.member_id and not old.static_left:
                    return None, False
                # A static member restarting takes over its predecessor's place.
                self._cancel_timers(old)
                del self.members[old.member_id]
                old.member_id = member_id
                if old_id in self.target:
                    self.target[member_id] = self.target.pop(old_id)
                self.members[member_id] = old
                self.static_members[instance_id] = member_id
                return old, False
        member = self.members.get(member_id)
        if member is not None:
            return member, False
        member = ConsumerMember(
            member_id, instance_id, None, req.client_id, req.client_host, req.rebalance_timeout_ms
        )
        self.members[member_id] = member
        if instance_id is not None:
            self.static_members[instance_id] = member_id
        return member, True

    def _classic_timeout(self, member: ConsumerMember, which: str) -> None:
        setattr(member, which, None)
        if self.members.get(member.member_id) is member:
            # Kafka's join and sync timeouts: the member is removed, the others rebalance.
            self.remove_member(member)

    def _must_rejoin(self, member: ConsumerMember) -> bool:
        """Return whether a classic member must rejoin (Kafka's conditions in
        ``classicGroupHeartbeatToConsumerGroup``), and start its join timeout."""
        waiting = member.state == UNRELEASED_PARTITIONS and any(
            self._owner(t, p, member)
            for t, ps in self.target.get(member.member_id, {}).items()
            for p in ps - member.assigned.get(t, set())
        )
        rejoin = (
            member.member_epoch < self.group_epoch
            or member.state == UNREVOKED_PARTITIONS
            or (member.state == UNRELEASED_PARTITIONS and not waiting)
        )
        if rejoin and member.join_timer is None:
            member.join_timer = self.coord.timers.call_later(
                member.rebalance_timeout_ms / 1000, self._classic_timeout, member, "join_timer"
            )
        return rejoin

    def classic_sync(
        self,
        member_id: str,
        instance_id: str | None,
        generation_id: int,
        protocol_type: str | None,
        protocol_name: str | None,
    ) -> dict[str, Any]:
        """Handle a SyncGroup from a classic member (Kafka's
        ``classicGroupSyncToConsumerGroup``): answer its assigned partitions in the
        consumer protocol version it speaks."""
        from .classic import sync_error

        found = self.classic_member(member_id, instance_id)
        if isinstance(found, ErrorCode):
            return sync_error(found)
        member = found
        assert member.classic is not None
        if generation_id != member.member_epoch:
            return sync_error(ErrorCode.ILLEGAL_GENERATION)
        if (protocol_type is not None and protocol_type != "consumer") or (
            protocol_name is not None and protocol_name != member.classic.protocol_name
        ):
            return sync_error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        if self.group_epoch > member.member_epoch and member.state != UNREVOKED_PARTITIONS:
            self._must_rejoin(member)
            return sync_error(ErrorCode.REBALANCE_IN_PROGRESS)
        self.coord.timers.cancel(member.sync_timer)
        member.sync_timer = None
        self._schedule_session(member)
        return {
            "error_code": ErrorCode.NONE,
            "protocol_type": protocol_type,
            "protocol_name": protocol_name,
            "assignment": encode_assignment(
                self._names(member.assigned), member.classic.assignment_version()
            ),
        }

    def classic_heartbeat(
        self, member_id: str, instance_id: str | None, generation_id: int
    ) -> ErrorCode:
        """Handle a classic Heartbeat: keep the session, and answer
        REBALANCE_IN_PROGRESS when the member must rejoin."""
        found = self.classic_member(member_id, instance_id)
        if isinstance(found, ErrorCode):
            return found
        if generation_id != found.member_epoch:
            return ErrorCode.ILLEGAL_GENERATION
        self._schedule_session(found)
        return ErrorCode.REBALANCE_IN_PROGRESS if self._must_rejoin(found) else ErrorCode.NONE

    def classic_leave(self, members: list[tuple[str, str | None]]) -> list[ErrorCode]:
        """Handle a LeaveGroup naming classic members; return one error per member."""
        errors = []
        for member_id, instance_id in members:
            if instance_id is not None and not member_id:
                found = self.members.get(self.static_members.get(instance_id, ""))
                if found is None or found.classic is None:
                    errors.append(ErrorCode.UNKNOWN_MEMBER_ID)
                    continue
            else:
                found = self.classic_member(member_id, instance_id)  # type: ignore[assignment]
                if isinstance(found, ErrorCode):
                    errors.append(found)
                    continue
            self.remove_member(found, downgrade=False)
            errors.append(ErrorCode.NONE)
        return errors

    # -- offsets, admin --------------------------------------------------------------------

    def validate_offset_commit(
        self, member_id: str, member_epoch: int, api_version: int
    ) -> ErrorCode:
        """Check an OffsetCommit (Kafka's ConsumerGroup.validateOffsetCommit)."""
        if self.dead:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if member_epoch < 0 and not self.members:
            return ErrorCode.NONE  # admin or standalone commit to an empty group
        member = self.members.get(member_id)
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if member.classic is not None:
            # A classic member commits with its generation (its member epoch), with
            # any OffsetCommit version, as in a classic group.
            if member_epoch != member.member_epoch:
                return ErrorCode.ILLEGAL_GENERATION
            return ErrorCode.NONE
        if api_version < 9:
            return ErrorCode.UNSUPPORTED_VERSION  # KIP-848 members commit with v9+
        if member_epoch != member.member_epoch:
            return ErrorCode.STALE_MEMBER_EPOCH
        return ErrorCode.NONE

    def validate_offset_fetch(self, member_id: str | None, member_epoch: int) -> ErrorCode:
        """Check an OffsetFetch v9+ that names a member (Kafka's validateOffsetFetch)."""
        if member_epoch < 0 and not member_id:
            return ErrorCode.NONE
        member = self.members.get(member_id or "")
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if member_epoch != member.member_epoch:
            return ErrorCode.STALE_MEMBER_EPOCH
        return ErrorCode.NONE

    def subscribed_topics(self) -> set[str]:
        """Return the existing topics the members subscribe to."""
        topics: set[str] = set()
        for m in self.members.values():
            topics |= self._member_topics(m)
        return topics

    def describe(self) -> dict[str, Any]:
        """Describe the group for ConsumerGroupDescribe."""
        names = {tid: name for name, (tid, _) in self.subscription_metadata.items()}

        def tps(assignment: TopicPartitions) -> dict[str, Any]:
            return {
                "topic_partitions": [
                    {
                        "topic_id": t,
                        "topic_name": names.get(t) or self.coord.topic_name(t) or "",
                        "partitions": sorted(ps),
                    }
                    for t, ps in assignment.items()
                    if ps
                ]
            }

        return {
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "group_id": self.group_id,
            "group_state": self.state,
            "group_epoch": self.group_epoch,
            "assignment_epoch": self.assignment_epoch,
            "assignor_name": self.assignor_name(),
            "members": [
                {
                    "member_id": m.member_id,
                    "instance_id": m.instance_id,
                    "rack_id": m.rack_id,
                    "member_epoch": m.member_epoch,
                    "client_id": m.client_id,
                    "client_host": m.client_host,
                    "subscribed_topic_names": sorted(m.subscribed_topic_names),
                    # Kafka 4.4 describes an unset pattern as "", not null.
                    "subscribed_topic_regex": m.subscribed_topic_regex or "",
                    "assignment": tps(m.assigned),
                    "target_assignment": tps(self.target.get(m.member_id, {})),
                    # KIP-1099: 0 classic protocol, 1 consumer protocol.
                    "member_type": 0 if m.classic is not None else 1,
                }
                for m in self.members.values()
            ],
        }

    def shutdown(self) -> None:
        """Mark the group Dead and cancel its timers (DeleteGroups, broker stop, or a
        conversion to a classic group)."""
        for m in self.members.values():
            self._cancel_timers(m)
        self.coord.timers.cancel(self._regex_refresh)
        self._regex_refresh = None
        self.dead = True

    def _cancel_timers(self, member: ConsumerMember) -> None:
        timers = self.coord.timers
        for handle in (
            member.session_timer,
            member.revocation_timer,
            member.join_timer,
            member.sync_timer,
        ):
            timers.cancel(handle)
        member.session_timer = member.revocation_timer = None
        member.join_timer = member.sync_timer = None
