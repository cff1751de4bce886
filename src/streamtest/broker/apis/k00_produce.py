"""Produce (key 0), versions 3-11 (v3 is the first with RecordBatch v2 only).

Hand-decoded (``protocol.produce``): record batches stay zero-copy views into the
request frame; only the base offset is rewritten in place (it lies outside the
CRC), and, for LogAppendTime topics, the timestamp and CRC (KIP-32).

* acks=0 gets no response at all; acks=1 and acks=-1 (all) are answered once the
  batch is in the log (and written to the data directory, if any): with a single
  replica the two are the same.
* As Kafka: CORRUPT_MESSAGE for a CRC mismatch; INVALID_RECORD for a truncated
  batch, a magic other than 2 or no batch at all; MESSAGE_TOO_LARGE when a batch
  exceeds the topic's ``max.message.bytes``; UNKNOWN_TOPIC_OR_PARTITION for a
  missing topic (Produce never auto-creates); INVALID_REQUIRED_ACKS for acks other
  than -1, 0 and 1. A failed partition reports log_start_offset -1.
* Idempotent and transactional batches are checked by ``state.producers``
  (sequences, epochs; a duplicate gets its original offset). A transactional batch
  must belong to the producer's ongoing transaction and its partition must have
  been added to it (``txn.coordinator.verify_produce``; INVALID_TXN_STATE or
  INVALID_PRODUCER_EPOCH otherwise); its first offset holds back the partition's
  last stable offset until the COMMIT or ABORT marker (KIP-98).
* INVALID_RECORD for a control batch: only the coordinator writes markers.
Left out: quotas (throttle_time_ms is always 0), v12+ (KIP-890 part 2).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ...protocol.errors import ErrorCode
from ...protocol.exceptions import CorruptRecordBatch, InvalidRecordBatch
from ...protocol.produce import (
    PartitionResult,
    decode_produce_request,
    encode_produce_response,
)
from ...protocol.records import set_base_offset, set_log_append_time, split_batches
from ..dispatch import NO_RESPONSE, RequestContext, api
from ..state.cluster import ClusterState, Topic, now_ms


@api(0, "Produce", 3, 11, raw=True)
def handle_produce(ctx: RequestContext, raw: tuple[bytearray, int]) -> Any:
    """Append each partition's batches to its log; answer per partition."""
    frame, offset = raw
    request = decode_produce_request(frame, offset, ctx.version)
    state = ctx.broker.state
    results: list[tuple[str, list[PartitionResult]]] = []
    if request.acks not in (-1, 0, 1):
        # Kafka rejects the whole request, every partition alike, appending nothing.
        for topic_data in request.topics:
            parts = [
                PartitionResult(p.index, error_code=ErrorCode.INVALID_REQUIRED_ACKS)
                for p in topic_data.partitions
            ]
            results.append((topic_data.name, parts))
        return encode_produce_response(ctx.version, results)
    for topic_data in request.topics:
        topic = state.topics.get(topic_data.name)
        parts = []
        for p in topic_data.partitions:
            parts.append(
                _produce_partition(ctx, state, topic, p.index, p.records, request.transactional_id)
            )
        results.append((topic_data.name, parts))
    if request.acks == 0:
        return NO_RESPONSE
    return encode_produce_response(ctx.version, results)


def _produce_partition(
    ctx: RequestContext,
    state: ClusterState,
    topic: Topic | None,
    index: int,
    records: memoryview | None,
    transactional_id: str | None,
) -> PartitionResult:
    result = PartitionResult(index)
    if topic is None or not 0 <= index < len(topic.partitions):
        result.error_code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return result
    log = topic.partitions[index]
    if records is None or len(records) == 0:
        result.error_code = ErrorCode.INVALID_RECORD
        result.error_message = "Produce request has no record batch"
        return result
    try:
        batches = split_batches(records)
    except InvalidRecordBatch as exc:
        result.error_code = ErrorCode.INVALID_RECORD
        result.error_message = str(exc)
        return result
    except CorruptRecordBatch as exc:  # the CRC
        result.error_code = ErrorCode.CORRUPT_MESSAGE
        result.error_message = str(exc)
        return result
    limit = topic.max_message_bytes
    for _header, batch in batches:
        if len(batch) > limit:
            result.error_code = ErrorCode.MESSAGE_TOO_LARGE
            result.error_message = f"batch of {len(batch)} bytes exceeds max.message.bytes={limit}"
            return result
    producers = ctx.broker.producers
    first_offset = -1
    append_time = now_ms() if topic.log_append_time else -1
    for header, batch in batches:
        if header.is_control:
            # Only the transaction coordinator writes markers (Kafka's LogValidator).
            result.error_code = ErrorCode.INVALID_RECORD
            result.error_message = "clients may not write control batches"
            return result
        if header.producer_id >= 0:
            if header.is_transactional:
                code, message = ctx.broker.transactions.verify_produce(
                    transactional_id, header, log
                )
                if code:
                    result.error_code, result.error_message = code, message
                    return result
            check = producers.check_append(log, header, transactional_id)
            if check.error_code:
                result.error_code = check.error_code
                result.error_message = check.message
                # Kafka's log rejected it (not the request's validation): such
                # errors carry the log start offset, the others -1.
                result.log_start_offset = log.log_start_offset
                return result
            if check.duplicate_of is not None:
                # A retried batch: answer with the offset it got the first time and,
                # as Kafka does, its max timestamp as the append time.
                first_offset = check.duplicate_of if first_offset < 0 else first_offset
                if append_time < 0:
                    result.log_append_time_ms = header.max_timestamp
                continue
        base = log.log_end_offset
        set_base_offset(batch, base)
        if append_time >= 0:
            set_log_append_time(batch, append_time)
        # Keep the in-memory header in step with the bytes: the new base offset and,
        # for LogAppendTime, the stamped max timestamp (the time index uses it).
        header = dataclasses.replace(
            header,
            base_offset=base,
            max_timestamp=append_time if append_time >= 0 else header.max_timestamp,
        )
        log.append(batch, header)
        state.persist_append(log, batch)
        if header.producer_id >= 0:
            producers.record_append(log, header, transactional_id)
        if first_offset < 0:
            first_offset = base
    log.wake_waiters()
    result.base_offset = first_offset
    result.log_start_offset = log.log_start_offset
    if append_time >= 0 or result.log_append_time_ms < 0:
        result.log_append_time_ms = append_time
    return result
