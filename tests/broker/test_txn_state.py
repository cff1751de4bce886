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


def test_metadata_round_trips_through_json():
    meta = TransactionMetadata(
        "t", 1000, producer_epoch=3, last_producer_epoch=2, timeout_ms=5000,
        state=S.ONGOING, partitions={("a", 0), ("b", 2)}, groups={"g"},
        pending_offsets={"g": {("a", 0): (17, 4, "md")}}, start_ms=10, last_update_ms=20,
    )
    assert TransactionMetadata.from_json("t", meta.to_json()) == meta


def test_epoch_exhaustion_leaves_room_for_one_fencing_bump():
    assert not is_epoch_exhausted(2**15 - 3)
    assert is_epoch_exhausted(2**15 - 2)
