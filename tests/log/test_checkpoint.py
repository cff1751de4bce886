"""log/checkpoint.py: Kafka's checkpoint text format, exactly."""

from __future__ import annotations

import pytest

from streamtest.broker.log.checkpoint import LeaderEpochCheckpointFile, OffsetCheckpointFile
from streamtest.broker.log.errors import CorruptCheckpointError


def test_offset_checkpoint_round_trip_and_format(fs):
    cp = OffsetCheckpointFile(fs, "recovery-point-offset-checkpoint")
    assert cp.read() == {}
    cp.write({("orders", 1): 99, ("orders", 0): 1234})
    expected = b"0\n2\norders 0 1234\norders 1 99\n"
    assert fs.read_bytes("recovery-point-offset-checkpoint") == expected
    assert cp.read() == {("orders", 0): 1234, ("orders", 1): 99}


def test_leader_epoch_checkpoint(fs):
    fs.makedirs("t-0")
    cp = LeaderEpochCheckpointFile(fs, "t-0/leader-epoch-checkpoint")
    cp.write([(0, 0), (3, 120)])
    assert fs.read_bytes("t-0/leader-epoch-checkpoint") == b"0\n2\n0 0\n3 120\n"
    assert cp.read() == [(0, 0), (3, 120)]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"1\n0\n", "version"),
        (b"0\n2\nt 0 1\n", "expected 2 entries"),
        (b"0\n1\nt 0\n", "malformed line"),
        (b"0\n1\nt x 1\n", "malformed line"),
        (b"0\n", "truncated"),
        (b"0\nz\n", "entry count"),
    ],
)
def test_corrupt_checkpoints_are_named(fs, content, match):
    fs.write_atomic("cp", content)
    with pytest.raises(CorruptCheckpointError, match=match) as exc:
        OffsetCheckpointFile(fs, "cp").read()
    assert "cp" in str(exc.value)
