"""Control records (transaction markers), tested with bytes alone."""

from __future__ import annotations

import pytest

from streamtest.protocol.control import (
    ControlRecordType,
    build_marker_batch,
    decode_marker,
    encode_marker_key,
    encode_marker_value,
)
from streamtest.protocol.records import (
    RecordInput,
    build_batch,
    iter_records,
    parse_header,
    split_batches,
)


@pytest.mark.parametrize("committed", [True, False])
def test_a_marker_batch_has_the_protocol_guide_layout(committed):
    raw = build_marker_batch(
        committed=committed,
        producer_id=1234,
        producer_epoch=7,
        base_offset=42,
        timestamp_ms=1_700_000_000_000,
        coordinator_epoch=3,
    )
    ((header, _view),) = split_batches(memoryview(raw))  # the CRC is valid
    assert header.is_control and header.is_transactional
    assert (header.base_offset, header.producer_id, header.producer_epoch) == (42, 1234, 7)
    assert header.base_sequence == -1 and header.records_count == 1
    (record,) = iter_records(raw)
    kind = ControlRecordType.COMMIT if committed else ControlRecordType.ABORT
    # key: version INT16 0, type INT16; value: version INT16 0, coordinator_epoch INT32
    assert record.key == b"\x00\x00\x00" + bytes([int(kind)])
    assert record.value == b"\x00\x00\x00\x00\x00\x03"
    marker = decode_marker(raw)
    assert marker is not None and marker.committed is committed
    assert marker.coordinator_epoch == 3


def test_decode_marker_ignores_data_batches_and_unknown_control_types():
    assert decode_marker(build_batch([RecordInput(b"k", b"v")])) is None
    unknown = build_batch(
        [RecordInput(b"\x00\x00\x00\x05", encode_marker_value(0))], control=True
    )
    assert decode_marker(unknown) is None
    assert encode_marker_key(ControlRecordType.ABORT) == b"\x00\x00\x00\x00"
    assert parse_header(unknown).is_control
