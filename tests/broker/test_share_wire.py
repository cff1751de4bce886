"""Share groups (KIP-932) on the wire: the answers Apache Kafka 4.4 gives, checked
with raw requests (errors, session epochs, admin APIs, multi-node routing). The
expected messages and codes were taken from the reference broker."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from streamtest import EmbeddedKafka
from streamtest.protocol import codec
from streamtest.protocol.errors import ErrorCode

from .rawclient import RawClient


class Wire:
    """Requests built from dicts (timedelta fields given as milliseconds)."""

    def __init__(self, bootstrap: str) -> None:
        self.client = RawClient(bootstrap)
        self.cid = 0

    def __call__(self, key: int, version: int, data: dict[str, Any]) -> Any:
        cls = codec.request_schema(key, version)
        for f in dataclasses.fields(cls):
            if f.metadata.get("kafka_type", "").startswith("timedelta") and isinstance(
                data.get(f.name), int
            ):
                data[f.name] = datetime.timedelta(milliseconds=data[f.name])
        self.cid += 1
        return self.client.call(codec.build(cls, data), self.cid)

    def close(self) -> None:
        self.client.close()


@pytest.fixture(scope="module")
def kafka() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka() as k:
        yield k


@pytest.fixture
def wire(kafka: EmbeddedKafka) -> Iterator[Wire]:
    w = Wire(kafka.bootstrap_servers)
    yield w
    w.close()


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def topic_id(kafka: EmbeddedKafka, topic: str) -> uuid.UUID:
    return kafka.call(lambda c: c.topics[topic].topic_id)


def heartbeat(w: Wire, group: str, member: str, epoch: int, topics: list[str] | None) -> Any:
    return w(
        76,
        1,
        {
            "group_id": group,
            "member_id": member,
            "member_epoch": epoch,
            "rack_id": None,
            "subscribed_topic_names": topics,
        },
    )


def fetch(
    w: Wire,
    group: str,
    member: str,
    epoch: int,
    tid: uuid.UUID,
    parts: list[int],
    acks: dict[int, list[tuple[int, int, int]]] | None = None,
    **kw: Any,
) -> Any:
    acks = acks or {}
    body = {
        "group_id": group,
        "member_id": member,
        "share_session_epoch": epoch,
        "max_wait": 0,
        "min_bytes": 1,
        "max_bytes": 1 << 20,
        "max_records": 500,
        "batch_size": 500,
        "topics": [
            {
                "topic_id": tid,
                "partitions": [
                    {
                        "partition_index": p,
                        "acknowledgement_batches": [
                            {"first_offset": f, "last_offset": la, "acknowledge_types": [t]}
                            for f, la, t in acks.get(p, [])
                        ],
                    }
                    for p in parts
                ],
            }
        ],
        "forgotten_topics_data": [],
    }
    body.update(kw)
    return w(78, 2, body)


def produce(kafka: EmbeddedKafka, topic: str, n: int, partition: int = 0) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": kafka.bootstrap_servers})
    for i in range(n):
        p.produce(topic, value=b"v%d" % i, partition=partition)
    assert p.flush(10) == 0


def earliest(w: Wire, group: str) -> None:
    r = w(
        44,
        1,
        {
            "resources": [
                {
                    "resource_type": 32,
                    "resource_name": group,
                    "configs": [
                        {
                            "name": "share.auto.offset.reset",
                            "config_operation": 0,
                            "value": "earliest",
                        }
                    ],
                }
            ],
            "validate_only": False,
        },
    )
    assert r.responses[0].error_code == 0


def test_share_apis_are_advertised_with_kafka_4_4s_versions(wire: Wire) -> None:
    r = wire(18, 3, {"client_software_name": "t", "client_software_version": "1"})
    ranges = {int(k.api_key): (int(k.min_version), int(k.max_version)) for k in r.api_keys}
    assert {k: ranges[k] for k in (76, 77, 78, 79, 90, 91, 92)} == {
        76: (1, 1),
        77: (1, 1),
        78: (1, 2),
        79: (1, 2),
        90: (0, 1),
        91: (0, 0),
        92: (0, 0),
    }


def test_heartbeat_errors(wire: Wire) -> None:
    g = name("g")
    r = heartbeat(wire, g, "", 0, ["t"])
    assert (r.error_code, r.error_message) == (ErrorCode.INVALID_REQUEST, None)
    r = heartbeat(wire, g, "m", 0, None)
    assert r.error_message == "SubscribedTopicNames must be set in first request."
    assert heartbeat(wire, g, "m", -2, None).error_message == "MemberEpoch is invalid."
    assert heartbeat(wire, "", "m", 0, ["t"]).error_message == "GroupId can't be empty."
    joined = heartbeat(wire, g, "m", 0, ["no-such-topic"])
    assert joined.error_code == 0 and joined.assignment is not None
    epoch = joined.member_epoch
    r = heartbeat(wire, g, "m", epoch + 5, None)
    assert r.error_code == ErrorCode.FENCED_MEMBER_EPOCH
    assert r.error_message == (
        f"The share group member has a greater member epoch ({epoch + 5}) than the one known "
        f"by the group coordinator ({epoch}). The member must abandon all its partitions and "
        "rejoin."
    )
    r = heartbeat(wire, g, "zz", 3, None)
    assert (r.error_code, r.error_message) == (
        ErrorCode.UNKNOWN_MEMBER_ID,
        f"Member zz is not a member of group {g}.",
    )
    left = heartbeat(wire, g, "m", -1, None)
    assert (left.error_code, left.member_epoch) == (0, -1)


def test_group_ids_are_one_namespace_across_group_types(kafka: EmbeddedKafka, wire: Wire) -> None:
    share_group = name("share")
    assert heartbeat(wire, share_group, "m", 0, ["t"]).error_code == 0
    r = wire(
        68,
        1,
        {
            "group_id": share_group,
            "member_id": "c",
            "member_epoch": 0,
            "rebalance_timeout": 30000,
            "subscribed_topic_names": ["t"],
            "topic_partitions": [],
        },
    )
    assert (r.error_code, r.error_message) == (
        ErrorCode.GROUP_ID_NOT_FOUND,
        f"Group {share_group} is not a consumer group.",
    )
    r = wire(
        11,
        9,
        {
            "group_id": share_group,
            "session_timeout": 30000,
            "rebalance_timeout": 30000,
            "member_id": "",
            "protocol_type": "consumer",
            "protocols": [{"name": "range", "metadata": b""}],
        },
    )
    assert r.error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    described = wire(15, 6, {"groups": [share_group], "include_authorized_operations": False})
    assert described.groups[0].error_code == ErrorCode.GROUP_ID_NOT_FOUND
    assert described.groups[0].error_message == f"Group {share_group} is not a classic group."
    assert wire(15, 5, {"groups": [share_group]}).groups[0].group_state == "Dead"
    listed = wire(16, 5, {"states_filter": [], "types_filter": ["share"]})
    mine = [g for g in listed.groups if g.group_id == share_group]
    assert [(g.protocol_type, g.group_state, g.group_type) for g in mine] == [
        ("share", "Stable", "share")
    ]
    classic = name("classic")
    wire(
        8,
        9,
        {
            "group_id": classic,
            "generation_id_or_member_epoch": -1,
            "member_id": "",
            "group_instance_id": None,
            "topics": [],
        },
    )
    kafka.create_topic(classic_topic := name("t"))
    wire(
        8,
        9,
        {
            "group_id": classic,
            "generation_id_or_member_epoch": -1,
            "member_id": "",
            "group_instance_id": None,
            "topics": [
                {
                    "name": classic_topic,
                    "partitions": [
                        {
                            "partition_index": 0,
                            "committed_offset": 1,
                            "committed_leader_epoch": -1,
                            "committed_metadata": "",
                        }
                    ],
                }
            ],
        },
    )
    r = heartbeat(wire, classic, "m", 0, ["t"])
    assert r.error_message == f"Group {classic} is not a share group."


def test_share_group_describe(kafka: EmbeddedKafka, wire: Wire) -> None:
    topic, group = name("t"), name("g")
    kafka.create_topic(topic, partitions=2)
    joined = heartbeat(wire, group, "m1", 0, [topic])
    assert {tuple(tp.partitions) for tp in joined.assignment.topic_partitions} == {(0, 1)}
    r = wire(77, 1, {"group_ids": [group, "nope-" + group], "include_authorized_operations": True})
    g, missing = r.groups
    assert (g.group_state, g.assignor_name, g.authorized_operations) == ("Stable", "simple", 3400)
    [m] = g.members
    assert (m.member_id, m.client_id, list(m.subscribed_topic_names)) == ("m1", "raw", [topic])
    assert [(t.topic_name, list(t.partitions)) for t in m.assignment.topic_partitions] == [
        (topic, [0, 1])
    ]
    assert (missing.error_code, missing.error_message) == (
        ErrorCode.GROUP_ID_NOT_FOUND,
        f"Group nope-{group} not found.",
    )


def test_more_members_than_partitions_share_each_partition(
    kafka: EmbeddedKafka, wire: Wire
) -> None:
    topic, group = name("t"), name("g")
    kafka.create_topic(topic, partitions=1)
    epochs = {m: heartbeat(wire, group, m, 0, [topic]).member_epoch for m in "abcd"}
    tid = topic_id(kafka, topic)
    for m, epoch in epochs.items():
        r = heartbeat(wire, group, m, epoch, None)
        while r.member_epoch != epochs[m]:
            epochs[m] = r.member_epoch
            r = heartbeat(wire, group, m, epochs[m], None)
    described = wire(77, 1, {"group_ids": [group], "include_authorized_operations": False})
    assert {
        m.member_id: [(t.topic_id, list(t.partitions)) for t in m.assignment.topic_partitions]
        for m in described.groups[0].members
    } == {m: [(tid, [0])] for m in "abcd"}


def test_find_coordinator_for_share_state_needs_v6_and_a_well_formed_key(
    kafka: EmbeddedKafka, wire: Wire
) -> None:
    tid = uuid.uuid4()
    key = f"g:{base64.urlsafe_b64encode(tid.bytes).decode().rstrip('=')}:0"
    r = wire(10, 6, {"key_type": 2, "coordinator_keys": [key, "bad", "g:xx:0", ""]})
    codes = [c.error_code for c in r.coordinators]
    assert codes == [0, 42, 42, 42]
    assert r.coordinators[0].node_id == 0
    assert wire(10, 5, {"key_type": 2, "coordinator_keys": [key]}).coordinators[0].error_code == 42
    assert "__share_group_state" in kafka.call(lambda c: c.topics.names())


def test_share_fetch_session_epochs(kafka: EmbeddedKafka, wire: Wire) -> None:
    topic, group = name("t"), name("g")
    kafka.create_topic(topic)
    earliest(wire, group)
    produce(kafka, topic, 5)
    tid = topic_id(kafka, topic)
    assert fetch(wire, group, "m", 3, tid, [0]).error_code == ErrorCode.SHARE_SESSION_NOT_FOUND
    r = fetch(wire, group, "m", 0, tid, [0], acks={0: [(0, 0, 1)]})
    assert r.error_code == ErrorCode.INVALID_REQUEST  # no acknowledgements in a new session
    r = fetch(wire, group, "m", 0, tid, [0, 9])
    parts = {p.partition_index: p for p in r.responses[0].partitions}
    assert [
        (a.first_offset, a.last_offset, a.delivery_count) for a in parts[0].acquired_records
    ] == [(0, 4, 1)]
    assert parts[9].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert r.acquisition_lock_timeout == datetime.timedelta(seconds=30)
    # Epoch 1 next: replaying it is INVALID_SHARE_SESSION_EPOCH.
    r = fetch(wire, group, "m", 1, tid, [0], acks={0: [(0, 4, 1)]})
    assert r.error_code == 0
    assert [
        p.acknowledge_error_code for p in r.responses[0].partitions if p.partition_index == 0
    ] == [0]
    assert fetch(wire, group, "m", 1, tid, [0]).error_code == ErrorCode.INVALID_SHARE_SESSION_EPOCH
    ack = wire(79, 2, {"group_id": group, "member_id": "m", "share_session_epoch": 0, "topics": []})
    assert ack.error_code == ErrorCode.INVALID_SHARE_SESSION_EPOCH
    r = fetch(wire, group, "m", -1, tid, [0])  # closes the session
    assert (r.error_code, list(r.responses)) == (0, [])
    assert fetch(wire, group, "m", 2, tid, [0]).error_code == ErrorCode.SHARE_SESSION_NOT_FOUND
    # The persisted start offset trails by one write, as in Kafka; the lag is right.
    offsets = wire(90, 1, {"groups": [{"group_id": group, "topics": None}]})
    assert [(p.start_offset, p.lag) for p in offsets.groups[0].topics[0].partitions] == [(0, 0)]


def test_acknowledging_someone_elses_records(kafka: EmbeddedKafka, wire: Wire) -> None:
    topic, group = name("t"), name("g")
    kafka.create_topic(topic)
    earliest(wire, group)
    produce(kafka, topic, 3)
    tid = topic_id(kafka, topic)
    other = Wire(kafka.bootstrap_servers)
    try:
        assert fetch(other, group, "thief", 0, tid, [0]).error_code == 0
        assert (
            fetch(wire, group, "m", 0, tid, [0]).responses[0].partitions[0].acquired_records == ()
        )
        r = wire(
            79,
            2,
            {
                "group_id": group,
                "member_id": "m",
                "share_session_epoch": 1,
                "topics": [
                    {
                        "topic_id": tid,
                        "partitions": [
                            {
                                "partition_index": 0,
                                "acknowledgement_batches": [
                                    {"first_offset": 0, "last_offset": 2, "acknowledge_types": [1]}
                                ],
                            }
                        ],
                    }
                ],
            },
        )
        p = r.responses[0].partitions[0]
        assert (p.error_code, p.error_message) == (
            ErrorCode.INVALID_RECORD_STATE,
            "Member is not the owner of batch record",
        )
    finally:
        other.close()  # the thief's connection closes: its records are released
    # The release happens when the broker sees the connection close: wait for it.
    r = fetch(wire, group, "m", 2, tid, [0], max_wait=10_000)
    assert [
        (a.first_offset, a.last_offset, a.delivery_count)
        for a in r.responses[0].partitions[0].acquired_records
    ] == [(0, 2, 1)]


def test_share_group_offsets_admin(kafka: EmbeddedKafka, wire: Wire) -> None:
    topic, group = name("t"), name("g")
    kafka.create_topic(topic, partitions=2)
    produce(kafka, topic, 3)
    r = wire(
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
                {"topic_name": "nope", "partitions": [{"partition_index": 0, "start_offset": 0}]},
            ],
        },
    )
    assert r.error_code == 0
    assert [
        (t.topic_name, [(p.partition_index, p.error_code) for p in t.partitions])
        for t in r.responses
    ] == [("nope", [(0, 3)]), (topic, [(0, 0), (7, 3)])]
    listed = wire(16, 5, {"states_filter": [], "types_filter": ["share"]})
    assert [g.group_state for g in listed.groups if g.group_id == group] == ["Empty"]
    d = wire(90, 1, {"groups": [{"group_id": group, "topics": None}]})
    [t] = d.groups[0].topics
    assert [(p.partition_index, p.start_offset) for p in t.partitions] == [(0, 1)]
    # A member makes the group non-empty.
    assert heartbeat(wire, group, "m", 0, [topic]).error_code == 0
    r = wire(91, 0, {"group_id": group, "topics": []})
    assert (r.error_code, r.error_message) == (ErrorCode.NON_EMPTY_GROUP, "The group is not empty.")
    r = wire(92, 0, {"group_id": group, "topics": [{"topic_name": topic}]})
    assert r.error_code == ErrorCode.NON_EMPTY_GROUP
    d = wire(90, 1, {"groups": [{"group_id": group, "topics": None}]})
    assert [
        (p.partition_index, p.start_offset, p.lag) for p in d.groups[0].topics[0].partitions
    ] == [(0, 1, 2), (1, -1, -1)]
    heartbeat(wire, group, "m", -1, None)
    r = wire(92, 0, {"group_id": group, "topics": [{"topic_name": topic}, {"topic_name": "nope"}]})
    assert [(t.topic_name, t.error_code) for t in r.responses] == [(topic, 0), ("nope", 3)]
    assert wire(90, 1, {"groups": [{"group_id": group, "topics": None}]}).groups[0].topics == ()
    r = wire(92, 0, {"group_id": "nope-" + group, "topics": []})
    assert (r.error_code, r.error_message) == (
        ErrorCode.GROUP_ID_NOT_FOUND,
        f"Group nope-{group} not found.",
    )
    assert wire(42, 2, {"groups_names": [group]}).results[0].error_code == 0


def test_a_partition_is_fetched_from_its_leader_and_the_group_from_its_coordinator() -> None:
    with EmbeddedKafka(brokers=3) as kafka:
        topic = name("t")
        kafka.create_topic(topic, partitions=1, replication_factor=3)
        leader = kafka.leader(topic, 0)
        nodes = kafka.call(lambda c: {n: c.nodes[n].address for n in c.nodes})
        tid = topic_id(kafka, topic)
        group = name("g")
        coordinator = kafka.call(lambda c: c.coordinator_for(0, group).node_id)
        for node_id, address in nodes.items():
            w = Wire(address)
            try:
                r = fetch(w, group, "m", 0, tid, [0])
                p = r.responses[0].partitions[0]
                if node_id == leader:
                    assert p.error_code == 0
                else:
                    assert p.error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
                    assert p.current_leader.leader_id == leader
                    assert [e.node_id for e in r.node_endpoints] == [leader]
                hb = heartbeat(w, group, f"m{node_id}", 0, [topic])
                assert hb.error_code == (0 if node_id == coordinator else ErrorCode.NOT_COORDINATOR)
            finally:
                w.close()


def test_a_deferred_assignment_drops_unsubscribed_topics_at_once() -> None:
    """Within ``share.assignment.interval.ms`` of the last target assignment, a
    member that switches topics loses the old topic's partitions in that very
    heartbeat's answer and gets the new topic's once the interval has passed, as
    Apache Kafka 4.4 answers (confluent-kafka's test_resubscribe_to_different_topic
    depends on the first half)."""
    settings = {"group.share.assignment.interval.ms": "1000"}
    with EmbeddedKafka(clock="manual", settings=settings) as kafka:
        a, b, group = name("a"), name("b"), name("g")
        kafka.create_topic(a, partitions=1)
        kafka.create_topic(b, partitions=2)
        w = Wire(kafka.bootstrap_servers)
        try:
            joined = heartbeat(w, group, "m1", 0, [a])
            assert [
                (t.topic_id, list(t.partitions)) for t in joined.assignment.topic_partitions
            ] == [(topic_id(kafka, a), [0])]
            epoch = joined.member_epoch

            switched = heartbeat(w, group, "m1", epoch, [b])
            assert switched.error_code == 0
            assert switched.member_epoch == epoch  # no new target yet
            assert switched.assignment is not None
            assert list(switched.assignment.topic_partitions) == []

            assert heartbeat(w, group, "m1", epoch, None).assignment is None  # still deferred

            kafka.advance(1.0)
            assigned = heartbeat(w, group, "m1", epoch, None)
            assert assigned.member_epoch > epoch
            assert [
                (t.topic_id, list(t.partitions)) for t in assigned.assignment.topic_partitions
            ] == [(topic_id(kafka, b), [0, 1])]
        finally:
            w.close()


def test_a_member_joining_an_emptied_group_is_assigned_at_once() -> None:
    """The last member's leaving does not start ``share.assignment.interval.ms``:
    a consumer that replaces it gets its partitions in its first heartbeat's answer
    (confluent-kafka's test_commit_async_inside_with_block closes one consumer and
    opens another on the same group)."""
    settings = {"group.share.assignment.interval.ms": "1000"}
    with EmbeddedKafka(clock="manual", settings=settings) as kafka:
        topic, group = name("t"), name("g")
        kafka.create_topic(topic, partitions=1)
        w = Wire(kafka.bootstrap_servers)
        try:
            first = heartbeat(w, group, "m1", 0, [topic])
            assert heartbeat(w, group, "m1", -1, None).error_code == 0
            second = heartbeat(w, group, "m2", 0, [topic])
            assert second.member_epoch > first.member_epoch
            assert [
                (t.topic_id, list(t.partitions)) for t in second.assignment.topic_partitions
            ] == [(topic_id(kafka, topic), [0])]
        finally:
            w.close()


def test_a_share_fetch_over_the_consumer_byte_rate_quota_is_throttled() -> None:
    """ShareFetch is counted against ``consumer_byte_rate`` as a Fetch is (Kafka's
    handleShareFetchRequest): over the quota the answer carries the throttle time,
    yet still the records it acquired, and the next request waits out the mute."""
    from .serverkit import server_side, set_quota

    windows = {"quota.window.num": "2", "quota.window.size.seconds": "1"}
    with EmbeddedKafka(clock="manual", settings=windows) as kafka:
        topic, group = name("t"), name("g")
        kafka.create_topic(topic, partitions=1)
        produce(kafka, topic, 50)
        w = Wire(kafka.bootstrap_servers)
        try:
            earliest(w, group)
            joined = heartbeat(w, group, "m1", 0, [topic])
            tid = topic_id(kafka, topic)
            free = fetch(w, group, "m1", 0, tid, [0])
            assert int(free.throttle_time.total_seconds() * 1000) == 0  # no quota yet
            set_quota(kafka.bootstrap_servers, {"client-id": "raw"}, consumer_byte_rate=100)
            r = fetch(w, group, "m1", 1, tid, [0], acks={0: [(0, 49, 2)]})
            assert joined.error_code == 0
            acquired = [a for t in r.responses for p in t.partitions for a in p.acquired_records]
            assert acquired, "a throttled ShareFetch still returns what it acquired"
            assert r.throttle_time.total_seconds() > 0
            assert server_side(kafka, w.client)["throttled"]
        finally:
            w.close()


def test_a_renewal_from_a_client_with_a_quota_is_not_refused() -> None:
    """A renewal must carry max_bytes 0 (KIP-1222); the fetch quota's cap on
    max_bytes leaves it alone, so a quota'd client can still renew its locks."""
    from .serverkit import set_quota

    with EmbeddedKafka(clock="manual") as kafka:
        topic, group = name("t"), name("g")
        kafka.create_topic(topic, partitions=1)
        produce(kafka, topic, 3)
        set_quota(kafka.bootstrap_servers, {"client-id": "raw"}, consumer_byte_rate=1_000_000)
        w = Wire(kafka.bootstrap_servers)
        try:
            earliest(w, group)
            heartbeat(w, group, "m1", 0, [topic])
            tid = topic_id(kafka, topic)
            first = fetch(w, group, "m1", 0, tid, [0])
            assert [a.last_offset for t in first.responses for p in t.partitions
                    for a in p.acquired_records] == [2]
            renewal = fetch(
                w, group, "m1", 1, tid, [0], acks={0: [(0, 2, 4)]}, is_renew_ack=True,
                max_wait=0, min_bytes=0, max_bytes=0, max_records=0, batch_size=0,
            )
            assert renewal.error_code == 0, renewal
            assert [p.acknowledge_error_code for t in renewal.responses
                    for p in t.partitions] == [0]
        finally:
            w.close()
