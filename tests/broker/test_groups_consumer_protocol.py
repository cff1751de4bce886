"""KIP-848 consumer groups on the coordinator: target assignment, revocation before
reassignment, epochs and fencing, static membership, timeouts; and the assignors."""

from __future__ import annotations

import uuid

from streamtest.broker.groups.assignors import MemberSpec, range_assign, uniform_assign
from streamtest.protocol.errors import ErrorCode

from .groupkit import hb, make_broker, run, until


def _parts(resp, topic_id) -> set[int]:
    assert resp["assignment"] is not None
    return {p for tp in resp["assignment"]["topic_partitions"] if tp["topic_id"] == topic_id
            for p in tp["partitions"]}


def test_partitions_move_only_after_the_owner_revokes_them():
    async def main():
        broker = make_broker()
        tid = broker.create_topic("t", 4).topic_id
        g = broker.groups
        a = g.consumer_group_heartbeat(hb("a", 0, ["t"], {}))
        assert (a["error_code"], a["member_epoch"]) == (0, 1)
        assert _parts(a, tid) == {0, 1, 2, 3}
        assert g.group("g").state == "Stable"
        b = g.consumer_group_heartbeat(hb("b", 0, ["t"], {}))
        assert b["member_epoch"] == 2 and _parts(b, tid) == set()  # still owned by a
        assert g.group("g").state == "Reconciling"
        a = g.consumer_group_heartbeat(hb("a", 1, owned={tid: {0, 1, 2, 3}}))
        assert a["member_epoch"] == 1, "a keeps its epoch until it has revoked"
        kept = _parts(a, tid)
        assert len(kept) == 2
        a = g.consumer_group_heartbeat(hb("a", 1, owned={tid: kept}))
        assert a["member_epoch"] == 2
        b = g.consumer_group_heartbeat(hb("b", 2, owned={}))
        assert _parts(b, tid) == {0, 1, 2, 3} - kept
        b = g.consumer_group_heartbeat(hb("b", 2, owned={tid: {0, 1, 2, 3} - kept}))
        assert b["assignment"] is None, "no assignment when nothing changed"
        described = g.group("g").describe()
        assert described["group_state"] == "Stable" and described["assignor_name"] == "uniform"

    run(main)


def test_epochs_fence_unknown_and_stale_members():
    async def main():
        broker = make_broker()
        tid = broker.create_topic("t", 2).topic_id
        g = broker.groups
        g.consumer_group_heartbeat(hb("a", 0, ["t"], {}))
        assert g.consumer_group_heartbeat(hb("a", 7))["error_code"] == (
            ErrorCode.FENCED_MEMBER_EPOCH)
        assert g.consumer_group_heartbeat(hb("zz", 1))["error_code"] == (
            ErrorCode.UNKNOWN_MEMBER_ID)
        assert g.validate_offset_commit("g", "a", None, 0, 9) == ErrorCode.STALE_MEMBER_EPOCH
        assert g.validate_offset_commit("g", "a", None, 1, 9) == ErrorCode.NONE
        assert g.validate_offset_commit("g", "zz", None, 1, 9) == ErrorCode.UNKNOWN_MEMBER_ID
        assert g.validate_offset_fetch("g", "a", 0) == ErrorCode.STALE_MEMBER_EPOCH
        assert g.validate_offset_fetch("g", None, -1) == ErrorCode.NONE
        bad = g.consumer_group_heartbeat(hb("c", 0, ["t"], {}, server_assignor="nope"))
        assert bad["error_code"] == ErrorCode.UNSUPPORTED_ASSIGNOR
        assert g.consumer_group_heartbeat(hb("c", 0, ["t"], None))["error_code"] == (
            ErrorCode.INVALID_REQUEST)
        assert tid

    run(main)


def test_leaving_member_frees_its_partitions_for_the_rest():
    async def main():
        broker = make_broker()
        tid = broker.create_topic("t", 4).topic_id
        g = broker.groups
        g.consumer_group_heartbeat(hb("a", 0, ["t"], {}, server_assignor="range"))
        g.consumer_group_heartbeat(hb("b", 0, ["t"], {}, server_assignor="range"))
        a = g.consumer_group_heartbeat(hb("a", 1, owned={tid: {0, 1, 2, 3}}))
        a = g.consumer_group_heartbeat(hb("a", 1, owned={tid: _parts(a, tid)}))
        assert _parts(a, tid) == {0, 1}, "range gives a the first half"
        left = g.consumer_group_heartbeat(hb("b", -1))
        assert (left["error_code"], left["member_epoch"]) == (0, -1)
        a = g.consumer_group_heartbeat(hb("a", a["member_epoch"], owned={tid: {0, 1}}))
        assert _parts(a, tid) == {0, 1, 2, 3}
        g.consumer_group_heartbeat(hb("a", -1))
        assert g.group("g").state == "Empty"

    run(main)


def test_static_member_hands_its_assignment_to_its_successor():
    async def main():
        broker = make_broker()
        tid = broker.create_topic("t", 2).topic_id
        g = broker.groups
        first = g.consumer_group_heartbeat(hb("m1", 0, ["t"], {}, instance_id="i"))
        epoch = g.group("g").group_epoch
        clash = g.consumer_group_heartbeat(hb("m2", 0, ["t"], {}, instance_id="i"))
        assert clash["error_code"] == ErrorCode.UNRELEASED_INSTANCE_ID
        assert g.consumer_group_heartbeat(hb("m1", -2, instance_id="i"))["member_epoch"] == -2
        second = g.consumer_group_heartbeat(hb("m2", 0, ["t"], {}, instance_id="i"))
        assert second["error_code"] == 0
        assert second["member_epoch"] == first["member_epoch"]
        assert _parts(second, tid) == _parts(first, tid) == {0, 1}
        assert g.group("g").group_epoch == epoch, "no rebalance for a static restart"
        assert "m1" not in g.group("g").members

    run(main)


