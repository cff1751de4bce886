"""KIP-932 share groups: membership and assignment (ShareGroupHeartbeat).

A share group's members each get a set of partitions, and a partition may go to
several members at once: which member receives which record is decided at fetch
time by the share partition (``broker/share/``), not by the assignment. So there
is no revocation and no reconciliation as in KIP-848 consumer groups:

* a heartbeat with member epoch 0 joins (the client brings its member id, a
  UUID), -1 leaves; any other epoch must be the member's current one
  (FENCED_MEMBER_EPOCH otherwise, UNKNOWN_MEMBER_ID for an unknown member);
* the **group epoch** moves when membership or a subscription changes, or a
  subscribed topic appears, disappears or grows; the ``simple`` assignor
  (``share_assignor.py``) then computes the **target assignment**, at most once
  per ``share.assignment.interval.ms``;
* a member takes its target at its next heartbeat, with the assignment epoch as
  its member epoch; the response carries the assignment when it changed.

Timeouts: ``share.session.timeout.ms`` (group config, else
``group.share.session.timeout.ms``) without a heartbeat removes the member; the
heartbeat interval given to members is ``share.heartbeat.interval.ms``. A group
holds at most ``group.share.max.size`` members (GROUP_MAX_SIZE_REACHED).
States, as Kafka's ``ShareGroupState`` names them: Empty, Stable, Dead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...protocol.errors import ErrorCode
from ..clock import TimerHandle
from .assignors import MemberSpec, TopicPartitions
from .share_assignor import simple_assign

if TYPE_CHECKING:
    from .coordinator import GroupCoordinator

EMPTY, STABLE, DEAD = "Empty", "Stable", "Dead"
JOIN_EPOCH, LEAVE_EPOCH = 0, -1
ASSIGNOR = "simple"


@dataclass(slots=True)
class ShareHeartbeat:
    """A ShareGroupHeartbeat request, as plain values."""

    group_id: str
    member_id: str
    member_epoch: int
    rack_id: str | None = None
    subscribed_topic_names: list[str] | None = None
    client_id: str = ""
    client_host: str = ""


@dataclass(eq=False, slots=True)
class ShareMember:
    """One member of a share group."""

    member_id: str
    rack_id: str | None
    client_id: str
    client_host: str
    subscribed_topic_names: list[str] = field(default_factory=list)
    member_epoch: int = 0
    assigned: TopicPartitions = field(default_factory=dict)
    session_timer: TimerHandle | None = None


def heartbeat_error(code: ErrorCode, message: str | None = None) -> dict[str, Any]:
    """Return a ShareGroupHeartbeat response carrying only ``code``."""
    return {
        "error_code": code,
        "error_message": message,
        "member_id": None,
        "member_epoch": 0,
        "heartbeat_interval": 0,
        "assignment": None,
    }


def _assignment(tps: TopicPartitions) -> dict[str, Any]:
    return {
        "topic_partitions": [
            {"topic_id": t, "partitions": sorted(ps)} for t, ps in tps.items() if ps
        ]
    }


class ShareGroup:
    """A KIP-932 share group."""

    group_type = "share"
    protocol_type = "share"

    def __init__(self, group_id: str, coordinator: GroupCoordinator) -> None:
        self.group_id = group_id
        self.coord = coordinator
        self.group_epoch = 0
        self.assignment_epoch = 0
        self.members: dict[str, ShareMember] = {}
        #: member id -> target assignment of the assignment epoch.
        self.target: dict[str, TopicPartitions] = {}
        #: Subscribed topics that exist: name -> (topic id, partition count).
        self.subscription_metadata: dict[str, tuple[uuid.UUID, int]] = {}
        self.dead = False
        self.state_timestamp_ms = coordinator.now_ms()
        self._last_assignment_ms: int | None = None

    # -- state ------------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        """Return whether the group has no members."""
        return not self.members

    @property
    def state(self) -> str:
        """Return the group state as Kafka's ``ShareGroupState`` names it."""
        if self.dead:
            return DEAD
        return STABLE if self.members else EMPTY

    def subscribed_topics(self) -> set[str]:
        """Return the names of the topics the members subscribe to."""
        topics: set[str] = set()
        for m in self.members.values():
            topics.update(m.subscribed_topic_names)
        return topics

    def _setting(self, name: str) -> int:
        return int(self.coord.group_configs.value(self.group_id, name))

    # -- target assignment --------------------------------------------------------------

    def _refresh_subscription_metadata(self) -> bool:
        meta = {}
        for name in self.subscribed_topics():
            info = self.coord.topic_info(name)
            if info is not None:
                meta[name] = info
        if meta != self.subscription_metadata:
            self.subscription_metadata = meta
            return True
        return False

    def _subscribed_ids(self, member: ShareMember) -> frozenset[uuid.UUID]:
        """Return the ids of the existing topics ``member`` subscribes to."""
        return frozenset(
            self.subscription_metadata[t][0]
            for t in member.subscribed_topic_names
            if t in self.subscription_metadata
        )

    def _maybe_compute_target(self, changed: bool) -> None:
        if self._refresh_subscription_metadata() or changed:
            self.group_epoch += 1
        if self.group_epoch <= self.assignment_epoch:
            return
        if not self.members:
            # An empty group has nothing to assign, and its (empty) assignment does
            # not start an interval: the next member to join an emptied group gets
            # its partitions at once, as the first member of a new group does. Else
            # a consumer replacing one that just closed waited a heartbeat (5 s by
            # default) for them, and librdkafka 2.16 hangs in close() when they
            # arrive while it is closing.
            self.target = {}
            self.assignment_epoch = self.group_epoch
            self._last_assignment_ms = None
            return
        now = self.coord.now_ms()
        interval = self._setting("share.assignment.interval.ms")
        if self._last_assignment_ms is not None and now - self._last_assignment_ms < interval:
            return  # the next heartbeat after the interval assigns
        topics = dict(self.subscription_metadata.values())
        specs = {
            m.member_id: MemberSpec(
                self._subscribed_ids(m),
                {t: set(ps) for t, ps in self.target.get(m.member_id, {}).items()},
            )
            for m in self.members.values()
        }
        self.target = simple_assign(specs, topics)
        self.assignment_epoch = self.group_epoch
        self._last_assignment_ms = now

    # -- timers ------------------------------------------------------------------------

    def _schedule_session(self, member: ShareMember) -> None:
        timers = self.coord.timers
        timers.cancel(member.session_timer)
        member.session_timer = timers.call_later(
            self._setting("share.session.timeout.ms") / 1000, self._session_expired, member
        )

    def _session_expired(self, member: ShareMember) -> None:
        member.session_timer = None
        if self.members.get(member.member_id) is member:
            self.remove_member(member)

    def remove_member(self, member: ShareMember) -> None:
        """Remove ``member`` (left or expired); the others share its partitions."""
        self.coord.timers.cancel(member.session_timer)
        self.members.pop(member.member_id, None)
        self.target.pop(member.member_id, None)
        self._maybe_compute_target(changed=True)
        self._touch()

    def _touch(self) -> None:
        self.state_timestamp_ms = self.coord.now_ms()
        self.coord.group_changed(self)

    # -- ShareGroupHeartbeat ---------------------------------------------------------------

    def heartbeat(self, req: ShareHeartbeat) -> dict[str, Any]:
        """Handle one ShareGroupHeartbeat; return the response dict."""
        if req.member_epoch == LEAVE_EPOCH:
            return self._leave(req)
        changed = False
        member = self.members.get(req.member_id)
        if req.member_epoch == JOIN_EPOCH:
            if member is not None:
                # Rejoining (after an error): start over as a new member.
                self.remove_member(member)
            elif len(self.members) >= int(self.coord.settings["group.share.max.size"]):
                size = int(self.coord.settings["group.share.max.size"])
                return heartbeat_error(
                    ErrorCode.GROUP_MAX_SIZE_REACHED,
                    f"The share group has reached its maximum capacity of {size} members.",
                )
            member = ShareMember(req.member_id, req.rack_id, req.client_id, req.client_host)
            self.members[req.member_id] = member
            changed = True
        elif member is None:
            return heartbeat_error(
                ErrorCode.UNKNOWN_MEMBER_ID,
                f"Member {req.member_id} is not a member of group {self.group_id}.",
            )
        elif req.member_epoch != member.member_epoch:
            which = "greater" if req.member_epoch > member.member_epoch else "smaller"
            return heartbeat_error(
                ErrorCode.FENCED_MEMBER_EPOCH,
                f"The share group member has a {which} member epoch ({req.member_epoch}) than "
                f"the one known by the group coordinator ({member.member_epoch}). The member "
                "must abandon all its partitions and rejoin.",
            )
        member.client_id, member.client_host = req.client_id, req.client_host
        if req.rack_id is not None:
            member.rack_id = req.rack_id
        names = req.subscribed_topic_names
        if names is not None and sorted(names) != sorted(member.subscribed_topic_names):
            member.subscribed_topic_names = list(names)
            changed = True
        before = {t: set(ps) for t, ps in member.assigned.items()}
        self._maybe_compute_target(changed)
        if member.member_epoch < self.assignment_epoch:
            member.member_epoch = self.assignment_epoch
            member.assigned = {
                t: set(ps) for t, ps in self.target.get(member.member_id, {}).items() if ps
            }
        elif changed:
            self._trim_to_subscription(member)
        self._schedule_session(member)
        if changed:
            self._touch()
        return {
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "member_id": member.member_id,
            "member_epoch": member.member_epoch,
            "heartbeat_interval": self._setting("share.heartbeat.interval.ms"),
            "assignment": _assignment(member.assigned)
            if req.member_epoch == JOIN_EPOCH or before != member.assigned
            else None,
        }

    def _trim_to_subscription(self, member: ShareMember) -> None:
        """Drop from ``member``'s assignment the topics it no longer subscribes to.

        When ``share.assignment.interval.ms`` defers the new target assignment, the
        member keeps its partitions until the next one, except those of topics it
        has unsubscribed from: Apache Kafka 4.4 answers such a heartbeat with the
        assignment minus those topics at once (and the new topics' partitions at
        a later heartbeat), so records of a dropped topic stop at once.
        """
        wanted = self._subscribed_ids(member)
        member.assigned = {t: ps for t, ps in member.assigned.items() if t in wanted}
        target = self.target.get(member.member_id)
        if target is not None:
            self.target[member.member_id] = {t: ps for t, ps in target.items() if t in wanted}

    def _leave(self, req: ShareHeartbeat) -> dict[str, Any]:
        member = self.members.get(req.member_id)
        if member is None:
            return heartbeat_error(
                ErrorCode.UNKNOWN_MEMBER_ID,
                f"Member {req.member_id} is not a member of group {self.group_id}.",
            )
        self.remove_member(member)
        return {
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "member_id": member.member_id,
            "member_epoch": LEAVE_EPOCH,
            "heartbeat_interval": 0,
            "assignment": None,
        }

    # -- admin ---------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """Describe the group for ShareGroupDescribe."""

        def tps(assignment: TopicPartitions) -> dict[str, Any]:
            return {
                "topic_partitions": [
                    {
                        "topic_id": t,
                        "topic_name": self.coord.topic_name(t) or "",
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
            "assignor_name": ASSIGNOR,
            "members": [
                {
                    "member_id": m.member_id,
                    "rack_id": m.rack_id,
                    "member_epoch": m.member_epoch,
                    "client_id": m.client_id,
                    "client_host": m.client_host,
                    "subscribed_topic_names": sorted(m.subscribed_topic_names),
                    "assignment": tps(m.assigned),
                }
                for m in self.members.values()
            ],
        }

    def shutdown(self) -> None:
        """Mark the group Dead and cancel its timers (DeleteGroups, broker stop)."""
        for m in self.members.values():
            self.coord.timers.cancel(m.session_timer)
        self.dead = True
