"""Scenarios for share groups (KIP-932): FindCoordinator for share-state keys,
ShareGroupHeartbeat, ShareGroupDescribe, ShareFetch and ShareAcknowledge with
their share sessions, the share-group offset admin APIs (Describe, Alter and
DeleteShareGroupOffsets), share groups in ListGroups and DescribeGroups, and the
GROUP config resource in DescribeConfigs and IncrementalAlterConfigs (see
scenarios_data for the conventions).

Kafka sets a share group up asynchronously (the share partitions are initialised
after the first assignment), so the scenarios wait, on each broker, for the
answer they compare: heartbeats until the member is assigned, share fetches
(with increasing session epochs) until records are acquired.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

from .harness import Side, scenario
from .scenarios_data import batch, topic_id
from .scenarios_groups import find_coordinator, stable_group

SHARE_KEY = 2
GROUP_RESOURCE = 32
ACCEPT, RELEASE, REJECT = 1, 2, 3
UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH = 25, 110
SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH = 122, 123


def set_group_configs(side: Side, group: str, **configs: str) -> None:
    """Set ``group``'s dynamic configs (names with ``_`` for ``.``) and wait until
    the broker describes them; setup.

    Kafka stores a group config through its controller, and a broker applies it
    when the metadata record reaches it. A share partition initialised before
    then starts from the default ``share.auto.offset.reset`` (latest), past the
    records a scenario produced first, and never delivers them (seen on a loaded
    machine: 60 s of empty ShareFetches). Waiting until DescribeConfigs, which a
    broker answers from the same cache, shows the values closes that window.
    """
    from streamtest import eventually

    wanted = {k.replace("_", "."): v for k, v in configs.items()}
    side.setup(
        44,
        1,
        {
            "resources": [
                {
                    "resource_type": GROUP_RESOURCE,
                    "resource_name": group,
                    "configs": [
                        {"name": k, "config_operation": 0, "value": v} for k, v in wanted.items()
                    ],
                }
            ],
            "validate_only": False,
        },
    )
    request = describe_group_configs_request(group, sorted(wanted))

    def applied() -> bool:
        r = side.client.call(32, 4, request)
        return {c.name: c.value for res in r.results for c in res.configs} == wanted

    eventually(applied, timeout=30, interval=0.05)


def describe_group_configs_request(group: str, keys: list[str]) -> dict:
    """Return a DescribeConfigs v4 body for ``keys`` of the GROUP resource ``group``."""
    return {
        "resources": [
            {"resource_type": GROUP_RESOURCE, "resource_name": group, "configuration_keys": keys}
        ],
        "include_synonyms": False,
        "include_documentation": False,
    }


def sg_heartbeat(group: str, member: str, epoch: int, topics: list[str] | None) -> dict:
    return {
        "group_id": group,
        "member_id": member,
        "member_epoch": epoch,
        "rack_id": None,
        "subscribed_topic_names": topics,
    }


def join_share(side: Side, group: str, topic: str, compare: bool = False) -> tuple[str, int]:
    """Join ``group`` as a new member subscribed to ``topic`` and heartbeat until it
    is assigned; return ``(member_id, member_epoch)``."""
    from streamtest import eventually

    find_coordinator(side, group)
    member = str(uuid.uuid4())
    request = sg_heartbeat(group, member, 0, [topic])
    first = side.call(76, 1, request, label="join") if compare else side.client.call(76, 1, request)
    state: dict[str, Any] = {"epoch": first.member_epoch, "got": None, "last": first}
    if first.error_code == 0 and first.assignment is not None and first.assignment.topic_partitions:
        state["got"] = first

    def beat() -> Any:
        if state["got"] is None:
            # A member that was fenced or forgotten (seen once on a loaded CI machine
            # with Kafka) joins again at epoch 0, naming its subscription as a first
            # heartbeat must (KIP-932).
            rejoin = state["epoch"] == 0
            r = side.client.call(
                76, 1, sg_heartbeat(group, member, state["epoch"], [topic] if rejoin else None)
            )
            state["last"] = r
            if r.error_code == 0:
                state["epoch"] = r.member_epoch
                if r.assignment is not None and r.assignment.topic_partitions:
                    state["got"] = r
            elif r.error_code in (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH):
                state["epoch"] = 0
        return state["got"]

    try:
        got = eventually(beat, timeout=60, interval=0.05)
    except AssertionError as exc:
        last = state["last"]
        raise AssertionError(
            f"{exc}; last heartbeat: error {last.error_code} {last.error_message!r}, "
            f"epoch {last.member_epoch}"
        ) from None
    if compare:
        side.observe(
            "assignment",
            [sorted(tp.partitions) for tp in got.assignment.topic_partitions],
        )
    return member, state["epoch"]


def fetch_request(
    group: str,
    member: str,
    epoch: int,
    tid: Any,
    partitions: list[int],
    acks: dict[int, list[tuple[int, int, list[int]]]] | None = None,
    max_wait: int = 5000,
    max_records: int = 500,
) -> dict:
    acks = acks or {}
    return {
        "group_id": group,
        "member_id": member,
        "share_session_epoch": epoch,
        "max_wait": max_wait,
        "min_bytes": 1,
        "max_bytes": 1 << 20,
        "max_records": max_records,
        "batch_size": max_records,
        "topics": [
            {
                "topic_id": tid,
                "partitions": [
                    {
                        "partition_index": p,
                        "acknowledgement_batches": [
                            {"first_offset": f, "last_offset": la, "acknowledge_types": t}
                            for f, la, t in acks.get(p, [])
                        ],
                    }
                    for p in partitions
                ],
            }
        ],
        "forgotten_topics_data": [],
    }


def acquired(r: Any) -> list[tuple[int, int, int]]:
    return [
        (a.first_offset, a.last_offset, a.delivery_count)
        for t in r.responses
        for p in t.partitions
        for a in p.acquired_records
    ]


def fetch_until_acquired(
    side: Side,
    version: int,
    group: str,
    member: str,
    tid: Any,
    label: str = "fetch",
    max_records: int = 500,
    *,
    member_epoch: int,
) -> int:
    """Send ShareFetches (session epoch 0, then 1, 2, ...) until one acquires
    records; compare that one and return the next session epoch. ``member_epoch``
    is what ``join_share`` returned: the loop heartbeats with it."""
    from streamtest import eventually

    state: dict[str, Any] = {
        "epoch": 0,
        "got": None,
        "last": None,
        "beat": time.monotonic(),
        "member_epoch": member_epoch,
    }

    def attempt() -> Any:
        if time.monotonic() - state["beat"] >= 1.0:
            # Heartbeat while fetching, as a consumer does: Kafka sets a share
            # partition up through its share coordinator, and a member that only
            # fetches neither keeps its session nor gives the coordinator the
            # heartbeat on which it retries an initialisation that failed.
            state["beat"] = time.monotonic()
            beat = side.client.call(
                76, 1, sg_heartbeat(group, member, state["member_epoch"], None)
            )
            if beat.error_code == 0:
                state["member_epoch"] = beat.member_epoch
        r = side.ask(
            78,
            version,
            fetch_request(group, member, state["epoch"], tid, [0], max_records=max_records),
        )
        state["last"] = r
        if r.error_code in (SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH):
            # The session was evicted or its epoch is out of step: open a new one.
            state["epoch"] = 0
            return None
        if r.error_code != 0:
            return None
        state["epoch"] += 1
        if acquired(r):
            state["got"] = r
        return state["got"]

    try:
        got = eventually(attempt, timeout=60, interval=0.05)
    except AssertionError as exc:
        last = state["last"]
        seen = "none" if last is None else f"error {last.error_code} {last.error_message!r}"
        if last is not None:
            seen += ", partitions " + repr(
                [
                    (p.partition_index, p.error_code, p.error_message, len(p.records or b""))
                    for t in last.responses
                    for p in t.partitions
                ]
            )
        raise AssertionError(
            f"{exc}; last ShareFetch: {seen}; {_share_state(side, group, member)}"
        ) from None
    side.observe(label, got)
    return state["epoch"]


def _share_state(side: Side, group: str, member: str) -> str:
    """Describe the group's members and share-partition start offsets, for a
    timeout's message (what was seen when a broker delivered nothing)."""
    try:
        described = side.client.call(
            77, 1, {"group_ids": [group], "include_authorized_operations": False}
        )
        offsets = side.client.call(90, 1, {"groups": [{"group_id": group, "topics": None}]})
    except Exception as exc:  # diagnostics only: never hide the timeout itself
        return f"describing the group failed: {exc!r}"
    members = [
        (
            m.member_id == member,
            m.member_epoch,
            [list(t.partitions) for t in m.assignment.topic_partitions],
        )
        for g in described.groups
        for m in g.members
    ]
    starts = [
        (p.partition_index, p.start_offset, p.error_code)
        for g in offsets.groups
        for t in g.topics
        for p in t.partitions
    ]
    return f"members (is ours, epoch, assignment) {members}; share-partition starts {starts}"


