"""The classic group state machine (JoinGroup/SyncGroup/Heartbeat/LeaveGroup),
driven directly on the coordinator: MEMBER_ID_REQUIRED, protocol selection,
fencing, session and rebalance timeouts, the initial rebalance delay, static
membership and the group states Kafka reports."""

from __future__ import annotations

import asyncio

from streamtest.protocol.errors import ErrorCode

from .groupkit import join, make_broker, run, settle, stable_group, until


def test_first_join_v4_requires_member_id_then_forms_generation_one():
    async def main():
        g = make_broker().groups
        first = g.join_group("g", join())
        assert first["error_code"] == ErrorCode.MEMBER_ID_REQUIRED
        member_id = first["member_id"]
        assert member_id.startswith("client-")
        assert g.group("g").state == "Empty"
        resp = await settle(g.join_group("g", join(member_id)))
        assert resp["error_code"] == 0
        assert (resp["generation_id"], resp["leader"], resp["protocol_name"]) == (
            1, member_id, "range")
        assert [m["member_id"] for m in resp["members"]] == [member_id]
        assert resp["members"][0]["metadata"] == b"m"
        assert g.group("g").state == "CompletingRebalance"
        sync = await settle(g.sync_group("g", member_id, None, 1, "consumer", "range",
                                         {member_id: b"assignment"}))
        assert sync["assignment"] == b"assignment"
        assert g.group("g").state == "Stable"

    run(main)


def test_protocol_is_chosen_among_those_every_member_supports():
    async def main():
        g = make_broker().groups
        a = g.join_group("g", join(protocols=(("roundrobin", b"a1"), ("range", b"a2")), v4=False))
        b = g.join_group("g", join(protocols=(("sticky", b"b0"), ("range", b"b1")), v4=False))
        ra, rb = await settle(a), await settle(b)
        assert ra["protocol_name"] == rb["protocol_name"] == "range"
        leader = ra if ra["members"] else rb
        assert sorted(m["metadata"] for m in leader["members"]) == [b"a2", b"b1"]
        other = rb if leader is ra else ra
        assert other["members"] == []
        odd = g.join_group("g", join(protocols=(("cooperative-sticky", b""),), v4=False))
        assert odd["error_code"] == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        wrong_type = g.join_group("g", join(v4=False, protocol_type="connect"))
        assert wrong_type["error_code"] == ErrorCode.INCONSISTENT_GROUP_PROTOCOL

    run(main)


def test_rebalance_fences_old_generation_and_rejects_stale_commits():
    async def main():
        g = make_broker().groups
        (a,) = await stable_group(g.broker, "g", 1)
        pending_b = g.join_group("g", join(v4=False))
        assert g.group("g").state == "PreparingRebalance"
        assert g.heartbeat("g", a, None, 1) == ErrorCode.REBALANCE_IN_PROGRESS
        assert g.heartbeat("g", "stranger", None, 1) == ErrorCode.UNKNOWN_MEMBER_ID
        # Commits of the current generation are still allowed while preparing.
        assert g.validate_offset_commit("g", a, None, 1, 8) == ErrorCode.NONE
        ra = await settle(g.join_group("g", join(a, v4=False)))
        rb = await settle(pending_b)
        assert ra["generation_id"] == rb["generation_id"] == 2
        assert ra["leader"] == a and len(ra["members"]) == 2
        b = rb["member_id"]
        assert g.heartbeat("g", a, None, 1) == ErrorCode.ILLEGAL_GENERATION
        assert g.validate_offset_commit("g", a, None, 1, 8) == ErrorCode.ILLEGAL_GENERATION
        assert g.validate_offset_commit("g", b, None, 2, 8) == ErrorCode.REBALANCE_IN_PROGRESS
        assert g.sync_group("g", b, None, 1, None, None, {})["error_code"] == (
            ErrorCode.ILLEGAL_GENERATION)
        follower = g.sync_group("g", b, None, 2, None, None, {})
        assert not isinstance(follower, dict)  # parked until the leader's SyncGroup
        leader = g.sync_group("g", a, None, 2, None, None, {a: b"A", b: b"B"})
        assert (await settle(leader))["assignment"] == b"A"
        assert (await settle(follower))["assignment"] == b"B"
        assert g.validate_offset_commit("g", b, None, 2, 8) == ErrorCode.NONE
        assert g.heartbeat("g", b, None, 2) == ErrorCode.NONE

    run(main)


def test_session_timeout_evicts_a_silent_member_and_rebalances():
    async def main():
        g = make_broker().groups
        a, b = await stable_group(g.broker, "g", 2, session=300)
        group = g.group("g")

        def a_heartbeats_until_b_is_gone():
            g.heartbeat("g", a, None, group.generation_id)
            return b not in group.members

        await until(a_heartbeats_until_b_is_gone, timeout=5)
        assert group.state == "PreparingRebalance"
        resp = await settle(g.join_group("g", join(a, v4=False, session=300)))
        assert resp["generation_id"] == 2 and [m["member_id"] for m in resp["members"]] == [a]

    run(main)


def test_rebalance_timeout_drops_members_that_do_not_rejoin():
    async def main():
        g = make_broker().groups
        (a,) = await stable_group(g.broker, "g", 1, rebalance=300)
        loop = asyncio.get_running_loop()
        started = loop.time()
        resp = await settle(g.join_group("g", join(v4=False, rebalance=300)), timeout=5)
        assert loop.time() - started >= 0.25
        assert resp["generation_id"] == 2
        assert [m["member_id"] for m in resp["members"]] == [resp["member_id"]]
        assert a not in g.group("g").members

    run(main)


