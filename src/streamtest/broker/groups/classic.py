"""Classic consumer groups: the JoinGroup / SyncGroup / Heartbeat state machine.

This is the group membership protocol of KIP-62 and the "Kafka Client-side
Assignment Proposal", with KIP-394 (MEMBER_ID_REQUIRED), KIP-345 (static
membership) and KIP-429 (incremental cooperative rebalancing, which needs nothing
from the broker beyond letting members rejoin at will).

States and their legal predecessors (Kafka's ``GroupMetadata`` /
``ClassicGroupState``), kept here as data in :data:`VALID_PREVIOUS_STATES`::

    Empty --join--> PreparingRebalance --all joined / rebalance timeout-->
    CompletingRebalance --leader's SyncGroup--> Stable
    Stable / CompletingRebalance --join, leave, expiry--> PreparingRebalance
    PreparingRebalance --nobody left--> Empty;   any --DeleteGroups--> Dead

Timeouts, all loop timers owned by the coordinator's :class:`Timers`:

* session timeout per member: a member that neither heartbeats nor waits in a
  JoinGroup/SyncGroup is removed, and the group rebalances;
* rebalance timeout: members that have not rejoined when it passes are removed
  and the join phase completes without them; members that have not sent
  SyncGroup that long after the join completed are removed too (KAFKA-13419);
* ``group.initial.rebalance.delay.ms`` for the first rebalance of an empty group,
  extended while new members keep arriving (Kafka's ``InitialDelayedJoin``).

Handlers get either a response dict at once or an ``asyncio.Future`` that the
state machine resolves with the response dict when the phase completes.
Left out: ``group.max.size`` (GROUP_MAX_SIZE_REACHED); persisting membership
(after a broker restart members get UNKNOWN_MEMBER_ID and rejoin, as after a
coordinator move).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...protocol.errors import ErrorCode
from ..clock import TimerHandle
from .consumer_protocol import decode_subscription, encode_assignment

if TYPE_CHECKING:
    from .consumer import ConsumerGroup, ConsumerMember
    from .coordinator import GroupCoordinator

EMPTY = "Empty"
PREPARING_REBALANCE = "PreparingRebalance"
COMPLETING_REBALANCE = "CompletingRebalance"
STABLE = "Stable"
DEAD = "Dead"

#: Each state and the states it may be entered from (Kafka's validPreviousStates).
VALID_PREVIOUS_STATES: dict[str, frozenset[str]] = {
    PREPARING_REBALANCE: frozenset({STABLE, COMPLETING_REBALANCE, EMPTY}),
    COMPLETING_REBALANCE: frozenset({PREPARING_REBALANCE}),
    STABLE: frozenset({COMPLETING_REBALANCE}),
    EMPTY: frozenset({PREPARING_REBALANCE}),
    DEAD: frozenset({STABLE, PREPARING_REBALANCE, COMPLETING_REBALANCE, EMPTY, DEAD}),
}

#: A handler's answer: a response dict now, or a future resolved with one later.
Outcome = dict[str, Any] | asyncio.Future[dict[str, Any]]


@dataclass(slots=True)
class JoinRequest:
    """The parts of a JoinGroup request the state machine uses."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    #: JoinGroup v4+ (KIP-394): a new dynamic member first gets MEMBER_ID_REQUIRED.
    require_known_member_id: bool = True
    reason: str | None = None


@dataclass(eq=False, slots=True)
class ClassicMember:
    """One member of a classic group."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    join_waiter: asyncio.Future[dict[str, Any]] | None = None
    sync_waiter: asyncio.Future[dict[str, Any]] | None = None
    heartbeat_timer: TimerHandle | None = None

    def metadata(self, protocol: str | None) -> bytes:
        """Return this member's metadata for ``protocol`` (empty if it has none)."""
        for name, data in self.protocols:
            if name == protocol:
                return data
        return b""

    def matches(self, protocols: list[tuple[str, bytes]]) -> bool:
        """Return whether ``protocols`` equal what the member last joined with."""
        return protocols == self.protocols