def share_topic(
    side: Side, group: str, records: int = 3, *, initialize: bool = True
) -> tuple[str, Any]:
    """Create a topic with ``records`` records and point ``group`` at its start.

    With ``initialize``, the group's share-partition state is also set to start at
    offset 0 before anyone joins (AlterShareGroupOffsets on the empty group), so a
    scenario does not depend on Kafka initialising it after the first assignment.
    In full test runs Apache Kafka sometimes left it uninitialised (start offset
    -1) for over 60 s while the member held the partition, and acquired nothing.
    """
    topic = side.create_topic("t")
    side.produce(topic, [batch(*[b"v%d" % i for i in range(records)])])
    set_group_configs(side, group, share_auto_offset_reset="earliest")
    if initialize:
        find_coordinator(side, group)
        side.setup(
            91,
            0,
            {
                "group_id": group,
                "topics": [
                    {"topic_name": topic, "partitions": [{"partition_index": 0, "start_offset": 0}]}
                ],
            },
        )
    return topic, topic_id(side, topic)


def state_key(group: str, tid: uuid.UUID, partition: int) -> str:
    encoded = base64.urlsafe_b64encode(tid.bytes).decode().rstrip("=")
    return f"{group}:{encoded}:{partition}"


# -- FindCoordinator (10), key_type 2 ---------------------------------------------------


