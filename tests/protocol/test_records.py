"""RecordBatch v2: header parsing, CRC32C, offset rewrite, compression round trips."""

from __future__ import annotations

import pytest

from streamtest.protocol.exceptions import CorruptRecordBatch
from streamtest.protocol.records import (
    Compression,
    RecordInput,
    build_batch,
    iter_records,
    parse_header,
    set_base_offset,
    set_log_append_time,
    split_batches,
)


def _records(n: int = 3) -> list[RecordInput]:
    return [
        RecordInput(
            f"k{i}".encode(), f"value-{i}".encode() * 5, [("h", b"x"), ("n", None)], 1000 + i
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("codec", list(Compression))
def test_batches_round_trip_with_every_codec(codec):
    batch = build_batch(_records(), base_offset=40, compression=codec)
    header = parse_header(batch)
    assert header.compression == codec
    assert header.records_count == 3 and header.last_offset == 42
    got = list(iter_records(batch))
    assert [(r.offset, r.key, r.timestamp) for r in got] == [
        (40, b"k0", 1000),
        (41, b"k1", 1001),
        (42, b"k2", 1002),
    ]
    assert got[0].headers == (("h", b"x"), ("n", None))


def test_null_key_and_value_survive():
    batch = build_batch([RecordInput(None, None)])
    (rec,) = iter_records(batch)
    assert rec.key is None and rec.value is None


def test_split_checks_crc_and_returns_zero_copy_views():
    data = bytearray(build_batch(_records()) + build_batch(_records(1)))
    batches = split_batches(memoryview(data))
    assert len(batches) == 2
    view = batches[1][1]
    set_base_offset(view, 99)  # writes through to the underlying buffer
    assert parse_header(data, len(batches[0][1])).base_offset == 99
    # The base offset is outside the CRC: the batch still validates.
    split_batches(memoryview(data))


def test_crc_mismatch_is_corrupt():
    data = bytearray(build_batch(_records()))
    data[-1] ^= 0xFF
    with pytest.raises(CorruptRecordBatch, match="CRC"):
        split_batches(memoryview(data))


@pytest.mark.parametrize("cut", [10, 60, 80])
def test_truncated_batch_is_corrupt(cut):
    data = bytearray(build_batch(_records()))[:cut]
    with pytest.raises(CorruptRecordBatch):
        split_batches(memoryview(data))


def test_bad_magic_is_corrupt():
    data = bytearray(build_batch(_records()))
    data[16] = 1
    with pytest.raises(CorruptRecordBatch, match="magic"):
        split_batches(memoryview(data))


def test_log_append_time_rewrites_timestamp_and_crc():
    data = bytearray(build_batch(_records()))
    set_log_append_time(data, 5555)
    header = split_batches(memoryview(data))[0][0]  # CRC still valid
    assert header.log_append_time and header.max_timestamp == 5555
    assert {r.timestamp for r in iter_records(data)} == {5555}
