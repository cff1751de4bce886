"""Share partitions (KIP-932) tested directly on a cluster, without sockets: the
record states, locks on the manual clock, delivery counts, the start offset, limits
and persistence (as tansu tests each service against in-memory storage)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamtest.broker.cluster import Cluster
from streamtest.broker.share.partition import (
    ACCEPT,
    GAP,
    REJECT,
    RELEASE,
    RENEW,
    AckError,
    SharePartition,
)
from streamtest.protocol.errors import ErrorCode
from streamtest.protocol.records import RecordInput, build_batch, parse_header

GROUP = "g"
LOCK = 30  # seconds: Kafka's default share.record.lock.duration.ms


def make(data_dir: Path | None = None, **group_configs: object) -> Cluster:
    cluster = Cluster(clock="manual", data_dir=data_dir)
    if group_configs:
        from streamtest.broker.services.group_configs import ConfigOp

        cluster.group_configs.alter(
            GROUP, [ConfigOp(k.replace("_", "."), 0, str(v)) for k, v in group_configs.items()]
        )
    return cluster


def produce(cluster: Cluster, topic: str, count: int, per_batch: int = 1) -> None:
    """Append ``count`` records to partition 0, ``per_batch`` to a batch."""
    partition = cluster.topics.partition(topic, 0)
    assert partition is not None
    done = 0
    while done < count:
        n = min(per_batch, count - done)
        batch = build_batch(
            [RecordInput(None, f"v{done + i}".encode()) for i in range(n)],
            base_offset=partition.log_end_offset,
        )
        cluster.replicas.append_to_leader(partition, batch, parse_header(batch))
        done += n


def share(cluster: Cluster, topic: str = "t") -> SharePartition:
    partition = cluster.topics.partition(topic, 0)
    assert partition is not None
    return cluster.shares.share_partition(GROUP, partition)


def offsets(acquired: object) -> list[int]:
    return [o for f, last, _ in acquired.ranges for o in range(f, last + 1)]  # type: ignore[attr-defined]


def states(sp: SharePartition) -> dict[int, tuple[str, int]]:
    return {r["offset"]: (r["state"], r["delivery_count"]) for r in sp.snapshot()["records"]}


def test_records_go_to_one_member_and_the_next_fetch_gets_the_rest() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 10)
    sp = share(cluster)
    a = sp.acquire("a", 4, 1 << 20)
    b = sp.acquire("b", 100, 1 << 20)
    assert offsets(a) == [0, 1, 2, 3]
    assert offsets(b) == list(range(4, 10))
    assert a.ranges == [(0, 3, 1)]
    assert sp.acquire("c", 100, 1 << 20).count == 0  # everything is locked
    assert all(s == ("acquired", 1) for s in states(sp).values())


def test_latest_is_kafkas_default_and_earliest_reads_the_backlog() -> None:
    cluster = make()
    cluster.create_topic("t", 1)
    produce(cluster, "t", 5)
    latest = share(cluster)
    assert (latest.start, latest.end) == (5, 5)
    assert latest.acquire("a", 100, 1 << 20).count == 0
    produce(cluster, "t", 2)
    assert offsets(latest.acquire("a", 100, 1 << 20)) == [5, 6]


def test_by_duration_starts_at_the_first_record_that_recent() -> None:
    cluster = make(share_auto_offset_reset="by_duration:PT1H")
    cluster.create_topic("t", 1)
    partition = cluster.topics.partition("t", 0)
    assert partition is not None
    now = cluster.clock.now_ms()
    for ts in (now - 3 * 3_600_000, now - 2 * 3_600_000, now - 60_000, now):
        batch = build_batch(
            [RecordInput(None, b"x")], base_offset=partition.log_end_offset, default_timestamp=ts
        )
        cluster.replicas.append_to_leader(partition, batch, parse_header(batch))
    assert share(cluster).start == 2


def test_accepting_moves_the_start_offset_past_done_records() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 6)
    sp = share(cluster)
    sp.acquire("a", 100, 1 << 20)
    sp.acknowledge("a", [(2, 3, (ACCEPT,))])
    assert sp.start == 0  # 0 and 1 are still acquired
    sp.acknowledge("a", [(0, 1, (ACCEPT, REJECT))])
    assert sp.start == 4
    assert states(sp) == {4: ("acquired", 1), 5: ("acquired", 1)}
    sp.acknowledge("a", [(4, 5, (GAP,))])
    assert (sp.start, sp.in_flight, sp.lag()) == (6, 0, 0)


def test_release_redelivers_with_the_count_kept() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 3)
    sp = share(cluster)
    sp.acquire("a", 100, 1 << 20)
    sp.acknowledge("a", [(1, 1, (RELEASE,))])
    again = sp.acquire("b", 100, 1 << 20)
    assert again.ranges == [(1, 1, 2)]
    assert states(sp)[1] == ("acquired", 2)


def test_a_lock_expires_on_the_cluster_clock_only() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 2)
    sp = share(cluster)
    sp.acquire("a", 100, 1 << 20)
    cluster.clock.advance(LOCK - 1)  # type: ignore[attr-defined]
    assert sp.acquire("b", 100, 1 << 20).count == 0
    cluster.clock.advance(1)  # type: ignore[attr-defined]
    assert states(sp) == {0: ("available", 1), 1: ("available", 1)}
    assert sp.acquire("b", 100, 1 << 20).ranges == [(0, 1, 2)]


def test_an_accepted_record_is_not_released_when_its_lock_would_have_expired() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 2)
    sp = share(cluster)
    sp.acquire("a", 100, 1 << 20)
    sp.acknowledge("a", [(0, 0, (ACCEPT,))])
    cluster.clock.advance(LOCK)  # type: ignore[attr-defined]
    assert sp.start == 1
    assert states(sp) == {1: ("available", 1)}


def test_the_delivery_count_limit_archives_a_record_after_its_last_delivery() -> None:
    cluster = make(share_auto_offset_reset="earliest", share_delivery_count_limit=3)
    cluster.create_topic("t", 1)
    produce(cluster, "t", 3, per_batch=3)
    sp = share(cluster)
    deliveries = []
    for _ in range(3):
        got = sp.acquire("a", 100, 1 << 20)
        deliveries.append(got.ranges)
        cluster.clock.advance(LOCK)  # type: ignore[attr-defined]
    # Third (last) delivery of each record goes alone: a record that crashes its
    # consumer every time must not use up its neighbours' deliveries.
    assert deliveries[:2] == [[(0, 2, 1)], [(0, 2, 2)]]
    assert deliveries[2] == [(0, 0, 3)]
    assert sp.start == 1  # 0 was archived, and the start offset moved past it
    assert sp.acquire("a", 100, 1 << 20).ranges == [(1, 1, 3)]
    cluster.clock.advance(LOCK)  # type: ignore[attr-defined]
    assert sp.start == 2
    assert states(sp) == {2: ("available", 2)}


def test_reject_archives_for_good() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 2)
    sp = share(cluster)
    sp.acquire("a", 100, 1 << 20)
    sp.acknowledge("a", [(0, 0, (REJECT,)), (1, 1, (RELEASE,))])
    cluster.clock.advance(LOCK * 5)  # type: ignore[attr-defined]
    assert sp.acquire("b", 100, 1 << 20).ranges == [(1, 1, 2)]
    assert sp.start == 1


@pytest.mark.parametrize(
    ("member", "batches", "code", "message"),
    [
        (
            "b",
            [(0, 1, (ACCEPT,))],
            ErrorCode.INVALID_RECORD_STATE,
            "Member is not the owner of batch record",
        ),
        (
            "a",
            [(0, 3, (ACCEPT,))],
            ErrorCode.INVALID_REQUEST,
            "Batch record not found. The last offset in request is past acquired records.",
        ),
        (
            "a",
            [(0, 0, (ACCEPT,)), (2, 2, (ACCEPT,))],
            ErrorCode.INVALID_REQUEST,
            "Batch record not found. The first offset in request is past acquired records.",
        ),
    ],
)
def test_a_refused_acknowledgement_changes_nothing(
    member: str, batches: list, code: ErrorCode, message: str
) -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 3)
    sp = share(cluster)
    sp.acquire("a", 2, 1 << 20)  # 0 and 1; 2 is not delivered
    with pytest.raises(AckError) as err:
        sp.acknowledge(member, batches)
    assert (err.value.code, err.value.message) == (code, message)
    assert states(sp) == {0: ("acquired", 1), 1: ("acquired", 1)}


def test_acknowledging_a_record_twice_is_refused_and_changes_nothing() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 2)
    sp = share(cluster)
    sp.acquire("a", 100, 1 << 20)
    sp.acknowledge("a", [(1, 1, (ACCEPT,))])
    with pytest.raises(AckError) as err:
        sp.acknowledge("a", [(0, 1, (ACCEPT, RELEASE))])
    assert err.value.code == ErrorCode.INVALID_RECORD_STATE
    assert err.value.message == "The offset cannot be acknowledged. The offset is not acquired."
    assert states(sp) == {0: ("acquired", 1), 1: ("acknowledged", 1)}


def test_renew_extends_the_lock_unless_the_group_disables_it() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 1)
    sp = share(cluster)
    sp.acquire("a", 100, 1 << 20)
    cluster.clock.advance(LOCK - 5)  # type: ignore[attr-defined]
    sp.acknowledge("a", [(0, 0, (RENEW,))])
    cluster.clock.advance(10)  # type: ignore[attr-defined]
    assert states(sp)[0] == ("acquired", 1)  # renewed: 25 s left at the renewal
    cluster.clock.advance(LOCK)  # type: ignore[attr-defined]
    assert states(sp)[0] == ("available", 1)

    from streamtest.broker.services.group_configs import ConfigOp

    cluster.group_configs.alter(GROUP, [ConfigOp("share.renew.acknowledge.enable", 0, "false")])
    sp.acquire("a", 100, 1 << 20)
    with pytest.raises(AckError) as err:
        sp.acknowledge("a", [(0, 0, (RENEW,))])
    assert err.value.code == ErrorCode.INVALID_RECORD_STATE


def test_closing_a_session_releases_its_records_without_counting_the_delivery() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 3)
    sp = share(cluster)
    sp.acquire("a", 2, 1 << 20)
    sp.acquire("b", 2, 1 << 20)
    assert sp.release_member("a") == 2
    assert states(sp) == {0: ("available", 0), 1: ("available", 0), 2: ("acquired", 1)}


def test_record_locks_bound_the_records_in_flight() -> None:
    cluster = make(share_auto_offset_reset="earliest", share_partition_max_record_locks=100)
    cluster.create_topic("t", 1)
    produce(cluster, "t", 250)
    sp = share(cluster)
    assert sp.acquire("a", 500, 1 << 30).count == 100
    assert not sp.can_acquire()
    assert sp.acquire("b", 500, 1 << 30).count == 0
    sp.acknowledge("a", [(0, 39, (ACCEPT,))])
    assert offsets(sp.acquire("b", 500, 1 << 30)) == list(range(100, 140))


def test_whole_batches_are_acquired_unless_the_record_limit_mode_is_asked_for() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 20, per_batch=10)
    sp = share(cluster)
    assert sp.acquire("a", 3, 1 << 20).ranges == [(0, 9, 1)]
    assert sp.acquire("b", 3, 1 << 20, record_limit=True).ranges == [(10, 12, 1)]


def test_batch_size_splits_the_acquired_ranges_at_batch_boundaries() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 12, per_batch=3)
    sp = share(cluster)
    got = sp.acquire("a", 100, 1 << 20, batch_size=5)
    assert got.ranges == [(0, 5, 1), (6, 11, 1)]


def test_deleted_records_move_the_start_offset() -> None:
    cluster = make(share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 10)
    sp = share(cluster)
    sp.acquire("a", 4, 1 << 20)
    partition = cluster.topics.partition("t", 0)
    assert partition is not None
    cluster.replicas.delete_records_before(partition, 6)
    assert offsets(sp.acquire("b", 100, 1 << 20)) == [6, 7, 8, 9]
    assert sp.start == 6


def test_state_survives_a_restart_with_a_data_dir(tmp_path: Path) -> None:
    cluster = make(tmp_path, share_auto_offset_reset="earliest")
    cluster.create_topic("t", 1)
    produce(cluster, "t", 6)
    sp = share(cluster)
    sp.acquire("a", 100, 1 << 20)
    sp.acknowledge("a", [(0, 1, (ACCEPT,)), (2, 2, (REJECT,)), (3, 3, (RELEASE,))])
    assert cluster.storage is not None
    cluster.storage.close()

    again = Cluster(clock="manual", data_dir=tmp_path)
    sp2 = share(again)
    # Still acquired at the restart: 4 and 5 come back as never delivered.
    assert sp2.start == 3
    assert states(sp2) == {3: ("available", 1), 4: ("available", 0), 5: ("available", 0)}
    assert sp2.acquire("b", 100, 1 << 20).ranges == [(3, 3, 2), (4, 5, 1)]
    assert again.group_configs.value(GROUP, "share.auto.offset.reset") == "earliest"


def test_a_new_leader_loads_the_state_the_old_one_wrote() -> None:
    cluster = Cluster(brokers=2, clock="manual")
    from streamtest.broker.services.group_configs import ConfigOp

    cluster.group_configs.alter(GROUP, [ConfigOp("share.auto.offset.reset", 0, "earliest")])
    cluster.create_topic("t", 1, replication_factor=2)
    produce(cluster, "t", 4)
    partition = cluster.topics.partition("t", 0)
    assert partition is not None
    sp = share(cluster)
    sp.acquire("a", 100, 1 << 20)
    sp.acknowledge("a", [(0, 0, (ACCEPT,))])
    other = next(r for r in partition.replicas if r != partition.leader)
    cluster.control.move_leader("t", 0, other)
    assert cluster.shares.existing(GROUP, partition) is None  # dropped with the old leader
    moved = share(cluster)
    assert moved is not sp and sp.fenced
    assert moved.start == 1
    assert moved.acquire("b", 100, 1 << 20).ranges == [(1, 3, 1)]