@scenario(10, "find_coordinator/share-state")
def _find_share(side: Side) -> None:
    """key_type 2 (share state): a well-formed key finds a node; malformed keys are
    INVALID_REQUEST; before v6 the key type is refused."""
    tid = topic_id(side, side.create_topic("t"))
    key = state_key(side.name_of("g"), tid, 0)
    side.retry(
        10,
        6,
        {"key_type": SHARE_KEY, "coordinator_keys": [key]},
        lambda r: all(c.error_code == 0 for c in r.coordinators),
    )
    r = side.ask(10, 6, {"key_type": SHARE_KEY, "coordinator_keys": [key, "bad", "g:xx:0"]})
    side.observe(
        "keys",
        [
            (c.key if c.key != key else "<key>", int(c.error_code), c.node_id == side.node_id)
            for c in r.coordinators
        ],
    )
    side.call(10, 5, {"key_type": SHARE_KEY, "coordinator_keys": ["bad"]}, label="v5")


# -- ShareGroupHeartbeat (76) -----------------------------------------------------------


@scenario(76, "share_group_heartbeat/join")
def _sg_join(side: Side) -> None:
    """A new member joins a share group and heartbeats until it owns the topic."""
    topic = side.create_topic("t", partitions=2)
    join_share(side, side.name_of("g"), topic, compare=True)


