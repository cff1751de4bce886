"""Scenarios for consumer groups: FindCoordinator, the classic protocol (JoinGroup,
SyncGroup, Heartbeat, LeaveGroup), DescribeGroups, ListGroups, DeleteGroups,
offsets (OffsetCommit, OffsetFetch, OffsetDelete) and KIP-848's
ConsumerGroupHeartbeat and ConsumerGroupDescribe (see scenarios_data for the
conventions)."""

from __future__ import annotations

import struct
import uuid
from typing import Any

from .harness import Side, scenario

GROUP, TXN = 0, 1


def _string(s: str) -> bytes:
    return struct.pack(">h", len(s)) + s.encode()


def subscription(*topics: str) -> bytes:
    """ConsumerProtocolSubscription v0: the topics, no user data."""
    return (
        struct.pack(">hi", 0, len(topics))
        + b"".join(_string(t) for t in topics)
        + struct.pack(">i", -1)
    )


def assignment(topic: str, partitions: list[int]) -> bytes:
    """ConsumerProtocolAssignment v0: one topic's partitions, no user data."""
    parts = struct.pack(">i", len(partitions)) + b"".join(struct.pack(">i", p) for p in partitions)
    return struct.pack(">hi", 0, 1) + _string(topic) + parts + struct.pack(">i", -1)


def join_request(
    group: str, member_id: str = "", topic: str = "t", session_ms: int = 30000
) -> dict:
    return {
        "group_id": group,
        "session_timeout": session_ms,
        "rebalance_timeout": 30000,
        "member_id": member_id,
        "group_instance_id": None,
        "protocol_type": "consumer",
        "protocols": [{"name": "range", "metadata": subscription(topic)}],
        "reason": None,
    }


def find_coordinator(side: Side, group: str) -> None:
    side.coordinator_ready(group, GROUP)


def join(side: Side, group: str, topic: str, version: int = 5, compare: bool = False) -> Any:
    """Join ``group`` as its only member (answering MEMBER_ID_REQUIRED, KIP-394);
    return the JoinGroup response."""
    find_coordinator(side, group)
    call = side.call if compare else side.client.call
    first = call(
        11, version, join_request(group, topic=topic), **({"label": "join-1"} if compare else {})
    )
    if int(first.error_code) == 79:  # MEMBER_ID_REQUIRED
        first = call(
            11,
            version,
            join_request(group, first.member_id, topic),
            **({"label": "join-2"} if compare else {}),
        )
    return first


def stable_group(side: Side, group: str, topic: str) -> tuple[str, int]:
    """Join and sync ``group`` (one member, all of ``topic``); return
    ``(member_id, generation_id)``."""
    j = join(side, group, topic)
    side.setup(14, 3, sync_request(group, j.generation_id, j.member_id, topic))
    return j.member_id, j.generation_id


def sync_request(group: str, generation: int, member: str, topic: str) -> dict:
    return {
        "group_id": group,
        "generation_id": generation,
        "member_id": member,
        "group_instance_id": None,
        "protocol_type": "consumer",
        "protocol_name": "range",
        "assignments": [{"member_id": member, "assignment": assignment(topic, [0])}],
    }


# -- FindCoordinator (10) ---------------------------------------------------------------


@scenario(10, "find_coordinator/group", range(0, 7))
def _find(side: Side, v: int) -> None:
    """The coordinator of a group: this broker."""
    group = side.name_of("g")
    find_coordinator(side, group)
    side.call(10, v, {"key": group, "key_type": GROUP, "coordinator_keys": [group]})


@scenario(10, "find_coordinator/transaction", [1, 3, 4, 6])
def _find_txn(side: Side, v: int) -> None:
    """The coordinator of a transactional id."""
    txn = side.name_of("txn")
    side.coordinator_ready(txn, TXN)
    side.call(10, v, {"key": txn, "key_type": TXN, "coordinator_keys": [txn]})


@scenario(10, "find_coordinator/bad-key-type")
def _find_bad_type(side: Side) -> None:
    """key_type 7: INVALID_REQUEST."""
    side.call(10, 4, {"key_type": 7, "coordinator_keys": ["x"]})


