"""Share groups (KIP-932) from the outside, as ``kafka-share-groups.sh`` sees them.

confluent-kafka 2.16's AdminClient has no share-group calls, so these speak the
protocol through :mod:`.wire`: ListGroups (types ``share``) on every broker,
ShareGroupDescribe (77) and DescribeShareGroupOffsets (90) at the group's
coordinator, and AlterShareGroupOffsets (91) for a reset. PLAINTEXT listeners
only, as the wire client says when it is not.

The views: the groups with their states; per partition the share-partition start
offset and the lag (``-`` where the group has not read the partition yet); the
members with their assignments; the coordinator and the epochs. A reset plans
with the consumer-group planner (``plan.py``), where the share-partition start
offset plays the committed offset, and requires an inactive (Empty) group, as
Kafka does.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..protocol.errors import ErrorCode, error_name
from .client import ClientConfig, _bootstrap_hosts
from .errors import GroupNotInactiveError, InvalidInputError, OpsError, UnknownGroupError
from .plan import TP, ResetPlan, ResetSpec, TopicSelection, plan_reset
from .wire import WireConnection, _require_plaintext, find_coordinator

METADATA = 3
SHARE_GROUP_DESCRIBE, DESCRIBE_SHARE_OFFSETS, ALTER_SHARE_OFFSETS = 77, 90, 91
SHARE_STATES = ("Empty", "Stable", "Dead")


@dataclass(frozen=True)
class ShareMember:
    """One member of a share group."""

    member_id: str
    client_id: str
    host: str
    member_epoch: int
    assignment: list[TP] = field(default_factory=list)


@dataclass(frozen=True)
class ShareGroupInfo:
    """A share group as ShareGroupDescribe reports it."""

    group_id: str
    coordinator: str
    state: str
    group_epoch: int
    assignment_epoch: int
    assignor: str
    members: list[ShareMember]


@dataclass(frozen=True)
class ShareOffset:
    """One partition of a share group: its start offset and lag (``None``: the
    group has not read the partition yet), and the partition's leader epoch."""

    group: str
    topic: str
    partition: int
    start_offset: int | None
    lag: int | None
    leader_epoch: int | None


def _plaintext(config: ClientConfig) -> bool:
    return str(config.properties.get("security.protocol", "plaintext")).lower() == "plaintext"


def _connect(config: ClientConfig) -> WireConnection:
    _require_plaintext(
        config, "share-group commands", "confluent-kafka's AdminClient has no share-group calls"
    )
    last: OpsError | None = None
    for host, port in _bootstrap_hosts(config.bootstrap_servers):
        try:
            conn = WireConnection(host, port, config.timeout)
        except OpsError as exc:
            last = exc
            continue
        conn.negotiate()
        return conn
    raise last or OpsError(f"cannot connect to {config.bootstrap_servers}")


def _coordinator(config: ClientConfig, group: str) -> WireConnection:
    conn = _connect(config)
    try:
        host, port = find_coordinator(conn, group)
    finally:
        conn.close()
    coord = WireConnection(host, port, config.timeout)
    coord.negotiate()
    return coord


def _brokers(conn: WireConnection) -> tuple[list[tuple[int, str, int]], dict[str, int]]:
    """Return every broker ``(id, host, port)`` and every topic's partition count."""
    v = conn.pick(METADATA, 4, 12, "Metadata")
    resp = conn.call(METADATA, v, {"topics": None, "allow_auto_topic_creation": False})
    brokers = [(int(b.node_id), b.host, int(b.port)) for b in resp.brokers]
    topics = {t.name: len(t.partitions) for t in resp.topics if not int(t.error_code)}
    return brokers, topics


