"""The transaction state machine is data: Kafka's legal transitions, nothing else."""

from __future__ import annotations

import pytest

from streamtest.broker.txn.state import (
    VALID_PREVIOUS,
    IllegalTransition,
    TransactionMetadata,
    TxnState,
    is_epoch_exhausted,
)

S = TxnState


def test_every_state_has_its_kafka_predecessors():
    assert VALID_PREVIOUS[S.PREPARE_COMMIT] == {S.ONGOING}
    assert VALID_PREVIOUS[S.PREPARE_ABORT] == {S.ONGOING, S.PREPARE_EPOCH_FENCE}
    assert VALID_PREVIOUS[S.COMPLETE_COMMIT] == {S.PREPARE_COMMIT}
    assert set(VALID_PREVIOUS) == set(TxnState)


@pytest.mark.parametrize(
    ("start", "target"),
    [(S.EMPTY, S.PREPARE_COMMIT), (S.COMPLETE_COMMIT, S.COMPLETE_ABORT), (S.ONGOING, S.EMPTY)],
)
def test_an_illegal_transition_raises(start, target):
    meta = TransactionMetadata("t", 1, state=start)
    with pytest.raises(IllegalTransition):
        meta.transition_to(target, 0)
    assert meta.state is start


def _ongoing() -> TransactionMetadata:
    return TransactionMetadata(
        "t", 1000, producer_epoch=3, last_producer_epoch=2, timeout_ms=5000,
        state=S.ONGOING, partitions={("a", 0), ("b", 2)}, groups={"g"},
        pending_offsets={"g": {("a", 0): (17, 4, "md")}}, start_ms=10, last_update_ms=20,
    )


def test_staged_offsets_round_trip_through_their_journal_document():
    meta = _ongoing()
    restored = TransactionMetadata("t", 1000, producer_epoch=3, state=S.ONGOING)
    assert restored.restore_staged_offsets(meta.staged_offsets_json())
    assert (restored.groups, restored.pending_offsets) == (meta.groups, meta.pending_offsets)


def test_staged_offsets_of_another_producer_epoch_are_not_taken():
    stale = _ongoing().staged_offsets_json()
    newer = TransactionMetadata("t", 1000, producer_epoch=4, state=S.ONGOING)
    assert not newer.restore_staged_offsets(stale)
    assert (newer.groups, newer.pending_offsets) == (set(), {})


def test_restore_undoes_every_change_since_the_copy():
    meta = _ongoing()
    snapshot = meta.copy()
    meta.partitions.add(("c", 1))
    meta.pending_offsets["g"][("a", 0)] = (99, 0, None)
    meta.transition_to(S.PREPARE_COMMIT, 30)
    assert snapshot == _ongoing()  # the copy shares nothing with the original
    meta.restore(snapshot)
    assert meta == _ongoing()


def test_epoch_exhaustion_leaves_room_for_one_fencing_bump():
    assert not is_epoch_exhausted(2**15 - 3)
    assert is_epoch_exhausted(2**15 - 2)