@scenario(10, "find_coordinator/empty-group")
def _find_empty(side: Side) -> None:
    """An empty group id: INVALID_REQUEST (v4 batches report per key)."""
    side.call(10, 4, {"key_type": GROUP, "coordinator_keys": [""]})
    side.call(10, 3, {"key": "", "key_type": GROUP}, label="v3")


# -- JoinGroup (11) ---------------------------------------------------------------------


@scenario(11, "join_group/first-member", range(0, 10))
def _join(side: Side, v: int) -> None:
    """A lone member joins and becomes the leader (v4+: after MEMBER_ID_REQUIRED)."""
    topic = side.create_topic("t")
    join(side, side.name_of("g"), topic, version=v, compare=True)


@scenario(11, "join_group/invalid-session-timeout")
def _join_bad_session(side: Side) -> None:
    """A session timeout below group.min.session.timeout.ms: INVALID_SESSION_TIMEOUT."""
    group = side.name_of("g")
    find_coordinator(side, group)
    side.call(11, 5, join_request(group, session_ms=1))


@scenario(11, "join_group/empty-group-id")
def _join_empty_group(side: Side) -> None:
    """An empty group id: INVALID_GROUP_ID."""
    side.call(11, 5, join_request(""))


@scenario(11, "join_group/unknown-member")
def _join_unknown_member(side: Side) -> None:
    """Rejoining with a member id the group never issued: UNKNOWN_MEMBER_ID."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    stable_group(side, group, topic)
    side.call(11, 5, join_request(group, "ghost-member", topic))


@scenario(11, "join_group/protocol-type-mismatch")
def _join_mismatch(side: Side) -> None:
    """A second member with another protocol type: INCONSISTENT_GROUP_PROTOCOL."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    stable_group(side, group, topic)
    req = join_request(group, topic=topic)
    req["protocol_type"] = "connect"
    side.call(11, 5, req)


# -- SyncGroup (14) ---------------------------------------------------------------------


@scenario(14, "sync_group/leader", range(0, 6))
def _sync(side: Side, v: int) -> None:
    """The leader sends the assignment and gets its own back."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    j = join(side, group, topic)
    side.call(14, v, sync_request(group, j.generation_id, j.member_id, topic))


@scenario(14, "sync_group/wrong-generation")
def _sync_generation(side: Side) -> None:
    """A stale generation: ILLEGAL_GENERATION."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    j = join(side, group, topic)
    side.call(14, 5, sync_request(group, j.generation_id + 5, j.member_id, topic))


@scenario(14, "sync_group/unknown-member")
def _sync_unknown(side: Side) -> None:
    """An unknown member: UNKNOWN_MEMBER_ID."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    j = join(side, group, topic)
    side.call(14, 5, sync_request(group, j.generation_id, "ghost", topic))


@scenario(14, "sync_group/unknown-group")
def _sync_unknown_group(side: Side) -> None:
    """A group that does not exist."""
    group = side.name_of("g")
    find_coordinator(side, group)
    side.call(14, 5, sync_request(group, 1, "ghost", "t"))


# -- Heartbeat (12) ---------------------------------------------------------------------


@scenario(12, "heartbeat/stable", range(0, 5))
def _heartbeat(side: Side, v: int) -> None:
    """A member of a stable group heartbeats: no error."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    member, generation = stable_group(side, group, topic)
    side.call(
        12,
        v,
        {
            "group_id": group,
            "generation_id": generation,
            "member_id": member,
            "group_instance_id": None,
        },
    )


@scenario(12, "heartbeat/errors")
def _heartbeat_errors(side: Side) -> None:
    """Wrong generation, unknown member, unknown group."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    member, generation = stable_group(side, group, topic)
    side.call(
        12,
        4,
        {"group_id": group, "generation_id": generation + 1, "member_id": member},
        label="generation",
    )
    side.call(
        12,
        4,
        {"group_id": group, "generation_id": generation, "member_id": "ghost"},
        label="member",
    )
    other = side.name_of("other")
    find_coordinator(side, other)
    side.call(12, 4, {"group_id": other, "generation_id": 1, "member_id": "ghost"}, label="group")


# -- LeaveGroup (13) --------------------------------------------------------------------


@scenario(13, "leave_group/member", range(0, 6))
def _leave(side: Side, v: int) -> None:
    """The only member leaves; the group is then empty."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    member, _ = stable_group(side, group, topic)
    side.call(
        13,
        v,
        {
            "group_id": group,
            "member_id": member,
            "members": [{"member_id": member, "group_instance_id": None, "reason": "done"}],
        },
    )
    side.call(15, 5, {"groups": [group], "include_authorized_operations": False}, label="describe")


