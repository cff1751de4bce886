"""Protocol-level helpers for the idempotence and transaction tests.

Each helper sends one request over a :class:`RawClient` and returns the decoded
kio response (or the part of it a test looks at), so tests read like the protocol
exchange they check.
"""

from __future__ import annotations

from typing import Any

from streamtest.protocol import codec
from streamtest.protocol.records import RecordInput, build_batch

from .rawclient import RawClient

READ_UNCOMMITTED, READ_COMMITTED = 0, 1


def req(key: int, version: int, **data: Any) -> Any:
    """Build a kio request entity of ``key``/``version`` from keyword fields."""
    return codec.build(codec.request_schema(key, version), data)


def batch(
    pid: int,
    epoch: int,
    seq: int,
    values: list[bytes] | None = None,
    transactional: bool = False,
    control: bool = False,
) -> bytes:
    """Encode a v2 record batch from producer ``pid``/``epoch`` starting at ``seq``."""
    records = [RecordInput(b"k", v) for v in (values or [b"v"])]
    return bytes(
        build_batch(
            records,
            producer_id=pid,
            producer_epoch=epoch,
            base_sequence=seq,
            transactional=transactional,
            control=control,
        )
    )


def produce(
    client: RawClient,
    topic: str,
    records: bytes,
    txn_id: str | None = None,
    partition: int = 0,
    version: int = 9,
) -> Any:
    """Produce one record set with acks=all; return the partition's response."""
    data = [{"name": topic, "partition_data": [{"index": partition, "records": records}]}]
    resp = client.call(
        req(0, version, transactional_id=txn_id, acks=-1, timeout=5000, topic_data=data)
    )
    return resp.responses[0].partition_responses[0]


def init_pid(
    client: RawClient,
    txn_id: str | None,
    timeout_ms: int = 60_000,
    version: int = 4,
    pid: int = -1,
    epoch: int = -1,
) -> Any:
    """Send InitProducerId; return the response."""
    return client.call(
        req(
            22,
            version,
            transactional_id=txn_id,
            transaction_timeout=timeout_ms,
            producer_id=pid,
            producer_epoch=epoch,
        )
    )


def add_partitions(
    client: RawClient,
    txn_id: str,
    pid: int,
    epoch: int,
    topic: str,
    partitions: list[int],
    version: int = 3,
) -> dict[int, int]:
    """Send AddPartitionsToTxn (v0-v3 form); return error code by partition."""
    resp = client.call(
        req(
            24,
            version,
            v3_and_below_transactional_id=txn_id,
            v3_and_below_producer_id=pid,
            v3_and_below_producer_epoch=epoch,
            v3_and_below_topics=[{"name": topic, "partitions": partitions}],
        )
    )
    return {
        r.partition_index: int(r.partition_error_code)
        for t in resp.results_by_topic_v3_and_below
        for r in t.results_by_partition
    }


def add_offsets(
    client: RawClient, txn_id: str, pid: int, epoch: int, group: str, version: int = 3
) -> int:
    """Send AddOffsetsToTxn; return its error code."""
    resp = client.call(
        req(
            25,
            version,
            transactional_id=txn_id,
            producer_id=pid,
            producer_epoch=epoch,
            group_id=group,
        )
    )
    return int(resp.error_code)


def txn_offset_commit(
    client: RawClient,
    txn_id: str,
    pid: int,
    epoch: int,
    group: str,
    topic: str,
    offsets: dict[int, int],
    version: int = 3,
) -> dict[int, int]:
    """Send TxnOffsetCommit; return error code by partition."""
    resp = client.call(
        req(
            28,
            version,
            transactional_id=txn_id,
            group_id=group,
            producer_id=pid,
            producer_epoch=epoch,
            generation_id=-1,
            member_id="",
            group_instance_id=None,
            topics=[
                {
                    "name": topic,
                    "partitions": [
                        {
                            "partition_index": p,
                            "committed_offset": o,
                            "committed_leader_epoch": -1,
                            "committed_metadata": "",
                        }
                        for p, o in offsets.items()
                    ],
                }
            ],
        )
    )
    return {p.partition_index: int(p.error_code) for t in resp.topics for p in t.partitions}


def end_txn(
    client: RawClient, txn_id: str, pid: int, epoch: int, commit: bool, version: int = 3
) -> int:
    """Send EndTxn; return its error code."""
    resp = client.call(
        req(
            26,
            version,
            transactional_id=txn_id,
            producer_id=pid,
            producer_epoch=epoch,
            committed=commit,
        )
    )
    return int(resp.error_code)


def fetch(
    client: RawClient, topic: str, offset: int = 0, isolation: int = READ_UNCOMMITTED
) -> Any:
    """Fetch (v11, no wait) one partition from ``offset``; return its PartitionData."""
    resp = client.call(
        req(
            1,
            11,
            replica_id=-1,
            max_wait=0,
            min_bytes=0,
            max_bytes=1 << 20,
            isolation_level=isolation,
            session_id=0,
            session_epoch=-1,
            topics=[
                {
                    "topic": topic,
                    "partitions": [
                        {
                            "partition": 0,
                            "current_leader_epoch": -1,
                            "fetch_offset": offset,
                            "log_start_offset": -1,
                            "partition_max_bytes": 1 << 20,
                        }
                    ],
                }
            ],
            forgotten_topics_data=[],
            rack_id="",
        )
    )
    return resp.responses[0].partitions[0]
