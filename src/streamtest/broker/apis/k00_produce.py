"""Produce (key 0), versions 3-11 (v3 is the first with RecordBatch v2 only).

Hand-decoded (``protocol.produce``): record batches stay zero-copy views into the
request frame; only the base offset is rewritten in place (it lies outside the
CRC), and, for LogAppendTime topics, the timestamp and CRC (KIP-32).

* acks=0 gets no response at all; acks=1 is answered once the batch is in the
  leader's log (and written to the data directory, if any); acks=-1 (all) once
  the high watermark passes it: every in-sync replica has it. With fewer in-sync
  replicas than the topic's ``min.insync.replicas`` it is refused before the
  append (NOT_ENOUGH_REPLICAS), or answered NOT_ENOUGH_REPLICAS_AFTER_APPEND if
  the ISR shrank while it waited; REQUEST_TIMED_OUT after the request's timeout.
* NOT_LEADER_OR_FOLLOWER when this node does not lead the partition, naming the
  current leader and its endpoint from v10 (KIP-951), so the client fails over
  without a metadata round trip.
* KAFKA_STORAGE_ERROR when storage refuses the batch: nothing of it is visible.
* As Kafka: CORRUPT_MESSAGE for a CRC mismatch; INVALID_RECORD for a truncated
  batch, a magic other than 2, no batch at all or more than one (from v3 a
  partition's records are exactly one batch); MESSAGE_TOO_LARGE when a batch
  exceeds the topic's ``max.message.bytes``; UNKNOWN_TOPIC_OR_PARTITION for a
  missing topic (Produce never auto-creates); INVALID_REQUIRED_ACKS for acks other
  than -1, 0 and 1. A failed partition reports log_start_offset -1.
* Idempotent and transactional batches are checked by ``producers.py``
  (sequences, epochs; a duplicate gets its original offset). A transactional batch
  must belong to the producer's ongoing transaction and its partition must have
  been added to it (``txn.coordinator.verify_produce``; INVALID_TXN_STATE or
  INVALID_PRODUCER_EPOCH otherwise); its first offset holds back the partition's
  last stable offset until the COMMIT or ABORT marker (KIP-98).
* INVALID_RECORD for a control batch: only the coordinator writes markers.
* ``producer_byte_rate`` quotas: the request's size is recorded for the client on
  this node (``node.quotas``); over the quota, the response carries
  throttle_time_ms and the connection is muted for it (KIP-219; acks=0 is muted
  too, unanswered; before v6 the response itself is held back).
Left out: v12+ (KIP-890 part 2).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from ...protocol.errors import ErrorCode
from ...protocol.exceptions import CorruptRecordBatch, InvalidRecordBatch
from ...protocol.produce import (
    PartitionResult,
    decode_produce_request,
    encode_produce_response,
)
from ...protocol.records import (
    iter_records,
    set_base_offset,
    set_log_append_time,
    split_batches,
)
from .. import producers
from ..dispatch import NO_RESPONSE, RequestContext, api
from ..services.partitions import leader_partition
from ..topics import Partition

log = logging.getLogger("streamtest.broker")


@api(0, "Produce", 3, 11, raw=True)
def handle_produce(ctx: RequestContext, raw: tuple[bytearray, int]) -> Any:
    """Append each partition's batches to its leader; answer per partition, at once
    or (acks=all) once every in-sync replica has them."""
    frame, offset = raw
    request = decode_produce_request(frame, offset, ctx.version)
    results: list[tuple[str, list[PartitionResult]]] = []
    pending: list[tuple[PartitionResult, Partition, int, int]] = []
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
        parts = []
        for p in topic_data.partitions:
            result, partition, end = _produce_partition(
                ctx, topic_data.name, p.index, p.records, request.transactional_id, request.acks
            )
            parts.append(result)
            if request.acks == -1 and partition is not None and end >= 0 and not result.error_code:
                pending.append((result, partition, end, partition.leader_epoch))
        results.append((topic_data.name, parts))
    produce_quota = ctx.node.quotas.produce
    if produce_quota.enabled:
        # Kafka records the whole request's size against producer_byte_rate.
        ctx.throttle(
            "produce", produce_quota.record(ctx.principal, ctx.header.client_id, len(frame))
        )
    if request.acks == 0:
        return NO_RESPONSE
    waiting = []
    for item in pending:
        result, partition, end, _epoch = item
        if partition.high_watermark >= end:
            if len(partition.isr) < partition.min_insync_replicas():
                result.error_code = ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
                result.base_offset = -1
        else:
            waiting.append(item)
    if not waiting:
        return _encode(ctx, results)
    return _await_acks(ctx, results, waiting, request.timeout_ms / 1000)


async def _await_acks(
    ctx: RequestContext,
    results: list[tuple[str, list[PartitionResult]]],
    waiting: list[tuple[PartitionResult, Partition, int, int]],
    timeout: float,
) -> Any:
    replicas = ctx.cluster.replicas
    codes = await asyncio.gather(
        *(replicas.wait_for_acks(p, end, epoch, timeout) for _r, p, end, epoch in waiting)
    )
    for (result, partition, _end, _epoch), code in zip(waiting, codes, strict=True):
        if code:
            result.error_code = code
            result.base_offset = -1
            if code == ErrorCode.NOT_LEADER_OR_FOLLOWER:
                result.current_leader = (partition.leader, partition.leader_epoch)
    return _encode(ctx, results)


def _encode(ctx: RequestContext, results: list[tuple[str, list[PartitionResult]]]) -> bytes:
    leaders = {
        p.current_leader[0]
        for _name, parts in results
        for p in parts
        if p.current_leader is not None and p.current_leader[0] >= 0
    }
    endpoints = [
        (n.node_id, n.advertised_host, n.port, n.rack)
        for n in (ctx.cluster.nodes.get(i) for i in sorted(leaders))
        if n is not None
    ]
    return encode_produce_response(
        ctx.version, results, ctx.throttle_time_ms, node_endpoints=endpoints
    )


def _produce_partition(
    ctx: RequestContext,
    topic_name: str,
    index: int,
    records: memoryview | None,
    transactional_id: str | None,
    acks: int,
) -> tuple[PartitionResult, Partition | None, int]:
    """Append one partition's batches; return its result, the partition, and the
    offset the high watermark must pass for acks=all (-1 if nothing to wait for)."""
    result = PartitionResult(index)
    cluster = ctx.cluster
    injected = ctx.fault(topic_name, index)
    if injected:
        result.error_code = injected
        return result, None, -1
    partition, code = leader_partition(cluster.topics, ctx.node.node_id, topic_name, index)
    if partition is None or code:
        result.error_code = code
        if partition is not None:
            result.current_leader = (partition.leader, partition.leader_epoch)
        return result, None, -1
    topic = cluster.topics.get(topic_name)
    assert topic is not None
    if acks == -1 and len(partition.isr) < partition.min_insync_replicas():
        # Kafka refuses before appending anything (appendRecordsToLeader).
        result.error_code = ErrorCode.NOT_ENOUGH_REPLICAS
        result.error_message = (
            f"The size of the current ISR {partition.isr} is insufficient to satisfy the "
            f"min.isr requirement of {partition.min_insync_replicas()} for partition "
            f"{topic_name}-{index}"
        )
        return result, None, -1
    if records is None or len(records) == 0:
        result.error_code = ErrorCode.INVALID_RECORD
        result.error_message = "Produce request has no record batch"
        return result, None, -1
    try:
        batches = split_batches(records)
    except InvalidRecordBatch as exc:
        result.error_code = ErrorCode.INVALID_RECORD
        result.error_message = str(exc)
        return result, None, -1
    except CorruptRecordBatch as exc:  # the CRC
        result.error_code = ErrorCode.CORRUPT_MESSAGE
        result.error_message = str(exc)
        return result, None, -1
    if len(batches) != 1:
        # ProduceRequest.validateRecords: from v3 a partition's records are exactly
        # one batch. Kafka answers without a message (PartitionResponse(Errors)).
        result.error_code = ErrorCode.INVALID_RECORD
        return result, None, -1
    limit = topic.max_message_bytes
    for _header, batch in batches:
        if len(batch) > limit:
            result.error_code = ErrorCode.MESSAGE_TOO_LARGE
            result.error_message = f"batch of {len(batch)} bytes exceeds max.message.bytes={limit}"
            return result, None, -1
    first_offset = -1
    end = -1
    end_before = partition.log_end_offset
    now = cluster.clock.now_ms()
    append_time = now if topic.log_append_time else -1
    compacted = topic.compacted
    for header, batch in batches:
        if header.is_control:
            # Only the transaction coordinator writes markers (Kafka's LogValidator).
            result.error_code = ErrorCode.INVALID_RECORD
            result.error_message = "clients may not write control batches"
            return result, None, -1
        if compacted and _has_keyless_record(batch):
            # Kafka's LogValidator: a compacted log keeps the last record per key,
            # so a record without one is refused (the whole batch, nothing appended).
            result.error_code = ErrorCode.INVALID_RECORD
            result.error_message = (
                f"Compacted topic cannot accept message without key in topic partition "
                f"{topic_name}-{index}."
            )
            return result, None, -1
        if header.producer_id >= 0:
            if header.is_transactional:
                code, message = cluster.transactions.verify_produce(
                    transactional_id, header, partition
                )
                if code:
                    result.error_code, result.error_message = code, message
                    return result, None, -1
            check = producers.check_append(partition, header)
            if check.error_code:
                result.error_code = check.error_code
                result.error_message = check.message
                # Kafka's log rejected it (not the request's validation): such
                # errors carry the log start offset, the others -1.
                result.log_start_offset = partition.log_start_offset
                return result, None, -1
            if check.duplicate_of is not None:
                # A retried batch: answer with the offset it got the first time and,
                # as Kafka does, its max timestamp as the append time.
                first_offset = check.duplicate_of if first_offset < 0 else first_offset
                end = max(end, check.duplicate_of + header.last_offset_delta + 1)
                if append_time < 0:
                    result.log_append_time_ms = header.max_timestamp
                continue
        base = partition.log_end_offset
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
        try:
            # The batch is a view of this request's frame, which nothing touches
            # again: in-memory logs may keep it rather than a copy.
            cluster.replicas.append_to_leader(partition, batch, header, owned=True)
        except OSError as exc:
            # Write first, then publish: nothing of this batch is visible.
            log.error("storage refused a batch for %s-%d: %s", topic_name, index, exc)
            result.error_code = ErrorCode.KAFKA_STORAGE_ERROR
            result.error_message = f"storage error: {exc.strerror or exc}"
            return result, None, -1
        if first_offset < 0:
            first_offset = base
        end = max(end, header.base_offset + header.last_offset_delta + 1)
    if cluster.metrics is not None:
        cluster.metrics.produced(topic_name, partition.log_end_offset - end_before, len(records))
    result.base_offset = first_offset
    result.log_start_offset = partition.log_start_offset
    if append_time >= 0 or result.log_append_time_ms < 0:
        result.log_append_time_ms = append_time
    return result, partition, end


def _has_keyless_record(batch: memoryview) -> bool:
    """Return whether any record of ``batch`` has a null key."""
    return any(record.key is None for record in iter_records(batch))