@scenario(13, "leave_group/unknown-member")
def _leave_unknown(side: Side) -> None:
    """An unknown member leaving (v3+ reports it per member)."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    stable_group(side, group, topic)
    side.call(
        13,
        5,
        {
            "group_id": group,
            "members": [{"member_id": "ghost", "group_instance_id": None, "reason": None}],
        },
    )
    side.call(13, 0, {"group_id": group, "member_id": "ghost"}, label="v0")


# -- DescribeGroups (15) ----------------------------------------------------------------


@scenario(15, "describe_groups/stable", range(0, 7))
def _describe_groups(side: Side, v: int) -> None:
    """A stable group with one member: state, protocol, member metadata."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    stable_group(side, group, topic)
    side.call(15, v, {"groups": [group], "include_authorized_operations": False})


@scenario(15, "describe_groups/unknown", [0, 5, 6])
def _describe_unknown(side: Side, v: int) -> None:
    """A group nobody created: Dead (v6: GROUP_ID_NOT_FOUND)."""
    group = side.name_of("g")
    find_coordinator(side, group)
    side.call(15, v, {"groups": [group], "include_authorized_operations": False})


# -- ListGroups (16) --------------------------------------------------------------------


@scenario(16, "list_groups/ours", range(0, 6))
def _list_groups(side: Side, v: int) -> None:
    """Our stable group is listed with its type and state."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    stable_group(side, group, topic)
    r = side.ask(16, v, {"states_filter": [], "types_filter": []})
    side.observe("error", int(r.error_code))
    side.observe("ours", [g for g in r.groups if g.group_id == group])


@scenario(16, "list_groups/state-filter")
def _list_groups_filter(side: Side) -> None:
    """states_filter=Empty hides our stable group; Stable shows it."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    stable_group(side, group, topic)
    for state in ("Empty", "Stable"):
        r = side.ask(16, 5, {"states_filter": [state], "types_filter": []})
        side.observe(state, [g for g in r.groups if g.group_id == group])


# -- DeleteGroups (42) ------------------------------------------------------------------


@scenario(42, "delete_groups/empty-group", range(0, 3))
def _delete_groups(side: Side, v: int) -> None:
    """A group with committed offsets and no members is deleted."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    find_coordinator(side, group)
    side.setup(8, 8, commit_request(group, topic, 5))
    side.call(42, v, {"groups_names": [group]})
    side.call(9, 7, fetch_offsets_request(group, topic), label="after")


@scenario(42, "delete_groups/non-empty-and-unknown")
def _delete_groups_errors(side: Side) -> None:
    """A group with a member: NON_EMPTY_GROUP; an unknown group: GROUP_ID_NOT_FOUND."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    stable_group(side, group, topic)
    unknown = side.name_of("unknown")
    find_coordinator(side, unknown)
    side.call(42, 2, {"groups_names": [group, unknown]})


# -- OffsetCommit (8) / OffsetFetch (9) / OffsetDelete (47) ------------------------------


def commit_request(
    group: str,
    topic: str,
    offset: int,
    topic_id: Any = None,
    partition: int = 0,
    generation: int = -1,
    member: str = "",
) -> dict:
    return {
        "group_id": group,
        "generation_id_or_member_epoch": generation,
        "member_id": member,
        "group_instance_id": None,
        "retention_time": -1,
        "topics": [
            {
                "name": topic,
                "topic_id": topic_id,
                "partitions": [
                    {
                        "partition_index": partition,
                        "committed_offset": offset,
                        "committed_leader_epoch": -1,
                        "committed_metadata": "meta",
                    }
                ],
            }
        ],
    }


def fetch_offsets_request(
    group: str, topic: str | None, topic_id: Any = None, partitions: list[int] | None = None
) -> dict:
    topics = (
        None
        if topic is None
        else [{"name": topic, "topic_id": topic_id, "partition_indexes": partitions or [0]}]
    )
    return {
        "group_id": group,
        "topics": topics,
        "groups": [{"group_id": group, "member_id": None, "member_epoch": -1, "topics": topics}],
        "require_stable": False,
    }


