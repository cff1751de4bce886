"""log/epoch.py: the leader epoch cache with Kafka's OffsetForLeaderEpoch answers
(the cases of Kafka's LeaderEpochFileCacheTest)."""

from __future__ import annotations

import pytest

from streamtest.broker.log.epoch import UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, LeaderEpochCache


def cache_with(*entries: tuple[int, int]) -> LeaderEpochCache:
    cache = LeaderEpochCache()
    for epoch, offset in entries:
        cache.assign(epoch, offset)
    return cache


def test_assign_ignores_the_same_epoch_at_a_later_offset():
    cache = cache_with((2, 6), (2, 10))
    assert cache.entries() == [(2, 6)]
    cache.assign(2, 4)  # earlier start of the latest epoch: replaces it
    assert cache.entries() == [(2, 4)]


def test_assign_truncates_conflicting_entries():
    cache = cache_with((2, 6), (3, 8), (4, 11))
    cache.assign(3, 9)  # an older epoch again: later ones are stale
    assert cache.entries() == [(2, 6), (3, 9)]
    cache.assign(5, 7)  # a start offset at or below later entries drops them
    assert cache.entries() == [(2, 6), (5, 7)]
    with pytest.raises(ValueError):
        cache.assign(-1, 3)


def test_end_offset_for():
    cache = cache_with((2, 6), (3, 8), (5, 11))
    assert cache.end_offset_for(5, log_end_offset=20) == (5, 20)  # the latest epoch
    assert cache.end_offset_for(2, 20) == (2, 8)
    assert cache.end_offset_for(3, 20) == (3, 11)
    assert cache.end_offset_for(4, 20) == (3, 11)  # unknown, between: floor epoch
    assert cache.end_offset_for(1, 20) == (1, 6)  # below the first
    assert cache.end_offset_for(6, 20) == (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
    assert cache.end_offset_for(UNDEFINED_EPOCH, 20) == (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
    assert LeaderEpochCache().end_offset_for(0, 5) == (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
    assert cache.epoch_for_offset(9) == 3 and cache.epoch_for_offset(5) is None


def test_truncate_from_end_and_start():
    cache = cache_with((2, 6), (3, 8), (4, 11))
    cache.truncate_from_end(9)
    assert cache.entries() == [(2, 6), (3, 8)]
    cache.truncate_from_end(8)
    assert cache.entries() == [(2, 6)]
    cache = cache_with((2, 6), (3, 8), (4, 11))
    cache.truncate_from_start(9)
    assert cache.entries() == [(3, 9), (4, 11)]
    cache.truncate_from_start(11)
    assert cache.entries() == [(4, 11)]
    cache.truncate_from_start(3)
    assert cache.entries() == [(4, 11)]


def test_cache_persists_every_change(fs):
    fs.makedirs("t-0")
    path = "t-0/leader-epoch-checkpoint"
    cache = LeaderEpochCache.load(fs, path)
    cache.assign(0, 0)
    cache.assign(1, 10)
    assert LeaderEpochCache.load(fs, path).entries() == [(0, 0), (1, 10)]
    cache.truncate_from_end(10)
    assert LeaderEpochCache.load(fs, path).entries() == [(0, 0)]
    cache.clear()
    assert LeaderEpochCache.load(fs, path).entries() == []
    fs.write_atomic(path, b"garbage")
    assert LeaderEpochCache.load(fs, path).entries() == []  # corrupt: logged, rebuilt
