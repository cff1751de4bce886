"""log/index.py: Kafka's offset, time and transaction index formats and rules."""

from __future__ import annotations

import struct

import pytest

from streamtest.broker.log.errors import CorruptIndexError, InvalidOffsetError
from streamtest.broker.log.index import AbortedTxn, OffsetIndex, TimeIndex, TransactionIndex


def test_offset_index_lookup_and_file_format(fs):
    fs.makedirs("p")
    idx = OffsetIndex(fs, "p/x.index", 100, 80)
    assert idx.lookup(150) == (100, 0)
    for off, pos in [(104, 4096), (110, 8200), (120, 12300)]:
        idx.append(off, pos)
    assert idx.lookup(103) == (100, 0)
    assert idx.lookup(104) == (104, 4096)
    assert idx.lookup(115) == (110, 8200)
    assert idx.lookup(10**9) == (120, 12300)
    assert idx.floor_position(9000) == 8200
    idx.write_pending()
    # Kafka's layout: 4-byte relative offset, 4-byte position, big-endian.
    assert fs.read_bytes("p/x.index") == struct.pack(">iiiiii", 4, 4096, 10, 8200, 20, 12300)
    loaded = OffsetIndex.load(fs, "p/x.index", 100, 80, log_size=20000)
    assert loaded.lookup(111) == (110, 8200) and loaded.entries == 3


def test_offset_index_rules(fs):
    fs.makedirs("p")
    idx = OffsetIndex(fs, "p/x.index", 0, 16)  # two entries
    idx.append(5, 10)
    with pytest.raises(InvalidOffsetError):
        idx.append(5, 20)  # not above the last entry
    idx.append(9, 20)
    assert idx.is_full
    with pytest.raises(InvalidOffsetError):
        idx.append(12, 30)
    idx.write_pending()
    idx.truncate_to(9)
    assert idx.entries == 1 and fs.file_size("p/x.index") == 8
    assert not idx.is_full


def test_offset_index_sanity_checks(fs):
    fs.makedirs("p")
    fs.write_atomic("p/torn.index", b"\x00" * 12)
    with pytest.raises(CorruptIndexError, match="torn"):
        OffsetIndex.load(fs, "p/torn.index", 0, 1000, 100)
    fs.write_atomic("p/past.index", struct.pack(">ii", 1, 500))
    with pytest.raises(CorruptIndexError, match="past the end"):
        OffsetIndex.load(fs, "p/past.index", 0, 1000, 100)
    fs.write_atomic("p/order.index", struct.pack(">iiii", 5, 50, 3, 60))
    with pytest.raises(CorruptIndexError, match="order"):
        OffsetIndex.load(fs, "p/order.index", 0, 1000, 100)
    with pytest.raises(CorruptIndexError, match="missing"):
        OffsetIndex.load(fs, "p/none.index", 0, 1000, 100)


def test_time_index_keeps_only_growing_timestamps(fs):
    fs.makedirs("p")
    ti = TimeIndex(fs, "p/x.timeindex", 10, 120)
    ti.maybe_append(1000, 12)
    ti.maybe_append(900, 13)  # not larger: ignored
    ti.maybe_append(1000, 14)  # not larger: ignored
    ti.maybe_append(2000, 20)
    assert ti.entries == 2 and ti.last_entry == (2000, 20)
    assert ti.lookup(999) == (-1, 10)
    assert ti.lookup(1500) == (1000, 12)
    assert ti.lookup(5000) == (2000, 20)
    ti.write_pending()
    assert fs.read_bytes("p/x.timeindex") == struct.pack(">qiqi", 1000, 2, 2000, 10)
    lazy = TimeIndex.open_lazily(fs, "p/x.timeindex", 10, 120)
    assert lazy.last_entry == (2000, 20) and lazy.entries == 2
    assert lazy.lookup(1999) == (1000, 12)
    ti.truncate_to(20)
    assert ti.last_entry == (1000, 12)


def test_time_index_full_leaves_room_for_the_sealing_entry(fs):
    fs.makedirs("p")
    ti = TimeIndex(fs, "p/x.timeindex", 0, 36)  # 3 slots
    ti.maybe_append(1, 1)
    ti.maybe_append(2, 2)
    assert ti.is_full
    with pytest.raises(InvalidOffsetError):
        ti.maybe_append(3, 3)
    ti.maybe_append(3, 3, skip_full_check=True)
    assert ti.entries == 3


def test_transaction_index(fs):
    fs.makedirs("p")
    tx = TransactionIndex(fs, "p/x.txnindex")
    assert not fs.exists("p/x.txnindex")  # created with its first entry
    tx.append(AbortedTxn(7, 10, 20, 10))
    tx.append(AbortedTxn(8, 15, 30, 21))
    tx.append(AbortedTxn(9, 40, 50, 60))
    with pytest.raises(InvalidOffsetError):
        tx.append(AbortedTxn(1, 1, 45, 1))
    assert fs.file_size("p/x.txnindex") == 3 * 34
    assert TransactionIndex.load(fs, "p/x.txnindex").entries == tx.entries
    found, complete = tx.collect(18, 35)
    # The third entry does not overlap, but its LSO (60) proves no later one can.
    assert [t.producer_id for t in found] == [7, 8] and complete
    found, complete = tx.collect(0, 70)
    assert [t.producer_id for t in found] == [7, 8, 9] and not complete
    tx.truncate_to(30)
    assert [t.producer_id for t in tx.entries] == [7]
    assert TransactionIndex.load(fs, "p/x.txnindex").entries == tx.entries
    fs.write_atomic("p/bad.txnindex", b"\x00" * 33)
    with pytest.raises(CorruptIndexError):
        TransactionIndex.load(fs, "p/bad.txnindex")