def join_error(member_id: str, code: ErrorCode) -> dict[str, Any]:
    """Return a JoinGroup response carrying only ``code``."""
    return {
        "error_code": code,
        "generation_id": -1,
        "protocol_type": None,
        "protocol_name": None,
        "leader": "",
        "skip_assignment": False,
        "member_id": member_id,
        "members": [],
    }


def sync_error(code: ErrorCode) -> dict[str, Any]:
    """Return a SyncGroup response carrying only ``code``."""
    return {"error_code": code, "protocol_type": None, "protocol_name": None, "assignment": b""}


def _resolve(fut: asyncio.Future[dict[str, Any]] | None, value: dict[str, Any]) -> None:
    if fut is not None and not fut.done():
        fut.set_result(value)


class ClassicGroup:
    """A classic group: members, generation, the chosen protocol and the state machine."""

    group_type = "classic"

    def __init__(self, group_id: str, coordinator: GroupCoordinator) -> None:
        self.group_id = group_id
        self.coord = coordinator
        self.state = EMPTY
        self.state_timestamp_ms = self.coord.now_ms()
        self.generation_id = 0
        self.protocol_type: str | None = None
        self.protocol_name: str | None = None
        self.leader_id: str | None = None
        self.members: dict[str, ClassicMember] = {}
        #: Members told MEMBER_ID_REQUIRED that have not joined yet, with expiry timers.
        self.pending_members: dict[str, TimerHandle] = {}
        #: group.instance.id -> member id (KIP-345).
        self.static_members: dict[str, str] = {}
        #: Members of the current generation that have not sent SyncGroup yet.
        self.pending_sync: set[str] = set()
        self.new_member_added = False
        self._join_timer: TimerHandle | None = None
        self._sync_timer: TimerHandle | None = None
        #: Set while the initial delayed join (of an empty group) runs.
        self._initial_remaining_ms: int | None = None

    # -- basics ------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        """Return whether the group has no members (pending ones do not count)."""
        return not self.members

    def transition(self, new_state: str) -> None:
        """Move to ``new_state``.

        Raises:
            AssertionError: the move is not legal (a bug in the state machine).
        """
        assert self.state in VALID_PREVIOUS_STATES[new_state], (
            f"group {self.group_id}: illegal transition {self.state} -> {new_state}"
        )
        self.state = new_state
        self.state_timestamp_ms = self.coord.now_ms()

    def _rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def _candidate_protocols(self) -> set[str]:
        names: set[str] | None = None
        for m in self.members.values():
            mine = {n for n, _ in m.protocols}
            names = mine if names is None else names & mine
        return names or set()

    def _supports(self, protocol_type: str, protocols: list[tuple[str, bytes]]) -> bool:
        if self.is_empty:
            return bool(protocol_type) and bool(protocols)
        if protocol_type != self.protocol_type:
            return False
        return bool({n for n, _ in protocols} & self._candidate_protocols())

    def select_protocol(self) -> str | None:
        """Pick the protocol all members support that most members prefer
        (ties go to the leader's preference order), as Kafka's ``selectProtocol``."""
        candidates = self._candidate_protocols()
        if not candidates:
            return None
        votes: Counter[str] = Counter()
        for m in self.members.values():
            for name, _ in m.protocols:
                if name in candidates:
                    votes[name] += 1
                    break
        leader = self.members.get(self.leader_id or "") or next(iter(self.members.values()))
        pref = {name: i for i, (name, _) in enumerate(leader.protocols)}
        return max(sorted(candidates), key=lambda n: (votes[n], -pref.get(n, 1 << 30)))

    def validate_member(self, member_id: str, instance_id: str | None) -> ErrorCode:
        """Return UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID for a stranger, else NONE (KIP-345)."""
        if instance_id is not None:
            existing = self.static_members.get(instance_id)
            if existing is None:
                return ErrorCode.UNKNOWN_MEMBER_ID
            if existing != member_id:
                return ErrorCode.FENCED_INSTANCE_ID
        if member_id not in self.members:
            return ErrorCode.UNKNOWN_MEMBER_ID
        return ErrorCode.NONE

    def _join_response(self, member: ClassicMember, with_members: bool) -> dict[str, Any]:
        members = []
        if with_members:
            members = [
                {
                    "member_id": m.member_id,
                    "group_instance_id": m.group_instance_id,
                    "metadata": m.metadata(self.protocol_name),
                }
                for m in self.members.values()
            ]
        return {
            "error_code": ErrorCode.NONE,
            "generation_id": self.generation_id,
            "protocol_type": self.protocol_type,
            "protocol_name": self.protocol_name,
            "leader": self.leader_id or "",
            "skip_assignment": False,
            "member_id": member.member_id,
            "members": members,
        }

    def _await_join(self, member: ClassicMember) -> asyncio.Future[dict[str, Any]]:
        # A client that re-sends JoinGroup replaces its earlier request; answer
        # the old one so nothing waits forever.
        _resolve(member.join_waiter, join_error(member.member_id, ErrorCode.REBALANCE_IN_PROGRESS))
        member.join_waiter = asyncio.get_running_loop().create_future()
        return member.join_waiter

    def _finish_join(self, member: ClassicMember, response: dict[str, Any]) -> None:
        fut, member.join_waiter = member.join_waiter, None
        _resolve(fut, response)

    def _finish_sync(self, member: ClassicMember, response: dict[str, Any]) -> None:
        fut, member.sync_waiter = member.sync_waiter, None
        _resolve(fut, response)

    # -- heartbeats and removal ----------------------------------------------------

    def schedule_heartbeat(self, member: ClassicMember) -> None:
        """(Re)start ``member``'s session timer."""
        timers = self.coord.timers
        timers.cancel(member.heartbeat_timer)
        member.heartbeat_timer = timers.call_later(
            member.session_timeout_ms / 1000, self._heartbeat_expired, member
        )

    def _heartbeat_expired(self, member: ClassicMember) -> None:
        member.heartbeat_timer = None
        if self.members.get(member.member_id) is not member:
            return
        if member.join_waiter is not None or member.sync_waiter is not None:
            # A member parked in JoinGroup/SyncGroup is alive; the rebalance
            # timeout bounds how long it can wait there.
            self.schedule_heartbeat(member)
            return
        self.remove_member_and_update(member, "session timeout expired")

    def _remove_member(self, member: ClassicMember) -> None:
        self.coord.timers.cancel(member.heartbeat_timer)
        member.heartbeat_timer = None
        self._finish_join(member, join_error(member.member_id, ErrorCode.UNKNOWN_MEMBER_ID))
        self._finish_sync(member, sync_error(ErrorCode.UNKNOWN_MEMBER_ID))
        self.members.pop(member.member_id, None)
        iid = member.group_instance_id
        if iid is not None and self.static_members.get(iid) == member.member_id:
            del self.static_members[iid]
        self.pending_sync.discard(member.member_id)
        if self.leader_id == member.member_id:
            self.leader_id = next(iter(self.members), None)

    def remove_member_and_update(self, member: ClassicMember, reason: str) -> None:
        """Remove ``member`` (left, expired, failed to sync) and rebalance as needed."""
        self._remove_member(member)
        if self.state in (STABLE, COMPLETING_REBALANCE):
            self.prepare_rebalance(reason)
        elif self.state == PREPARING_REBALANCE:
            self._maybe_complete_join()

    def _add_pending_member(self, member_id: str, session_timeout_ms: int) -> None:
        self.pending_members[member_id] = self.coord.timers.call_later(
            session_timeout_ms / 1000, self._pending_expired, member_id
        )

    def _pending_expired(self, member_id: str) -> None:
        if self.pending_members.pop(member_id, None) is not None:
            if self.state == PREPARING_REBALANCE:
                self._maybe_complete_join()

    # -- rebalance -----------------------------------------------------------------

    def prepare_rebalance(self, reason: str) -> None:
        """Enter PreparingRebalance: members must rejoin within the rebalance timeout."""
        timers = self.coord.timers
        if self.state == COMPLETING_REBALANCE:
            # The leader's assignment for this generation will never be used.
            for m in self.members.values():
                m.assignment = b""
                self._finish_sync(m, sync_error(ErrorCode.REBALANCE_IN_PROGRESS))
        timers.cancel(self._sync_timer)
        self._sync_timer = None
        self.pending_sync.clear()
        was_empty = self.state == EMPTY
        self.transition(PREPARING_REBALANCE)
        timers.cancel(self._join_timer)
        rebalance_ms = self._rebalance_timeout_ms()
        if was_empty:
            delay = self.coord.initial_rebalance_delay_ms
            self._initial_remaining_ms = max(rebalance_ms - delay, 0)
            self._join_timer = timers.call_later(
                min(delay, rebalance_ms) / 1000, self._initial_delay_expired
            )
            return
        self._initial_remaining_ms = None
        self._join_timer = timers.call_later(rebalance_ms / 1000, self.complete_join)
        self._maybe_complete_join()

    def _rebalance_or_check(self, reason: str) -> None:
        if self.state == PREPARING_REBALANCE:
            self._maybe_complete_join()
        elif self.state in (EMPTY, STABLE, COMPLETING_REBALANCE):
            self.prepare_rebalance(reason)

    def _initial_delay_expired(self) -> None:
        # Kafka's InitialDelayedJoin: wait the delay again while new members keep
        # arriving, but never past the rebalance timeout.
        self._join_timer = None
        if self.state != PREPARING_REBALANCE or self._initial_remaining_ms is None:
            return
        delay = self.coord.initial_rebalance_delay_ms
        if self.new_member_added and self._initial_remaining_ms > 0:
            self.new_member_added = False
            step = min(delay, self._initial_remaining_ms)
            self._initial_remaining_ms = max(self._initial_remaining_ms - delay, 0)
            self._join_timer = self.coord.timers.call_later(
                step / 1000, self._initial_delay_expired
            )
            return
        self.complete_join()

    def _maybe_complete_join(self) -> None:
        if self.state != PREPARING_REBALANCE or self._initial_remaining_ms is not None:
            return
        if self.pending_members:
            return
        if all(m.join_waiter is not None for m in self.members.values()):
            self.complete_join()

    def complete_join(self) -> None:
        """End the join phase: drop members that did not rejoin, start the next generation."""
        timers = self.coord.timers
        timers.cancel(self._join_timer)
        self._join_timer = None
        self._initial_remaining_ms = None
        self.new_member_added = False
        if self.state != PREPARING_REBALANCE:
            return
        for m in list(self.members.values()):
            if m.join_waiter is None:
                self._remove_member(m)
        self.generation_id += 1
        if not self.members:
            self.protocol_name = None
            self.leader_id = None
            self.transition(EMPTY)
            self.coord.group_changed(self)
            return
        self.protocol_name = self.select_protocol()
        self.transition(COMPLETING_REBALANCE)
        if self.leader_id not in self.members:
            self.leader_id = next(iter(self.members))
        for m in self.members.values():
            self._finish_join(m, self._join_response(m, m.member_id == self.leader_id))
            self.schedule_heartbeat(m)
        self.pending_sync = set(self.members)
        self._sync_timer = timers.call_later(
            self._rebalance_timeout_ms() / 1000, self._sync_expired, self.generation_id
        )
        self.coord.group_changed(self)

    def _sync_expired(self, generation_id: int) -> None:
        self._sync_timer = None
        if generation_id != self.generation_id or self.state not in (COMPLETING_REBALANCE, STABLE):
            return
        missing = [self.members[m] for m in self.pending_sync if m in self.members]
        if not missing:
            return
        for m in missing:
            self._remove_member(m)
        self.prepare_rebalance("members did not send SyncGroup within the rebalance timeout")

    # -- JoinGroup -------------------------------------------------------------------

    def join(self, req: JoinRequest) -> Outcome:
        """Handle a JoinGroup; return the response now or a future of it."""
        if self.state == DEAD:
            return join_error(req.member_id, ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if not self._supports(req.protocol_type, req.protocols):
            return join_error(req.member_id, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        if req.member_id == "":
            return self._join_unknown(req)
        return self._join_known(req)

    def _join_unknown(self, req: JoinRequest) -> Outcome:
        new_id = f"{req.client_id}-{uuid.uuid4()}"
        if req.group_instance_id is not None:
            old_id = self.static_members.get(req.group_instance_id)
            if old_id is not None and old_id in self.members:
                return self._replace_static_member(old_id, new_id, req)
            # A new static member joins at once: its id is tied to the instance.
            return self._add_member_and_rebalance(new_id, req)
        if req.require_known_member_id:
            # KIP-394: hand out the id first, so a client that times out and
            # retries does not leave orphan members behind.
            self._add_pending_member(new_id, req.session_timeout_ms)
            return join_error(new_id, ErrorCode.MEMBER_ID_REQUIRED)
        return self._add_member_and_rebalance(new_id, req)

    def _join_known(self, req: JoinRequest) -> Outcome:
        if req.member_id in self.pending_members:
            self.coord.timers.cancel(self.pending_members.pop(req.member_id))
            return self._add_member_and_rebalance(req.member_id, req)
        error = self.validate_member(req.member_id, req.group_instance_id)
        if error:
            return join_error(req.member_id, error)
        member = self.members[req.member_id]
        if self.state == PREPARING_REBALANCE:
            self._update_member(member, req)
            fut = self._await_join(member)
            self._maybe_complete_join()
            return fut
        if self.state == COMPLETING_REBALANCE and member.matches(req.protocols):
            # The member missed the JoinGroup response: send it again.
            return self._join_response(member, member.member_id == self.leader_id)
        if (
            self.state == STABLE
            and member.member_id != self.leader_id
            and member.matches(req.protocols)
        ):
            return self._join_response(member, False)
        if self.state in (COMPLETING_REBALANCE, STABLE):
            self._update_member(member, req)
            fut = self._await_join(member)
            self.prepare_rebalance(f"member {member.member_id} rejoined ({req.reason})")
            return fut
        return join_error(req.member_id, ErrorCode.UNKNOWN_MEMBER_ID)

    def _update_member(self, member: ClassicMember, req: JoinRequest) -> None:
        member.protocols = list(req.protocols)
        member.session_timeout_ms = req.session_timeout_ms
        member.rebalance_timeout_ms = req.rebalance_timeout_ms
        member.client_id = req.client_id
        member.client_host = req.client_host

    def _new_member(self, member_id: str, req: JoinRequest) -> ClassicMember:
        return ClassicMember(
            member_id,
            req.group_instance_id,
            req.client_id,
            req.client_host,
            req.session_timeout_ms,
            req.rebalance_timeout_ms,
            req.protocol_type,
            list(req.protocols),
        )

    def _add_member_and_rebalance(self, member_id: str, req: JoinRequest) -> Outcome:
        member = self._new_member(member_id, req)
        if self.is_empty:
            self.protocol_type = req.protocol_type
        self.members[member_id] = member
        if req.group_instance_id is not None:
            self.static_members[req.group_instance_id] = member_id
        if self.leader_id is None:
            self.leader_id = member_id
        if self.state == PREPARING_REBALANCE and self.generation_id == 0:
            self.new_member_added = True
        fut = self._await_join(member)
        self.schedule_heartbeat(member)
        self._rebalance_or_check(f"adding new member {member_id}")
        return fut

    def _replace_static_member(self, old_id: str, new_id: str, req: JoinRequest) -> Outcome:
        """A static member restarted with a new member id (KIP-345): it takes the
        old member's place, and in a Stable group keeps its assignment without a
        rebalance."""
        old = self.members[old_id]
        current_leader = self.leader_id
        self._finish_join(old, join_error(old_id, ErrorCode.FENCED_INSTANCE_ID))
        self._finish_sync(old, sync_error(ErrorCode.FENCED_INSTANCE_ID))
        self.coord.timers.cancel(old.heartbeat_timer)
        del self.members[old_id]
        member = self._new_member(new_id, req)
        member.assignment = old.assignment
        self.members[new_id] = member
        assert req.group_instance_id is not None
        self.static_members[req.group_instance_id] = new_id
        if self.leader_id == old_id:
            self.leader_id = new_id
        if old_id in self.pending_sync:
            self.pending_sync.discard(old_id)
            self.pending_sync.add(new_id)
        self.schedule_heartbeat(member)
        if self.state == STABLE and self.select_protocol() == self.protocol_name:
            self.coord.group_changed(self)
            # Return the old leader id so that a rejoining leader does not run an
            # assignment that a Stable group would never hand out (Kafka does this).
            response = self._join_response(member, False)
            response["leader"] = current_leader or ""
            return response
        fut = self._await_join(member)
        self._rebalance_or_check(f"static member {req.group_instance_id} rejoined")
        return fut

    # -- SyncGroup, Heartbeat, LeaveGroup ---------------------------------------------

    def sync(
        self,
        member_id: str,
        instance_id: str | None,
        generation_id: int,
        protocol_type: str | None,
        protocol_name: str | None,
        assignments: dict[str, bytes],
    ) -> Outcome:
        """Handle a SyncGroup; the leader's request carries every member's assignment."""
        if self.state == DEAD:
            return sync_error(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        error = self.validate_member(member_id, instance_id)
        if error:
            return sync_error(error)
        if generation_id != self.generation_id:
            return sync_error(ErrorCode.ILLEGAL_GENERATION)
        if (protocol_type is not None and protocol_type != self.protocol_type) or (
            protocol_name is not None and protocol_name != self.protocol_name
        ):
            return sync_error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        if self.state == PREPARING_REBALANCE:
            return sync_error(ErrorCode.REBALANCE_IN_PROGRESS)
        if self.state == EMPTY:
            return sync_error(ErrorCode.UNKNOWN_MEMBER_ID)
        member = self.members[member_id]
        self.pending_sync.discard(member_id)
        self.schedule_heartbeat(member)
        if self.state == STABLE:
            return self._sync_response(member)
        # CompletingRebalance: wait for the leader's assignment.
        _resolve(member.sync_waiter, sync_error(ErrorCode.REBALANCE_IN_PROGRESS))
        fut = member.sync_waiter = asyncio.get_running_loop().create_future()
        if member_id == self.leader_id:
            for m in self.members.values():
                m.assignment = assignments.get(m.member_id, b"")
            self.transition(STABLE)
            for m in self.members.values():
                if m.sync_waiter is not None:
                    self._finish_sync(m, self._sync_response(m))
            self.coord.group_changed(self)
        return fut

    def _sync_response(self, member: ClassicMember) -> dict[str, Any]:
        return {
            "error_code": ErrorCode.NONE,
            "protocol_type": self.protocol_type,
            "protocol_name": self.protocol_name,
            "assignment": member.assignment,
        }

    def heartbeat(self, member_id: str, instance_id: str | None, generation_id: int) -> ErrorCode:
        """Handle a Heartbeat; REBALANCE_IN_PROGRESS tells the member to rejoin."""
        if self.state == DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        error = self.validate_member(member_id, instance_id)
        if error:
            return error
        if generation_id != self.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        if self.state == EMPTY:
            return ErrorCode.UNKNOWN_MEMBER_ID
        self.schedule_heartbeat(self.members[member_id])
        if self.state == PREPARING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    def leave(self, member_id: str, instance_id: str | None) -> ErrorCode:
        """Remove one member (LeaveGroup); a static member is named by instance id."""
        if self.state == DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if instance_id is not None:
            existing = self.static_members.get(instance_id)
            if existing is None:
                return ErrorCode.UNKNOWN_MEMBER_ID
            if member_id and existing != member_id:
                return ErrorCode.FENCED_INSTANCE_ID
            member_id = existing
        elif member_id in self.pending_members:
            self.coord.timers.cancel(self.pending_members.pop(member_id))
            if self.state == PREPARING_REBALANCE:
                self._maybe_complete_join()
            return ErrorCode.NONE
        member = self.members.get(member_id)
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        self.remove_member_and_update(member, "member left the group")
        return ErrorCode.NONE

    # -- offsets, admin ----------------------------------------------------------------

    def validate_offset_commit(
        self,
        member_id: str,
        instance_id: str | None,
        generation_id: int,
        transactional: bool = False,
    ) -> ErrorCode:
        """Check an OffsetCommit against the group (Kafka's ClassicGroup.validateOffsetCommit).

        Generation -1 with no member id is an admin or standalone commit, allowed
        only while the group is Empty. A transactional commit (TxnOffsetCommit) is
        not refused while the group waits for SyncGroup.
        """
        if self.state == DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if generation_id < 0 and self.state == EMPTY:
            return ErrorCode.NONE
        if generation_id >= 0 or member_id or instance_id is not None:
            error = self.validate_member(member_id, instance_id)
            if error:
                return error
            if generation_id != self.generation_id:
                return ErrorCode.ILLEGAL_GENERATION
        elif self.state != EMPTY:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if self.state == COMPLETING_REBALANCE and not transactional:
            return ErrorCode.REBALANCE_IN_PROGRESS
        member = self.members.get(member_id)
        if member is not None and member.join_waiter is None and member.sync_waiter is None:
            self.schedule_heartbeat(member)  # a commit proves the member is alive
        return ErrorCode.NONE

    def subscribed_topics(self) -> set[str] | None:
        """Return the topics the members subscribe to (consumer protocol only).

        Returns ``None`` when that cannot be known (another protocol type, or
        metadata that does not decode).
        """
        if self.is_empty:
            return set()
        if self.protocol_type != "consumer" or self.protocol_name is None:
            return None
        topics: set[str] = set()
        try:
            for m in self.members.values():
                topics.update(decode_subscription(m.metadata(self.protocol_name)).topics)
        except ValueError:
            return None
        return topics

    def describe(self) -> dict[str, Any]:
        """Describe the group for DescribeGroups: metadata and assignments only when Stable."""
        stable = self.state == STABLE
        return {
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "group_id": self.group_id,
            "group_state": self.state,
            "protocol_type": self.protocol_type or "",
            "protocol_data": (self.protocol_name or "") if stable else "",
            "members": [
                {
                    "member_id": m.member_id,
                    "group_instance_id": m.group_instance_id,
                    "client_id": m.client_id,
                    "client_host": m.client_host,
                    "member_metadata": m.metadata(self.protocol_name) if stable else b"",
                    "member_assignment": m.assignment if stable else b"",
                }
                for m in self.members.values()
            ],
        }

    def shutdown(self, code: ErrorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE) -> None:
        """Mark the group Dead and answer anything parked with ``code`` (DeleteGroups,
        broker stop; REBALANCE_IN_PROGRESS when it becomes a consumer group, so the
        members rejoin, as Kafka's ``convertToConsumerGroup`` answers them)."""
        timers = self.coord.timers
        timers.cancel(self._join_timer)
        timers.cancel(self._sync_timer)
        for handle in self.pending_members.values():
            timers.cancel(handle)
        self.pending_members.clear()
        for m in self.members.values():
            timers.cancel(m.heartbeat_timer)
            self._finish_join(m, join_error(m.member_id, code))
            self._finish_sync(m, sync_error(code))
        self.transition(DEAD)

    @classmethod
    def from_consumer(
        cls,
        group: ConsumerGroup,
        leaving: ConsumerMember,
        coordinator: GroupCoordinator,
    ) -> ClassicGroup:
        """Return the classic group a consumer group becomes when its last member
        using the consumer protocol (``leaving``) goes (Kafka's
        ``ClassicGroup.fromConsumerGroup``): Stable at the group epoch, every other
        member with its protocols and its target assignment; the caller then starts
        a rebalance so they rejoin."""
        new = cls(group.group_id, coordinator)
        new.state = STABLE
        new.generation_id = group.group_epoch
        new.protocol_type = "consumer"
        for m in group.members.values():
            if m is leaving or m.classic is None:
                continue
            member = ClassicMember(
                m.member_id,
                m.instance_id,
                m.client_id,
                m.client_host,
                m.classic.session_timeout_ms,
                m.rebalance_timeout_ms,
                "consumer",
                list(m.classic.protocols),
            )
            member.assignment = encode_assignment(
                group.target_names(m.member_id), m.classic.assignment_version()
            )
            new.members[m.member_id] = member
            if m.instance_id is not None:
                new.static_members[m.instance_id] = m.member_id
            if new.leader_id is None:
                new.leader_id = m.member_id
        new.protocol_name = new.select_protocol()
        for member in new.members.values():
            new.schedule_heartbeat(member)
        return new
