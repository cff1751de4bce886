"""Committed offsets on the coordinator: persistence across a restart, expiry
(KIP-211, KIP-496), the transaction coordinator's interface (KIP-98/KIP-447),
OffsetDelete and DeleteGroups."""

from __future__ import annotations

from streamtest.broker.groups.consumer_protocol import encode_subscription
from streamtest.broker.state.cluster import now_ms
from streamtest.protocol.errors import ErrorCode

from .groupkit import join, make_broker, run, settle, stable_group, until

DAY_MS = 24 * 3600 * 1000


def test_committed_offsets_and_groups_survive_a_restart(tmp_path):
    async def main():
        broker = make_broker(data_dir=tmp_path)
        broker.state.create_topic("t", 2)
        g = broker.groups
        assert g.validate_offset_commit("g", "", None, -1, 8) == ErrorCode.NONE
        g.commit_offset("g", "t", 0, 10, 3, "meta")
        g.commit_offset("g", "t", 1, 5)
        g.commit_offset("g", "t", 1, 7)
        g.commit_offset("gone", "t", 0, 1)
        assert g.delete_group("gone") == ErrorCode.NONE
        g.stop()
        broker.state.storage.close()

        again = make_broker(data_dir=tmp_path).groups
        assert again.committed("g") == {("t", 0): 10, ("t", 1): 7}
        stored = again.offsets.get("g", "t", 0)
        assert (stored.leader_epoch, stored.metadata) == (3, "meta")
        assert again.committed("gone") == {}
        assert [x["group_id"] for x in again.list_groups(set(), set())] == ["g"]
        again.stop()

    run(main)


def test_offsets_of_an_empty_group_expire_after_the_retention():
    async def main():
        broker = make_broker()
        g = broker.groups
        a, b = await stable_group(broker, "g", 2)
        g.commit_offset("g", "t", 0, 42)
        retention = g.offsets_retention_ms
        assert retention == 7 * DAY_MS
        assert g.expire_offsets(now_ms() + 2 * retention) == 0, "live group: kept"
        g.leave_group("g", [(a, None), (b, None)])
        assert g.group("g").state == "Empty"
        assert g.expire_offsets(now_ms() + retention // 2) == 0
        assert g.expire_offsets(now_ms() + retention + 1000) == 1
        assert g.committed("g") == {} and g.group("g") is None

    run(main)


def test_offsets_of_topics_a_live_group_dropped_expire_by_commit_time():
    async def main():
        broker = make_broker()
        g = broker.groups
        meta = encode_subscription(["kept"])
        await stable_group(broker, "g", 1, protocols=(("range", meta),))
        g.commit_offset("g", "kept", 0, 1)
        g.commit_offset("g", "dropped", 0, 2)
        assert g.expire_offsets(now_ms() + 8 * DAY_MS) == 1
        assert g.committed("g") == {("kept", 0): 1}

    run(main)


def test_expiry_runs_on_its_own_with_a_short_retention():
    async def main():
        broker = make_broker(offsets_retention_minutes=0.002,
                             extra={"offsets.retention.check.interval.ms": "50"})
        g = broker.groups
        g.validate_offset_commit("simple", "", None, -1, 8)
        g.commit_offset("simple", "t", 0, 9)
        await until(lambda: g.committed("simple") == {} and g.group("simple") is None)

    run(main)


def test_transaction_commits_offsets_without_generation_checks():
    async def main():
        broker = make_broker()
        g = broker.groups
        (a,) = await stable_group(broker, "g", 1)
        g.commit_offsets_from_txn("g", [("t", 0, 100, 4, "txn"), ("t", 1, 200, -1, None)])
        assert g.committed("g") == {("t", 0): 100, ("t", 1): 200}
        assert g.offsets.get("g", "t", 0).metadata == "txn"
        g.commit_offsets_from_txn("new-group", [("t", 0, 1, -1, None)])
        assert g.committed("new-group") == {("t", 0): 1}
        assert g.validate_txn_offset_commit("g", 1, a, None) == ErrorCode.NONE
        assert g.validate_txn_offset_commit("g", 0, a, None) == ErrorCode.ILLEGAL_GENERATION
        assert g.validate_txn_offset_commit("g", 1, "x", None) == ErrorCode.UNKNOWN_MEMBER_ID

    run(main)


def test_offset_delete_refuses_subscribed_topics_and_delete_groups_refuses_live_groups():
    async def main():
        broker = make_broker()
        g = broker.groups
        meta = encode_subscription(["in-use"])
        fut = g.join_group("g", join(v4=False, protocols=(("range", meta),)))
        member = (await settle(fut))["member_id"]
        await settle(g.sync_group("g", member, None, 1, None, None, {member: b""}))
        g.commit_offset("g", "in-use", 0, 1)
        g.commit_offset("g", "other", 0, 2)
        top, per = g.delete_offsets("g", [("in-use", 0), ("other", 0)])
        assert top == ErrorCode.NONE
        assert per == {("in-use", 0): ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC,
                       ("other", 0): ErrorCode.NONE}
        assert g.committed("g") == {("in-use", 0): 1}
        assert g.delete_offsets("nope", [("x", 0)])[0] == ErrorCode.GROUP_ID_NOT_FOUND
        assert g.delete_group("g") == ErrorCode.NON_EMPTY_GROUP
        assert g.commit_offset("g", "in-use", 0, 1, metadata="x" * 5000) == (
            ErrorCode.OFFSET_METADATA_TOO_LARGE)

    run(main)