def test_members_that_never_sync_are_removed_after_the_rebalance_timeout():
    async def main():
        g = make_broker().groups
        fa = g.join_group("g", join(v4=False, rebalance=300))
        fb = g.join_group("g", join(v4=False, rebalance=300))
        ra, rb = await settle(fa), await settle(fb)
        leader = ra["leader"]
        silent = rb["member_id"] if leader == ra["member_id"] else ra["member_id"]
        await settle(g.sync_group("g", leader, None, 1, None, None, {}))
        group = g.group("g")
        assert group.state == "Stable"
        await until(lambda: silent not in group.members, timeout=5)
        assert group.state == "PreparingRebalance"

    run(main)


def test_initial_rebalance_delay_gathers_members_into_one_generation():
    async def main():
        g = make_broker(group_initial_rebalance_delay_ms=300).groups
        fa = g.join_group("g", join(v4=False))
        await asyncio.sleep(0.05)  # a second consumer starting a little later
        fb = g.join_group("g", join(v4=False))
        assert g.group("g").state == "PreparingRebalance"
        ra, rb = await settle(fa), await settle(fb)
        assert ra["generation_id"] == rb["generation_id"] == 1
        assert len((ra if ra["members"] else rb)["members"]) == 2

    run(main)


def test_static_member_rejoins_without_rebalance_and_keeps_its_assignment():
    async def main():
        g = make_broker().groups
        fa = g.join_group("g", join(v4=True, instance="i-1"))
        fb = g.join_group("g", join(v4=False))
        ra, rb = await settle(fa), await settle(fb)
        old_a, b = ra["member_id"], rb["member_id"]
        leader = ra["leader"]
        assignments = {old_a: b"for-i-1", b: b"for-b"}
        s1 = g.sync_group("g", old_a, "i-1", 1, None, None, assignments if leader == old_a else {})
        s2 = g.sync_group("g", b, None, 1, None, None, assignments if leader == b else {})
        await settle(s1), await settle(s2)
        # The static member restarts: a new JoinGroup with no member id.
        again = g.join_group("g", join(instance="i-1"))
        assert isinstance(again, dict), "a Stable group must not rebalance"
        new_a = again["member_id"]
        assert new_a != old_a and again["generation_id"] == 1
        assert again["leader"] == leader  # the old leader id: no reassignment by the new one
        sync = await settle(g.sync_group("g", new_a, "i-1", 1, None, None, {}))
        assert sync["assignment"] == b"for-i-1"
        group = g.group("g")
        assert group.state == "Stable" and group.generation_id == 1
        assert g.heartbeat("g", old_a, "i-1", 1) == ErrorCode.FENCED_INSTANCE_ID
        assert g.validate_offset_commit("g", old_a, "i-1", 1, 8) == ErrorCode.FENCED_INSTANCE_ID
        assert g.heartbeat("g", new_a, "i-1", 1) == ErrorCode.NONE

    run(main)


def test_batched_leave_reports_each_member():
    async def main():
        g = make_broker().groups
        a, b = await stable_group(g.broker, "g", 2)
        top, errors = g.leave_group("g", [(a, None), ("nobody", None), ("", "no-instance")])
        assert top == ErrorCode.NONE
        assert errors == [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID,
                          ErrorCode.UNKNOWN_MEMBER_ID]
        assert g.group("g").state == "PreparingRebalance"
        assert g.leave_group("g", [(b, None)]) == (ErrorCode.NONE, [ErrorCode.NONE])
        group = g.group("g")
        assert group.state == "Empty" and group.generation_id == 2
        assert g.leave_group("missing", [(a, None)])[0] == ErrorCode.UNKNOWN_MEMBER_ID

    run(main)


def test_group_states_are_reported_as_kafka_names_them():
    async def main():
        g = make_broker().groups

        def state() -> str:
            listed = {x["group_id"]: x for x in g.list_groups(set(), set())}
            return listed["g"]["group_state"] if "g" in listed else "Dead"

        fa = g.join_group("g", join(v4=False, rebalance=2000))
        assert state() == "PreparingRebalance"
        ra = await settle(fa)
        assert state() == "CompletingRebalance"
        a = ra["member_id"]
        await settle(g.sync_group("g", a, None, 1, None, None, {a: b""}))
        assert state() == "Stable"
        assert [x["group_id"] for x in g.list_groups({"stable"}, set())] == ["g"]
        assert g.list_groups({"empty"}, set()) == []
        assert g.list_groups(set(), {"consumer"}) == []
        assert g.list_groups(set(), {"classic"})[0]["protocol_type"] == "consumer"
        g.leave_group("g", [(a, None)])
        assert state() == "Empty"
        assert g.delete_group("g") == ErrorCode.NONE
        assert state() == "Dead"
        assert g.delete_group("g") == ErrorCode.GROUP_ID_NOT_FOUND

    run(main)


def test_unknown_member_and_bad_session_timeout_are_refused():
    async def main():
        g = make_broker(extra={"group.min.session.timeout.ms": "6000"}).groups
        assert g.join_group("g", join("made-up"))["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID
        assert g.join_group("g", join(session=10))["error_code"] == (
            ErrorCode.INVALID_SESSION_TIMEOUT)
        assert g.join_group("", join())["error_code"] == ErrorCode.INVALID_GROUP_ID

    run(main)


def test_stop_cancels_every_timer_and_answers_parked_joins():
    async def main():
        broker = make_broker()
        g = broker.groups
        await stable_group(broker, "g", 1)
        parked = g.join_group("g", join(v4=False))
        assert len(g.timers) > 0
        g.stop()
        assert len(g.timers) == 0
        assert (await settle(parked))["error_code"] == ErrorCode.COORDINATOR_NOT_AVAILABLE

    run(main)