@scenario(8, "offset_commit/simple", range(2, 11))
def _commit(side: Side, v: int) -> None:
    """A standalone commit (generation -1, no member) and the offset read back."""
    from .scenarios_data import topic_id

    topic = side.create_topic("t")
    tid = topic_id(side, topic)
    group = side.name_of("g")
    find_coordinator(side, group)
    side.call(8, v, commit_request(group, topic, 42, tid))
    side.call(9, 7, fetch_offsets_request(group, topic), label="fetch")


@scenario(8, "offset_commit/unknown-topic")
def _commit_unknown_topic(side: Side) -> None:
    """Committing for a topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION."""
    group = side.name_of("g")
    find_coordinator(side, group)
    side.call(8, 8, commit_request(group, side.name_of("missing"), 1))


@scenario(8, "offset_commit/member-of-stable-group")
def _commit_member(side: Side) -> None:
    """A member commits with its generation; a stale generation is ILLEGAL_GENERATION;
    a standalone commit to a group with members is refused."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    member, generation = stable_group(side, group, topic)
    side.call(
        8, 8, commit_request(group, topic, 3, generation=generation, member=member), label="member"
    )
    side.call(
        8,
        8,
        commit_request(group, topic, 4, generation=generation + 3, member=member),
        label="stale",
    )
    side.call(8, 8, commit_request(group, topic, 5), label="standalone")


@scenario(8, "offset_commit/empty-group-id")
def _commit_empty_group(side: Side) -> None:
    """An empty group id, for a topic that exists: INVALID_GROUP_ID."""
    topic = side.create_topic("t")
    side.call(8, 8, commit_request("", topic, 1))


@scenario(9, "offset_fetch/committed", range(1, 11))
def _fetch_offsets(side: Side, v: int) -> None:
    """Committed offset and metadata for one partition, none for another."""
    from .scenarios_data import topic_id

    topic = side.create_topic("t", partitions=2)
    tid = topic_id(side, topic)
    group = side.name_of("g")
    find_coordinator(side, group)
    side.setup(8, 8, commit_request(group, topic, 7))
    side.call(9, v, fetch_offsets_request(group, topic, tid, [0, 1]))


@scenario(9, "offset_fetch/all-topics", [2, 7, 8])
def _fetch_offsets_all(side: Side, v: int) -> None:
    """topics=null (v2+): every committed partition of the group."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    find_coordinator(side, group)
    side.setup(8, 8, commit_request(group, topic, 9))
    side.call(9, v, fetch_offsets_request(group, None))


@scenario(9, "offset_fetch/unknown-group")
def _fetch_offsets_unknown(side: Side) -> None:
    """A group with no commits: offset -1, no error."""
    group = side.name_of("g")
    find_coordinator(side, group)
    side.call(9, 7, fetch_offsets_request(group, side.name_of("t")))


@scenario(47, "offset_delete/basic", [0])
def _offset_delete(side: Side, v: int) -> None:
    """Delete a committed offset of an empty group; fetch shows -1."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    find_coordinator(side, group)
    side.setup(8, 8, commit_request(group, topic, 11))
    side.call(
        47,
        v,
        {"group_id": group, "topics": [{"name": topic, "partitions": [{"partition_index": 0}]}]},
    )
    side.call(9, 7, fetch_offsets_request(group, topic), label="after")


@scenario(47, "offset_delete/subscribed-and-unknown")
def _offset_delete_errors(side: Side) -> None:
    """A topic the live group subscribes to: GROUP_SUBSCRIBED_TO_TOPIC; an unknown group."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    member, generation = stable_group(side, group, topic)
    side.setup(8, 8, commit_request(group, topic, 1, generation=generation, member=member))
    side.call(
        47,
        0,
        {"group_id": group, "topics": [{"name": topic, "partitions": [{"partition_index": 0}]}]},
        label="subscribed",
    )
    other = side.name_of("other")
    find_coordinator(side, other)
    side.call(
        47,
        0,
        {"group_id": other, "topics": [{"name": topic, "partitions": [{"partition_index": 0}]}]},
        label="unknown",
    )


# -- ConsumerGroupHeartbeat (68) / ConsumerGroupDescribe (69) ----------------------------