def list_share_groups(
    config: ClientConfig, states: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """Return ``(group id, state)`` of every share group, optionally only those in
    ``states`` (ListGroups v5 on every broker, types ``share``).

    Raises:
        OpsError: a broker could not be reached or refused.
    """
    from .groups import list_groups

    return [(g.group_id, g.state) for g in list_groups(config, states, ("share",))]


def parse_share_states(text: str) -> set[str]:
    """Parse a comma-separated list of share-group states (Empty, Stable, Dead).

    Raises:
        InvalidInputError: an unknown state.
    """
    out = set()
    for item in text.split(","):
        name = next((s for s in SHARE_STATES if s.lower() == item.strip().lower()), None)
        if name is None:
            raise InvalidInputError(
                f"invalid state '{item.strip()}': share groups are {', '.join(SHARE_STATES)}"
            )
        out.add(name)
    return out


def describe_share_group(config: ClientConfig, group: str) -> ShareGroupInfo:
    """Return ``group`` as ShareGroupDescribe reports it.

    Raises:
        UnknownGroupError: no such group.
        OpsError: the group is not a share group, or a request failed.
    """
    coord = _coordinator(config, group)
    try:
        v = coord.pick(SHARE_GROUP_DESCRIBE, 1, 1, "ShareGroupDescribe (share groups)")
        resp = coord.call(
            SHARE_GROUP_DESCRIBE,
            v,
            {"group_ids": [group], "include_authorized_operations": False},
        )
        address = f"{coord.sock.getpeername()[0]}:{coord.sock.getpeername()[1]}"
    finally:
        coord.close()
    g = resp.groups[0]
    code = int(g.error_code)
    if code == ErrorCode.GROUP_ID_NOT_FOUND:
        message = g.error_message or f"Group {group} not found."
        if "not a share group" in message:
            raise OpsError(message)
        raise UnknownGroupError(f"Share group '{group}' does not exist.")
    if code:
        raise OpsError(f"cannot describe share group '{group}': {error_name(code)}")
    members = []
    for m in g.members:
        tps = [
            TP(t.topic_name, int(p)) for t in m.assignment.topic_partitions for p in t.partitions
        ]
        members.append(
            ShareMember(m.member_id, m.client_id, m.client_host, int(m.member_epoch), sorted(tps))
        )
    node = _coordinator_id(config, group)
    return ShareGroupInfo(
        group,
        f"{address}  ({node})",
        g.group_state,
        int(g.group_epoch),
        int(g.assignment_epoch),
        g.assignor_name,
        members,
    )


def _coordinator_id(config: ClientConfig, group: str) -> int:
    conn = _connect(config)
    try:
        v = conn.pick(10, 4, 6, "FindCoordinator")
        resp = conn.call(10, v, {"key_type": 0, "coordinator_keys": [group]})
    finally:
        conn.close()
    return int(resp.coordinators[0].node_id)


def share_offsets(config: ClientConfig, group: str) -> list[ShareOffset]:
    """Return the start offset and lag of every partition ``group`` reads (or has
    state for), in topic and partition order.

    Raises:
        UnknownGroupError: no such share group.
        OpsError: a request failed.
    """
    describe_share_group(config, group)  # a clear error for an unknown group
    coord = _coordinator(config, group)
    try:
        v = coord.pick(DESCRIBE_SHARE_OFFSETS, 0, 1, "DescribeShareGroupOffsets")
        resp = coord.call(
            DESCRIBE_SHARE_OFFSETS, v, {"groups": [{"group_id": group, "topics": None}]}
        )
    finally:
        coord.close()
    g = resp.groups[0]
    if int(g.error_code):
        raise OpsError(
            f"cannot describe the offsets of share group '{group}': {error_name(int(g.error_code))}"
        )
    out = []
    for t in g.topics:
        for p in t.partitions:
            start = int(p.start_offset)
            lag = int(getattr(p, "lag", -1))
            known = start >= 0
            out.append(
                ShareOffset(
                    group,
                    t.topic_name,
                    int(p.partition_index),
                    start if known else None,
                    lag if known and v >= 1 else None,
                    int(p.leader_epoch) if known else None,
                )
            )
    return sorted(out, key=lambda r: (r.topic, r.partition))


def prepare_share_reset(
    config: ClientConfig,
    group: str,
    spec: ResetSpec,
    topics: Iterable[TopicSelection] = (),
    *,
    all_topics: bool = False,
    now_ms: int | None = None,
) -> ResetPlan:
    """Compute new share-partition start offsets for ``group`` without changing
    anything (the scope and specs of ``kafka-share-groups.sh --reset-offsets``).

    Raises:
        InvalidInputError: no scope, or the spec does not fit a partition.
        UnknownTopicError, UnknownPartitionError: the scope names something unknown.
        GroupNotInactiveError: the group has members.
        OpsError: a request failed.
    """
    from .offsets import partition_states, reset_scope

    selections = list(topics)
    if not selections and not all_topics and spec.kind != "from-file":
        raise InvalidInputError("one of --topic or --all-topics is required")
    info = describe_share_group(config, group)
    _assert_inactive(info)
    conn = _connect(config)
    try:
        _brokers_list, known = _brokers(conn)
    finally:
        conn.close()
    current = {
        TP(r.topic, r.partition): r.start_offset
        for r in share_offsets(config, group)
        if r.start_offset is not None
    }
    tps = reset_scope(
        spec,
        selections,
        all_topics,
        known,
        current,
        f"nothing to reset: share group '{group}' has no start offsets",
    )
    if spec.kind == "by-duration":
        spec = spec.resolved(now_ms if now_ms is not None else int(time.time() * 1000))
    states = partition_states(
        config,
        tps,
        committed=current,
        timestamp_ms=spec.timestamp_ms if spec.needs_timestamp_lookup else None,
    )
    return plan_reset(group, spec, states)


def _assert_inactive(info: ShareGroupInfo) -> None:
    if info.members:
        raise GroupNotInactiveError(
            f"Share group '{info.group_id}' is not empty (state {info.state}, "
            f"{len(info.members)} members): stop its consumers before resetting offsets."
        )


def execute_share_reset(config: ClientConfig, plan: ResetPlan) -> None:
    """Set the plan's start offsets (AlterShareGroupOffsets).

    Raises:
        GroupNotInactiveError: a member joined since the plan was made.
        OpsError: the broker refused a partition.
    """
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for p in plan.offsets:
        by_topic.setdefault(p.tp.topic, []).append(
            {"partition_index": p.tp.partition, "start_offset": p.new_offset}
        )
    coord = _coordinator(config, plan.group)
    try:
        v = coord.pick(ALTER_SHARE_OFFSETS, 0, 0, "AlterShareGroupOffsets")
        resp = coord.call(
            ALTER_SHARE_OFFSETS,
            v,
            {
                "group_id": plan.group,
                "topics": [
                    {"topic_name": t, "partitions": ps} for t, ps in sorted(by_topic.items())
                ],
            },
        )
    finally:
        coord.close()
    code = int(resp.error_code)
    if code == ErrorCode.NON_EMPTY_GROUP:
        raise GroupNotInactiveError(
            f"Share group '{plan.group}' is not empty: stop its consumers before resetting offsets."
        )
    if code:
        raise OpsError(
            f"cannot reset share group '{plan.group}': {resp.error_message or error_name(code)}"
        )
    for t in resp.responses:
        for p in t.partitions:
            if int(p.error_code):
                raise OpsError(
                    f"cannot reset {t.topic_name}-{p.partition_index} of share group "
                    f"'{plan.group}': {p.error_message or error_name(int(p.error_code))}"
                )


def is_share_group(config: ClientConfig, group: str) -> bool:
    """Return whether ``group`` is a share group (the CLI routes on it). On a listener
    other than PLAINTEXT, where share-group calls cannot be made, it says no."""
    if not _plaintext(config):
        return False
    try:
        describe_share_group(config, group)
    except UnknownGroupError:
        return False
    except OpsError as exc:
        if "not a share group" in str(exc) or "does not support" in str(exc):
            return False
        raise
    return True