def test_session_timeout_and_revocation_timeout_remove_members():
    async def main():
        # Kafka requires the session timeout within its min/max and above the
        # heartbeat interval, so lower those as well.
        broker = make_broker(
            extra={
                "group.consumer.session.timeout.ms": "300",
                "group.consumer.min.session.timeout.ms": "300",
                "group.consumer.heartbeat.interval.ms": "100",
                "group.consumer.min.heartbeat.interval.ms": "100",
            }
        )
        tid = broker.create_topic("t", 2).topic_id
        g = broker.groups
        g.consumer_group_heartbeat(hb("a", 0, ["t"], {}, rebalance=200))
        g.consumer_group_heartbeat(hb("b", 0, ["t"], {}))
        # a never acknowledges the revocation: fenced after its rebalance timeout;
        # b keeps heartbeating and finally gets both partitions.
        group = g.group("g")
        state = {"epoch": 2, "owned": {}}

        def b_heartbeats():
            r = g.consumer_group_heartbeat(hb("b", state["epoch"], owned=state["owned"]))
            if r["assignment"] is not None:
                state["owned"] = {tid: _parts(r, tid)}
            state["epoch"] = r["member_epoch"]
            return "a" not in group.members and state["owned"] == {tid: {0, 1}}

        await until(b_heartbeats, timeout=5)
        # And b, once silent, is removed by the session timeout.
        await until(lambda: not group.members, timeout=5)
        assert group.state == "Empty"

    run(main)


def test_topic_created_after_subscribing_is_assigned():
    async def main():
        broker = make_broker()
        g = broker.groups
        r = g.consumer_group_heartbeat(hb("a", 0, ["later"], {}))
        assert r["assignment"] == {"topic_partitions": []}
        tid = broker.create_topic("later", 3).topic_id
        r = g.consumer_group_heartbeat(hb("a", r["member_epoch"], owned={}))
        assert _parts(r, tid) == {0, 1, 2}
        regex = g.consumer_group_heartbeat(hb("r", 0, None, {}, subscribed_topic_regex="lat.*"))
        assert regex["error_code"] == 0
        assert g.group("g").subscribed_topics() == {"later"}

    run(main)


T1, T2 = uuid.UUID(int=1), uuid.UUID(int=2)


def _count(assignment) -> dict[str, int]:
    return {m: sum(len(p) for p in tps.values()) for m, tps in assignment.items()}


def test_uniform_assignor_balances_and_sticks():
    subs = frozenset({T1})
    three = {m: MemberSpec(subs) for m in ("a", "b", "c")}
    first = uniform_assign(three, {T1: 6})
    assert _count(first) == {"a": 2, "b": 2, "c": 2}
    grown = {m: MemberSpec(subs, first[m]) for m in ("a", "b", "c")}
    grown["d"] = MemberSpec(subs)
    second = uniform_assign(grown, {T1: 6})
    assert sorted(_count(second).values()) == [1, 1, 2, 2]
    moved = sum(len(first[m][T1] - second[m].get(T1, set())) for m in ("a", "b", "c"))
    assert moved == 1, "only the partition the new member needs moves"
    mixed = uniform_assign({"a": MemberSpec(frozenset({T1, T2})), "b": MemberSpec(frozenset({T2}))},
                           {T1: 2, T2: 2})
    assert mixed["a"][T1] == {0, 1} and mixed["b"][T2] == {0, 1}


def test_range_assignor_gives_contiguous_ranges():
    specs = {m: MemberSpec(frozenset({T1})) for m in ("b", "a")}
    out = range_assign(specs, {T1: 5})
    assert out["a"][T1] == {0, 1, 2} and out["b"][T1] == {3, 4}


def test_a_regex_is_resolved_after_the_heartbeat_that_brings_it_and_refreshed_every_10s():
    # Kafka resolves KIP-848 patterns off the heartbeat path, and re-resolves them
    # on a heartbeat at least 10 s after the last resolution (groups/regex.py).
    async def main():
        broker = make_broker(clock="manual")
        clock = broker.clock
        first = broker.create_topic("orders-eu", 2).topic_id
        g = broker.groups
        r = g.consumer_group_heartbeat(hb("a", 0, None, {}, subscribed_topic_regex="orders-.*"))
        assert r["error_code"] == 0 and r["assignment"] == {"topic_partitions": []}
        clock.advance(0)  # the resolution runs
        r = g.consumer_group_heartbeat(hb("a", r["member_epoch"], owned={}))
        assert _parts(r, first) == {0, 1}
        second = broker.create_topic("orders-us", 1).topic_id
        clock.advance(5)
        r = g.consumer_group_heartbeat(hb("a", r["member_epoch"], owned={first: {0, 1}}))
        clock.advance(0)
        r = g.consumer_group_heartbeat(hb("a", r["member_epoch"], owned={first: {0, 1}}))
        assert r["assignment"] is None, "a new topic waits for the next refresh"
        clock.advance(5)
        r = g.consumer_group_heartbeat(hb("a", r["member_epoch"], owned={first: {0, 1}}))
        clock.advance(0)
        r = g.consumer_group_heartbeat(hb("a", r["member_epoch"], owned={first: {0, 1}}))
        assert _parts(r, second) == {0}
        bad = g.consumer_group_heartbeat(hb("b", 0, None, {}, subscribed_topic_regex="(?=x)y"))
        assert bad["error_code"] == ErrorCode.INVALID_REGULAR_EXPRESSION

    run(main)