def cg_heartbeat(
    group: str, member_id: str, epoch: int, topics: list[str] | None, version: int
) -> dict:
    return {
        "group_id": group,
        "member_id": member_id,
        "member_epoch": epoch,
        "instance_id": None,
        "rack_id": None,
        "rebalance_timeout": 30000 if epoch == 0 else -1,
        "subscribed_topic_names": topics,
        "subscribed_topic_regex": None,
        "server_assignor": None if epoch else "uniform",
        "topic_partitions": [] if epoch == 0 else None,
    }


def _member_id(version: int) -> str:
    # v1 (KIP-1082): the client makes its member id; v0: the broker does.
    return str(uuid.uuid4()) if version >= 1 else ""


def until_assigned(side: Side, group: str, member: str, first: Any, version: int) -> Any:
    """Heartbeat (with the latest epoch) until the member has been given an
    assignment; return the response that carried it. The broker sends an
    assignment only when it changes, so the join response may already have it."""
    from streamtest import eventually

    state = {"epoch": first.member_epoch, "got": first if _assigned(first) else None}

    def beat() -> Any:
        if state["got"] is None:
            r = side.client.call(
                68, version, cg_heartbeat(group, member, state["epoch"], None, version)
            )
            if r.error_code == 0:
                state["epoch"] = r.member_epoch
                if _assigned(r):
                    state["got"] = r
        return state["got"]

    return eventually(beat, timeout=60, interval=0.05)


def _assigned(r: Any) -> bool:
    return r.error_code == 0 and r.assignment is not None and bool(r.assignment.topic_partitions)


@scenario(68, "consumer_group_heartbeat/join", range(0, 2))
def _cg_join(side: Side, v: int) -> None:
    """A new member joins a KIP-848 group, then heartbeats until it owns the topic."""
    topic = side.create_topic("t", partitions=2)
    group = side.name_of("g")
    find_coordinator(side, group)
    member = _member_id(v)
    first = side.call(68, v, cg_heartbeat(group, member, 0, [topic], v), label="join")
    member = first.member_id or member
    r = until_assigned(side, group, member, first, v)
    side.observe("assignment", [sorted(tp.partitions) for tp in r.assignment.topic_partitions])


@scenario(68, "consumer_group_heartbeat/errors")
def _cg_errors(side: Side) -> None:
    """An unknown member, a fenced epoch, a join without subscription, leave (-1)."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    find_coordinator(side, group)
    side.call(68, 1, cg_heartbeat(group, str(uuid.uuid4()), 5, None, 1), label="unknown-member")
    member = str(uuid.uuid4())
    first = side.call(68, 1, cg_heartbeat(group, member, 0, [topic], 1), label="join")
    side.call(68, 1, cg_heartbeat(group, member, first.member_epoch + 10, None, 1), label="fenced")
    side.call(
        68,
        1,
        cg_heartbeat(side.name_of("g2"), str(uuid.uuid4()), 0, None, 1),
        label="no-subscription",
    )
    side.call(68, 1, cg_heartbeat(group, member, -1, None, 1), label="leave")


@scenario(68, "consumer_group_heartbeat/empty-group-id")
def _cg_empty_group(side: Side) -> None:
    """An empty group id: INVALID_REQUEST."""
    side.call(68, 1, cg_heartbeat("", str(uuid.uuid4()), 0, ["t"], 1))


@scenario(69, "consumer_group_describe/member", range(0, 2))
def _cg_describe(side: Side, v: int) -> None:
    """Describe a KIP-848 group with one member."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    find_coordinator(side, group)
    member = str(uuid.uuid4())
    first = side.client.call(68, 1, cg_heartbeat(group, member, 0, [topic], 1))
    until_assigned(side, group, member, first, 1)
    side.call(69, v, {"group_ids": [group], "include_authorized_operations": False})


@scenario(69, "consumer_group_describe/unknown-and-classic")
def _cg_describe_errors(side: Side) -> None:
    """An unknown group: GROUP_ID_NOT_FOUND; a classic group: not a consumer group."""
    topic = side.create_topic("t")
    classic = side.name_of("classic")
    stable_group(side, classic, topic)
    unknown = side.name_of("unknown")
    find_coordinator(side, unknown)
    side.call(69, 1, {"group_ids": [unknown, classic], "include_authorized_operations": False})