@scenario(76, "share_group_heartbeat/errors")
def _sg_errors(side: Side) -> None:
    """An unknown member, a fenced epoch, a join without subscription, an empty
    group id, a consumer group's id, and leaving (-1)."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    member, epoch = join_share(side, group, topic)
    side.call(76, 1, sg_heartbeat(group, str(uuid.uuid4()), 5, None), label="unknown-member")
    side.call(76, 1, sg_heartbeat(group, member, epoch + 10, None), label="fenced")
    other = side.name_of("g2")
    find_coordinator(side, other)
    side.call(76, 1, sg_heartbeat(other, str(uuid.uuid4()), 0, None), label="no-subscription")
    side.call(76, 1, sg_heartbeat("", str(uuid.uuid4()), 0, [topic]), label="empty-group-id")
    classic = side.name_of("classic")
    stable_group(side, classic, topic)
    side.call(76, 1, sg_heartbeat(classic, str(uuid.uuid4()), 0, [topic]), label="classic")
    side.call(76, 1, sg_heartbeat(group, member, -1, None), label="leave")


# -- ShareGroupDescribe (77) ------------------------------------------------------------


@scenario(77, "share_group_describe/member")
def _sg_describe(side: Side) -> None:
    """A share group with one member; with its authorised operations."""
    topic = side.create_topic("t", partitions=2)
    group = side.name_of("g")
    join_share(side, group, topic)
    side.call(77, 1, {"group_ids": [group], "include_authorized_operations": False})
    side.call(77, 1, {"group_ids": [group], "include_authorized_operations": True}, label="ops")


@scenario(77, "share_group_describe/unknown-and-classic")
def _sg_describe_errors(side: Side) -> None:
    """An unknown group: GROUP_ID_NOT_FOUND; a classic group: not a share group."""
    topic = side.create_topic("t")
    classic = side.name_of("classic")
    stable_group(side, classic, topic)
    unknown = side.name_of("unknown")
    find_coordinator(side, unknown)
    side.call(77, 1, {"group_ids": [unknown, classic], "include_authorized_operations": False})


# -- ShareFetch (78) --------------------------------------------------------------------


@scenario(78, "share_fetch/acquire-and-accept", range(1, 3))
def _share_fetch(side: Side, v: int) -> None:
    """A member acquires three records, accepts two and releases one in the next
    fetch (which gets the released one again), then closes its session."""
    group = side.name_of("g")
    topic, tid = share_topic(side, group)
    member, member_epoch = join_share(side, group, topic)
    epoch = fetch_until_acquired(side, v, group, member, tid, member_epoch=member_epoch)
    acks = {0: [(0, 1, [ACCEPT]), (2, 2, [RELEASE])]}
    side.call(78, v, fetch_request(group, member, epoch, tid, [0], acks), label="ack-and-fetch")
    side.call(78, v, fetch_request(group, member, -1, tid, [0], max_wait=0), label="close")


@scenario(78, "share_fetch/whole-batch-past-limits")
def _share_fetch_whole_batch(side: Side) -> None:
    """A 200-record batch is acquired whole by a ShareFetch asking for 5 records
    from a group whose ``share.partition.max.record.locks`` is 100: Kafka finishes
    a batch past both limits (batch-optimised acquisition), and then acquires
    nothing more until the window has room. confluent-kafka's
    test_partition_max_record_locks_caps_in_flight expects the cap to split the
    batch, which Apache Kafka 4.4 does not do."""
    group = side.name_of("g")
    topic = side.create_topic("t")
    side.produce(topic, [batch(*[b"v%d" % i for i in range(200)])])
    side.produce(topic, [batch(b"late")])
    set_group_configs(
        side, group, share_auto_offset_reset="earliest", share_partition_max_record_locks="100"
    )
    tid = topic_id(side, topic)
    member, member_epoch = join_share(side, group, topic)
    epoch = fetch_until_acquired(
        side, 2, group, member, tid, max_records=5, member_epoch=member_epoch
    )
    side.call(
        78,
        2,
        fetch_request(group, member, epoch, tid, [0], max_wait=0, max_records=5),
        label="window-full",
    )
    side.call(78, 2, fetch_request(group, member, -1, tid, [0], max_wait=0), label="close")


@scenario(78, "share_fetch/one-record-batches-stop-at-max-records")
def _share_fetch_small_batches(side: Side) -> None:
    """With one record per batch, a ShareFetch asking for 5 records acquires 5:
    what confluent-kafka's test_poll_returns_whole_batch_exceeding_max_poll_records
    sees when librdkafka sends its records one batch each."""
    group = side.name_of("g")
    topic = side.create_topic("t")
    for i in range(8):
        side.produce(topic, [batch(b"v%d" % i)])
    set_group_configs(side, group, share_auto_offset_reset="earliest")
    tid = topic_id(side, topic)
    member, member_epoch = join_share(side, group, topic)
    fetch_until_acquired(side, 2, group, member, tid, max_records=5, member_epoch=member_epoch)
    side.call(78, 2, fetch_request(group, member, -1, tid, [0], max_wait=0), label="close")


@scenario(78, "share_fetch/session-errors")
def _share_fetch_errors(side: Side) -> None:
    """No session yet (epoch 3), acknowledgements in a new session, an unknown
    partition, a replayed epoch, and a closed session."""
    group = side.name_of("g")
    topic, tid = share_topic(side, group)
    member, member_epoch = join_share(side, group, topic)
    side.call(78, 2, fetch_request(group, member, 3, tid, [0], max_wait=0), label="no-session")
    acks = {0: [(0, 0, [ACCEPT])]}
    side.call(
        78, 2, fetch_request(group, member, 0, tid, [0], acks, max_wait=0), label="new-with-acks"
    )
    epoch = fetch_until_acquired(side, 2, group, member, tid, member_epoch=member_epoch)
    side.call(
        78, 2, fetch_request(group, member, epoch, tid, [9], max_wait=0), label="unknown-partition"
    )
    side.call(78, 2, fetch_request(group, member, epoch, tid, [0], max_wait=0), label="replayed")
    side.call(78, 2, fetch_request(group, member, -1, tid, [0], max_wait=0), label="close")
    side.call(78, 2, fetch_request(group, member, epoch + 1, tid, [0], max_wait=0), label="closed")


# -- ShareAcknowledge (79) --------------------------------------------------------------


def acknowledge_request(
    group: str, member: str, epoch: int, tid: Any, batches: list[tuple[int, int, list[int]]]
) -> dict:
    return {
        "group_id": group,
        "member_id": member,
        "share_session_epoch": epoch,
        "is_renew_ack": False,
        "topics": [
            {
                "topic_id": tid,
                "partitions": [
                    {
                        "partition_index": 0,
                        "acknowledgement_batches": [
                            {"first_offset": f, "last_offset": la, "acknowledge_types": t}
                            for f, la, t in batches
                        ],
                    }
                ],
            }
        ],
    }


@scenario(79, "share_acknowledge/per-record-types", range(1, 3))
def _share_ack(side: Side, v: int) -> None:
    """Acknowledge three acquired records with one type each (accept, release,
    reject), then what is left in flight."""
    group = side.name_of("g")
    topic, tid = share_topic(side, group)
    member, member_epoch = join_share(side, group, topic)
    epoch = fetch_until_acquired(side, 2, group, member, tid, member_epoch=member_epoch)
    batches = [(0, 2, [ACCEPT, RELEASE, REJECT])]
    side.call(79, v, acknowledge_request(group, member, epoch, tid, batches), label="ack")
    side.call(
        90,
        1,
        {"groups": [{"group_id": group, "topics": None}]},
        label="offsets",
    )


@scenario(79, "share_acknowledge/errors")
def _share_ack_errors(side: Side) -> None:
    """Epoch 0 (acknowledging never opens a session), offsets past the records in
    flight, records not acquired (already accepted)."""
    group = side.name_of("g")
    topic, tid = share_topic(side, group)
    member, member_epoch = join_share(side, group, topic)
    side.call(
        79, 2, acknowledge_request(group, member, 0, tid, [(0, 0, [ACCEPT])]), label="epoch-0"
    )
    epoch = fetch_until_acquired(side, 2, group, member, tid, member_epoch=member_epoch)
    side.call(
        79,
        2,
        acknowledge_request(group, member, epoch, tid, [(5, 9, [ACCEPT])]),
        label="past-the-end",
    )
    side.call(
        79,
        2,
        acknowledge_request(group, member, epoch + 1, tid, [(0, 0, [ACCEPT])]),
        label="accept",
    )
    side.call(
        79,
        2,
        acknowledge_request(group, member, epoch + 2, tid, [(0, 0, [ACCEPT])]),
        label="again",
    )


# -- Describe/Alter/DeleteShareGroupOffsets (90, 91, 92) ----------------------------------


@scenario(90, "describe_share_group_offsets/after-accept", range(0, 2))
def _describe_offsets(side: Side, v: int) -> None:
    """A group that accepted every record of a partition: the persisted start
    offset, and (v1) the lag; all topics, then one named topic."""
    group = side.name_of("g")
    topic, tid = share_topic(side, group)
    member, member_epoch = join_share(side, group, topic)
    epoch = fetch_until_acquired(side, 2, group, member, tid, member_epoch=member_epoch)
    side.setup(79, 2, acknowledge_request(group, member, epoch, tid, [(0, 2, [ACCEPT])]))
    side.call(90, v, {"groups": [{"group_id": group, "topics": None}]}, label="all")
    side.call(
        90,
        v,
        {
            "groups": [
                {
                    "group_id": group,
                    # No partition or topic that does not exist: Kafka 4.4 sometimes
                    # never answers a request naming one.
                    "topics": [{"topic_name": topic, "partitions": [0]}],
                }
            ]
        },
        label="named",
    )


@scenario(90, "describe_share_group_offsets/unknown")
def _describe_offsets_unknown(side: Side) -> None:
    """A group that does not exist; a consumer group."""
    topic = side.create_topic("t")
    unknown = side.name_of("unknown")
    find_coordinator(side, unknown)
    classic = side.name_of("classic")
    stable_group(side, classic, topic)
    side.call(
        90,
        1,
        {"groups": [{"group_id": unknown, "topics": None}, {"group_id": classic, "topics": None}]},
    )


@scenario(91, "alter_share_group_offsets/empty-group")
def _alter_offsets(side: Side) -> None:
    """Set the start offset of a group nobody has joined (an unknown topic and
    partition in the same request), then describe it; with a member it is refused."""
    group = side.name_of("g")
    topic, _ = share_topic(side, group, initialize=False)
    find_coordinator(side, group)
    side.call(
        91,
        0,
        {
            "group_id": group,
            "topics": [
                {
                    "topic_name": topic,
                    "partitions": [
                        {"partition_index": 0, "start_offset": 1},
                        {"partition_index": 7, "start_offset": 1},
                    ],
                },
                {
                    "topic_name": side.name_of("nope"),
                    "partitions": [{"partition_index": 0, "start_offset": 0}],
                },
            ],
        },
        label="alter",
    )
    side.call(90, 1, {"groups": [{"group_id": group, "topics": None}]}, label="described")
    r = side.ask(16, 5, {"states_filter": [], "types_filter": ["share"]})
    side.observe("listed", [g for g in r.groups if g.group_id == group])
    join_share(side, group, topic)
    side.call(
        91,
        0,
        {
            "group_id": group,
            "topics": [
                {"topic_name": topic, "partitions": [{"partition_index": 0, "start_offset": 0}]}
            ],
        },
        label="non-empty",
    )


@scenario(92, "delete_share_group_offsets/empty-group")
def _delete_offsets(side: Side) -> None:
    """Delete an empty group's offsets for a topic (and an unknown one); an unknown
    group; a group with a member."""
    group = side.name_of("g")
    topic, tid = share_topic(side, group)
    member, member_epoch = join_share(side, group, topic)
    epoch = fetch_until_acquired(side, 2, group, member, tid, member_epoch=member_epoch)
    side.setup(79, 2, acknowledge_request(group, member, epoch, tid, [(0, 0, [ACCEPT])]))
    side.call(92, 0, {"group_id": group, "topics": [{"topic_name": topic}]}, label="non-empty")
    side.setup(76, 1, sg_heartbeat(group, member, -1, None))
    side.call(
        92,
        0,
        {"group_id": group, "topics": [{"topic_name": topic}, {"topic_name": side.name_of("x")}]},
        label="delete",
    )
    side.call(90, 1, {"groups": [{"group_id": group, "topics": None}]}, label="described")
    unknown = side.name_of("unknown")
    find_coordinator(side, unknown)
    side.call(92, 0, {"group_id": unknown, "topics": []}, label="unknown")


# -- share groups in ListGroups (16) and DescribeGroups (15) -----------------------------


@scenario(16, "list_groups/share")
def _list_share(side: Side) -> None:
    """A share group is listed with type share, and only with the share filter
    (or no filter); DescribeGroups answers for it as Kafka does."""
    topic = side.create_topic("t")
    group = side.name_of("g")
    join_share(side, group, topic)
    for types in ([], ["share"], ["consumer"], ["classic"]):
        r = side.ask(16, 5, {"states_filter": [], "types_filter": types})
        side.observe(f"types={types}", [g for g in r.groups if g.group_id == group])
    side.call(15, 6, {"groups": [group], "include_authorized_operations": False}, label="15v6")
    side.call(15, 5, {"groups": [group], "include_authorized_operations": False}, label="15v5")


# -- the GROUP config resource (DescribeConfigs 32, IncrementalAlterConfigs 44) ------------

GROUP_CONFIG_KEYS = [
    "share.auto.offset.reset",
    "share.record.lock.duration.ms",
    "share.delivery.count.limit",
    "share.isolation.level",
    "consumer.session.timeout.ms",
    "consumer.heartbeat.interval.ms",
]


@scenario(32, "describe_configs/group")
def _describe_group_configs(side: Side) -> None:
    """A group's configs: one set dynamically, the others from the broker."""
    group = side.name_of("g")
    set_group_configs(side, group, share_auto_offset_reset="earliest")
    side.call(32, 4, describe_group_configs_request(group, GROUP_CONFIG_KEYS))


