"""The group APIs on the wire (kio-encoded requests over a raw socket): the forms
real clients use less often, such as batched FindCoordinator, the OffsetFetch v8+
groups array, v10 topic ids, filters and not-found answers."""

from __future__ import annotations

from typing import Any

import pytest

from streamtest.protocol import codec
from streamtest.protocol.errors import ErrorCode

from .rawclient import RawClient


def _req(api_key: int, version: int, **data: Any) -> Any:
    return codec.build(codec.request_schema(api_key, version), data)


@pytest.fixture
def client(bootstrap):
    c = RawClient(bootstrap)
    yield c
    c.close()


def test_find_coordinator_single_and_batched_for_groups_and_transactions(broker, client):
    one = client.call(_req(10, 0, key="g"))
    assert (one.error_code, one.node_id, one.port) == (0, 0, broker.port)
    txn = client.call(_req(10, 3, key="tx", key_type=1))
    assert (txn.error_code, txn.host, txn.port) == (0, "127.0.0.1", broker.port)
    batched = client.call(_req(10, 4, key_type=1, coordinator_keys=("a", "b")))
    assert [(c.key, c.node_id, c.error_code) for c in batched.coordinators] == [
        ("a", 0, 0), ("b", 0, 0)]
    bad = client.call(_req(10, 4, key_type=9, coordinator_keys=("a",)))
    assert bad.coordinators[0].error_code == ErrorCode.INVALID_REQUEST


def test_join_group_v9_requires_a_member_id_first(client):
    join = dict(group_id="wire-join", session_timeout=6000, rebalance_timeout=6000,
                member_id="", group_instance_id=None, protocol_type="consumer",
                protocols=[{"name": "range", "metadata": b"\x00"}], reason=None)
    first = client.call(_req(11, 9, **join))
    assert first.error_code == ErrorCode.MEMBER_ID_REQUIRED and first.member_id
    second = client.call(_req(11, 9, **{**join, "member_id": first.member_id}))
    assert second.error_code == 0 and second.leader == first.member_id
    assert second.protocol_type == "consumer" and second.protocol_name == "range"
    assert [m.member_id for m in second.members] == [first.member_id]
    old = client.call(_req(11, 2, **{**join, "group_id": "wire-join-v2"}))
    assert old.error_code == 0 and old.generation_id == 1


def test_offset_commit_and_fetch_across_versions(broker, client, topic_name):
    broker.create_topic(topic_name, partitions=2)
    topic_id = broker.call(lambda b: b.state.topics[topic_name].topic_id)
    commit = client.call(_req(8, 8, group_id="wire-off", generation_id_or_member_epoch=-1,
                              member_id="", group_instance_id=None, topics=[
                                  {"name": topic_name, "partitions": [
                                      {"partition_index": 0, "committed_offset": 7,
                                       "committed_leader_epoch": 2,
                                       "committed_metadata": "hello"},
                                      {"partition_index": 9, "committed_offset": 1,
                                       "committed_leader_epoch": -1,
                                       "committed_metadata": None}]}]))
    codes = [p.error_code for p in commit.topics[0].partitions]
    assert codes == [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]
    v8 = client.call(_req(9, 8, require_stable=False, groups=[
        {"group_id": "wire-off", "topics": None},
        {"group_id": "nobody", "topics": [{"name": topic_name, "partition_indexes": [0]}]}]))
    mine, other = v8.groups
    part = mine.topics[0].partitions[0]
    assert (part.committed_offset, part.committed_leader_epoch, part.metadata) == (7, 2, "hello")
    assert other.topics[0].partitions[0].committed_offset == -1
    v1 = client.call(_req(9, 1, group_id="wire-off", topics=[
        {"name": topic_name, "partition_indexes": [0, 1]}]))
    assert [p.committed_offset for p in v1.topics[0].partitions] == [7, -1]
    v10 = client.call(_req(9, 10, require_stable=False, groups=[
        {"group_id": "wire-off", "member_id": None, "member_epoch": -1,
         "topics": [{"topic_id": topic_id, "partition_indexes": [0]}]}]))
    assert v10.groups[0].topics[0].partitions[0].committed_offset == 7
    stale = client.call(_req(8, 8, group_id="wire-off", generation_id_or_member_epoch=3,
                             member_id="x", group_instance_id=None, topics=[
                                 {"name": topic_name, "partitions": [
                                     {"partition_index": 0, "committed_offset": 1,
                                      "committed_leader_epoch": -1,
                                      "committed_metadata": None}]}]))
    assert stale.topics[0].partitions[0].error_code == ErrorCode.UNKNOWN_MEMBER_ID


def test_list_describe_and_delete_on_the_wire(client):
    client.call(_req(8, 8, group_id="wire-admin", generation_id_or_member_epoch=-1,
                     member_id="", group_instance_id=None, topics=[]))
    listed = client.call(_req(16, 5, states_filter=("empty",), types_filter=("classic",)))
    assert "wire-admin" in {g.group_id for g in listed.groups}
    entry = next(g for g in listed.groups if g.group_id == "wire-admin")
    assert (entry.group_state, entry.group_type) == ("Empty", "classic")
    none = client.call(_req(16, 5, states_filter=("stable",), types_filter=()))
    assert "wire-admin" not in {g.group_id for g in none.groups}
    described = client.call(_req(15, 6, groups=("wire-admin", "missing"),
                                 include_authorized_operations=False))
    assert [(g.error_code, g.group_state) for g in described.groups] == [
        (0, "Empty"), (ErrorCode.GROUP_ID_NOT_FOUND, "Dead")]
    old = client.call(_req(15, 5, groups=("missing",), include_authorized_operations=False))
    assert (old.groups[0].error_code, old.groups[0].group_state) == (0, "Dead")
    cgd = client.call(_req(69, 1, group_ids=("wire-admin",), include_authorized_operations=False))
    assert cgd.groups[0].error_code == ErrorCode.GROUP_ID_NOT_FOUND
    deleted = client.call(_req(42, 2, groups_names=("wire-admin", "missing")))
    assert [r.error_code for r in deleted.results] == [0, ErrorCode.GROUP_ID_NOT_FOUND]


def test_consumer_group_heartbeat_on_the_wire(broker, client, topic_name):
    broker.create_topic(topic_name, partitions=3)
    topic_id = broker.call(lambda b: b.state.topics[topic_name].topic_id)
    resp = client.call(_req(68, 1, group_id="wire-848", member_id="m-1", member_epoch=0,
                            instance_id=None, rack_id=None, rebalance_timeout=5000,
                            subscribed_topic_names=(topic_name,), subscribed_topic_regex=None,
                            server_assignor="range", topic_partitions=()))
    assert (resp.error_code, resp.member_id, resp.member_epoch) == (0, "m-1", 1)
    assert [(tp.topic_id, tp.partitions) for tp in resp.assignment.topic_partitions] == [
        (topic_id, (0, 1, 2))]
    described = client.call(_req(69, 1, group_ids=("wire-848",),
                                 include_authorized_operations=True))
    group = described.groups[0]
    assert (group.group_state, group.assignor_name, group.members[0].member_type) == (
        "Stable", "range", 1)
    assert group.members[0].assignment.topic_partitions[0].topic_name == topic_name
    left = client.call(_req(68, 1, group_id="wire-848", member_id="m-1", member_epoch=-1,
                            instance_id=None, rack_id=None, rebalance_timeout=-1,
                            subscribed_topic_names=None, subscribed_topic_regex=None,
                            server_assignor=None, topic_partitions=None))
    assert (left.error_code, left.member_epoch) == (0, -1)