@scenario(44, "incremental_alter_configs/group")
def _alter_group_configs(side: Side) -> None:
    """Set, validate and delete group configs: values outside the broker's bounds,
    an unknown name, a bad enum value, validate_only."""
    group = side.name_of("g")

    def alter(label: str, *configs: tuple[str, int, str | None], validate: bool = False) -> None:
        side.call(
            44,
            1,
            {
                "resources": [
                    {
                        "resource_type": GROUP_RESOURCE,
                        "resource_name": group,
                        "configs": [
                            {"name": n, "config_operation": op, "value": val}
                            for n, op, val in configs
                        ],
                    }
                ],
                "validate_only": validate,
            },
            label=label,
        )

    alter("set", ("share.record.lock.duration.ms", 0, "20000"))
    alter("lock-too-short", ("share.record.lock.duration.ms", 0, "1000"))
    alter("delivery-too-high", ("share.delivery.count.limit", 0, "11"))
    alter("session-too-short", ("consumer.session.timeout.ms", 0, "10"))
    alter("unknown-name", ("share.no.such.config", 0, "1"))
    alter("bad-reset", ("share.auto.offset.reset", 0, "sometimes"))
    alter("validate-only", ("share.auto.offset.reset", 0, "latest"), validate=True)
    alter("delete", ("share.record.lock.duration.ms", 1, None))
