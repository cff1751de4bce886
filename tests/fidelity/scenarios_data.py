"""Scenarios for the data path: ApiVersions, Metadata, Produce, Fetch, ListOffsets,
DeleteRecords. Each ``@scenario`` with ``versions`` runs once per version; the
ranges are the ones streamtest advertises (see ``broker/apis/kNN_*.py``)."""

from __future__ import annotations

from typing import Any

from streamtest.protocol.records import Compression, RecordInput, build_batch

from .harness import Side, scenario

#: A fixed CreateTime for every record, so both brokers store the same bytes.
TS = 1_700_000_000_000


def batch(
    *values: bytes | None,
    key: bytes | None = b"k",
    compression: Compression = Compression.NONE,
    headers: tuple[tuple[str, bytes | None], ...] = (),
    **kwargs: Any,
) -> bytes:
    """Return one record batch holding ``values`` (with ``key`` and ``headers``)."""
    records = [RecordInput(key, v, headers, TS + i) for i, v in enumerate(values)]
    return bytes(build_batch(records, compression=compression, **kwargs))


def produce_request(
    topic: str,
    records: bytes,
    partition: int = 0,
    acks: int = -1,
    transactional_id: str | None = None,
) -> dict:
    return {
        "transactional_id": transactional_id,
        "acks": acks,
        "timeout": 30000,
        "topic_data": [
            {"name": topic, "partition_data": [{"index": partition, "records": records}]}
        ],
    }


def fetch_request(
    topic_name: str,
    topic_id: Any,
    partitions: list[tuple[int, int]],
    *,
    isolation_level: int = 0,
    max_bytes: int = 1 << 20,
    partition_max_bytes: int = 1 << 20,
) -> dict:
    """A Fetch for ``(partition, offset)`` pairs, valid at every version (the
    version's own fields are kept: ``topic`` up to v12, ``topic_id`` from v13)."""
    return {
        "cluster_id": None,
        "replica_id": -1,
        "replica_state": {"replica_id": -1, "replica_epoch": -1},
        "max_wait": 0,
        "min_bytes": 0,
        "max_bytes": max_bytes,
        "isolation_level": isolation_level,
        "session_id": 0,
        "session_epoch": -1,
        "topics": [
            {
                "topic": topic_name,
                "topic_id": topic_id,
                "partitions": [
                    {
                        "partition": p,
                        "current_leader_epoch": -1,
                        "fetch_offset": offset,
                        "last_fetched_epoch": -1,
                        "log_start_offset": -1,
                        "partition_max_bytes": partition_max_bytes,
                    }
                    for p, offset in partitions
                ],
            }
        ],
        "forgotten_topics_data": [],
        "rack_id": "",
    }


def _add_partitions(txn: str, pid: Any, topic: str) -> dict:
    from .scenarios_txn import add_partitions_request

    return add_partitions_request(txn, pid, topic)


def topic_id(side: Side, name: str) -> Any:
    md = side.setup(3, 12, {"topics": [{"name": name}], "allow_auto_topic_creation": False})
    return md.topics[0].topic_id


def list_offsets_request(topic: str, partition: int, timestamp: int, isolation: int = 0) -> dict:
    return {
        "replica_id": -1,
        "isolation_level": isolation,
        "topics": [
            {
                "name": topic,
                "partitions": [
                    {
                        "partition_index": partition,
                        "current_leader_epoch": -1,
                        "timestamp": timestamp,
                    }
                ],
            }
        ],
    }


def metadata_request(version: int, topics: list[str] | None, auto_create: bool = False) -> dict:
    if topics is None:
        # v0 has no null: an empty array means every topic.
        listed: list[dict] | None = [] if version == 0 else None
    else:
        listed = [{"name": t, "topic_id": None} for t in topics]
    return {
        "topics": listed,
        "allow_auto_topic_creation": auto_create,
        "include_cluster_authorized_operations": False,
        "include_topic_authorized_operations": False,
    }


# -- ApiVersions (18) -------------------------------------------------------------------


@scenario(18, "api_versions/basic", range(0, 5))
def _api_versions(side: Side, v: int) -> None:
    """ApiVersions at each version: the error code and, for the APIs streamtest
    implements, the advertised ranges (compared in a table of their own)."""
    r = side.ask(
        18, v, {"client_software_name": "streamtest-fidelity", "client_software_version": "1.0"}
    )
    side.observe("error_code", int(r.error_code))
    side.observe("api_keys_present", bool(r.api_keys))


@scenario(18, "api_versions/unsupported-version")
def _api_versions_too_new(side: Side) -> None:
    """A version newer than any broker speaks gets UNSUPPORTED_VERSION in v0 format."""
    r = side.call_raw(18, 127, b"\x00\x00\x00", flexible=True, label="av127")
    del r


@scenario(18, "api_versions/bad-software-name")
def _api_versions_bad_name(side: Side) -> None:
    """An invalid client software name is INVALID_REQUEST (KIP-511's regex)."""
    side.call(18, 3, {"client_software_name": "bad name!", "client_software_version": "1"})


# -- Metadata (3) -----------------------------------------------------------------------


@scenario(3, "metadata/existing-topic", range(0, 14))
def _metadata_topic(side: Side, v: int) -> None:
    """Metadata for a topic with three partitions."""
    name = side.create_topic("t", partitions=3)
    side.call(3, v, metadata_request(v, [name]))


@scenario(3, "metadata/unknown-topic-no-autocreate", range(4, 14))
def _metadata_unknown(side: Side, v: int) -> None:
    """An unknown topic with auto-creation off: UNKNOWN_TOPIC_OR_PARTITION."""
    side.call(3, v, metadata_request(v, [side.name_of("missing")], auto_create=False))


@scenario(3, "metadata/auto-create")
def _metadata_auto_create(side: Side) -> None:
    """An unknown topic with auto-creation on is created (LEADER_NOT_AVAILABLE or
    the new topic), then described."""
    name = side.name_of("auto")
    side.client.call(3, 12, metadata_request(12, [name], auto_create=True))
    side.wait_topic(name, 1)
    side.call(3, 12, metadata_request(12, [name]))


@scenario(3, "metadata/invalid-topic-name")
def _metadata_invalid_name(side: Side) -> None:
    """A topic name with illegal characters: INVALID_TOPIC_EXCEPTION."""
    side.call(3, 12, metadata_request(12, ["bad/name"], auto_create=True))


@scenario(3, "metadata/brokers-only")
def _metadata_no_topics(side: Side) -> None:
    """An empty topic list (v1+): brokers, controller and cluster, no topics."""
    side.call(3, 12, {"topics": [], "allow_auto_topic_creation": False})


@scenario(3, "metadata/all-topics")
def _metadata_all(side: Side) -> None:
    """Null topics (every topic): our topics are listed with their partitions."""
    names = [side.create_topic("a"), side.create_topic("b", partitions=2)]
    r = side.ask(3, 12, metadata_request(12, None))
    ours = [t for t in r.topics if t.name in names]
    side.observe("our-topics", ours)
    side.observe("internal-flag", sorted((t.name, t.is_internal) for t in ours))


@scenario(3, "metadata/by-topic-id")
def _metadata_by_id(side: Side) -> None:
    """v12 topics given by id: Kafka answers with the name."""
    name = side.create_topic("t")
    tid = topic_id(side, name)
    side.call(3, 12, {"topics": [{"topic_id": tid, "name": None}]})


@scenario(3, "metadata/unknown-topic-id")
def _metadata_unknown_id(side: Side) -> None:
    """v12 with a topic id nobody has: UNKNOWN_TOPIC_ID."""
    import uuid

    side.call(3, 12, {"topics": [{"topic_id": uuid.UUID(int=12345), "name": None}]})


# -- Produce (0) ------------------------------------------------------------------------


@scenario(0, "produce/basic", range(3, 12))
def _produce_basic(side: Side, v: int) -> None:
    """One batch of two records to an existing topic, acks=-1."""
    name = side.create_topic("t")
    side.call(0, v, produce_request(name, batch(b"v1", b"v2")))
    side.call(0, v, produce_request(name, batch(b"v3")), label="second")


@scenario(0, "produce/acks-1-compression", {c.name.lower(): int(c) for c in Compression if c})
def _produce_compressed(side: Side, codec: int) -> None:
    """acks=1 with each compression codec; then the records read back."""
    name = side.create_topic("t")
    side.call(
        0,
        9,
        produce_request(
            name, batch(b"a" * 100, b"b" * 100, compression=Compression(codec)), acks=1
        ),
    )
    tid = topic_id(side, name)
    side.call(1, 12, fetch_request(name, tid, [(0, 0)]), label="fetch")


@scenario(0, "produce/two-batches-for-one-partition")
def _produce_two_batches(side: Side) -> None:
    """Two record batches for one partition in one request: INVALID_RECORD, nothing
    appended (from v3 a partition's records are exactly one batch)."""
    name = side.create_topic("t")
    side.call(0, 9, produce_request(name, batch(b"a") + batch(b"b")))
    side.call(0, 9, produce_request(name, batch(b"c")), label="next")


@scenario(0, "produce/unknown-topic")
def _produce_unknown(side: Side) -> None:
    """Producing to a topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION."""
    side.call(0, 9, produce_request(side.name_of("missing"), batch(b"v")))


@scenario(0, "produce/unknown-partition")
def _produce_unknown_partition(side: Side) -> None:
    """Partition 7 of a one-partition topic: UNKNOWN_TOPIC_OR_PARTITION."""
    name = side.create_topic("t")
    side.call(0, 9, produce_request(name, batch(b"v"), partition=7))


@scenario(0, "produce/bad-acks")
def _produce_bad_acks(side: Side) -> None:
    """acks=2 is not valid: INVALID_REQUIRED_ACKS."""
    name = side.create_topic("t")
    side.call(0, 9, produce_request(name, batch(b"v"), acks=2))


@scenario(0, "produce/record-too-large")
def _produce_too_large(side: Side) -> None:
    """A batch over the topic's max.message.bytes: MESSAGE_TOO_LARGE."""
    name = side.create_topic("t", max_message_bytes="1000")
    side.call(0, 9, produce_request(name, batch(b"x" * 2000)))


@scenario(0, "produce/corrupt-crc")
def _produce_corrupt(side: Side) -> None:
    """A batch whose CRC does not match: CORRUPT_MESSAGE."""
    name = side.create_topic("t")
    data = bytearray(batch(b"v"))
    data[-1] ^= 0xFF
    side.call(0, 9, produce_request(name, bytes(data)))


@scenario(0, "produce/bad-magic")
def _produce_bad_magic(side: Side) -> None:
    """A batch with magic byte 1 on produce v9: rejected."""
    name = side.create_topic("t")
    data = bytearray(batch(b"v"))
    data[16] = 1
    side.call(0, 9, produce_request(name, bytes(data)))


@scenario(0, "produce/truncated-batch")
def _produce_truncated(side: Side) -> None:
    """A record set cut mid-batch: CORRUPT_MESSAGE."""
    name = side.create_topic("t")
    side.call(0, 9, produce_request(name, batch(b"v", b"w")[:-5]))


@scenario(0, "produce/empty-records")
def _produce_empty(side: Side) -> None:
    """An empty record set."""
    name = side.create_topic("t")
    side.call(0, 9, produce_request(name, b""))


@scenario(0, "produce/headers-and-null-key")
def _produce_headers(side: Side) -> None:
    """Records with headers (one null-valued) and a null key, read back by Fetch."""
    name = side.create_topic("t")
    side.call(
        0,
        9,
        produce_request(name, batch(b"v", None, key=None, headers=(("h1", b"x"), ("h2", None)))),
    )
    side.call(1, 12, fetch_request(name, topic_id(side, name), [(0, 0)]), label="fetch")


@scenario(0, "produce/log-append-time")
def _produce_log_append(side: Side) -> None:
    """A LogAppendTime topic stamps the batch; the response carries the time."""
    name = side.create_topic("t", message_timestamp_type="LogAppendTime")
    side.call(0, 9, produce_request(name, batch(b"v")))
    side.call(1, 12, fetch_request(name, topic_id(side, name), [(0, 0)]), label="fetch")


@scenario(0, "produce/idempotent-sequence")
def _produce_idempotent(side: Side) -> None:
    """An idempotent producer: in-order sequences, a duplicate, then a gap."""
    name = side.create_topic("t")
    pid = side.init_producer()
    p, e = pid.producer_id, pid.producer_epoch
    side.call(
        0,
        9,
        produce_request(name, batch(b"a", producer_id=p, producer_epoch=e, base_sequence=0)),
        label="seq0",
    )
    side.call(
        0,
        9,
        produce_request(name, batch(b"b", producer_id=p, producer_epoch=e, base_sequence=1)),
        label="seq1",
    )
    side.call(
        0,
        9,
        produce_request(name, batch(b"b", producer_id=p, producer_epoch=e, base_sequence=1)),
        label="dup",
    )
    side.call(
        0,
        9,
        produce_request(name, batch(b"c", producer_id=p, producer_epoch=e, base_sequence=5)),
        label="gap",
    )


@scenario(0, "produce/unknown-producer-id")
def _produce_unknown_pid(side: Side) -> None:
    """An idempotent batch from a producer id the broker never issued, sequence 3."""
    name = side.create_topic("t")
    side.call(
        0,
        9,
        produce_request(name, batch(b"a", producer_id=987654, producer_epoch=0, base_sequence=3)),
    )


@scenario(0, "produce/transactional-without-txn")
def _produce_txn_not_added(side: Side) -> None:
    """A transactional batch, with its transactional id, for a partition never added
    to the transaction."""
    name = side.create_topic("t")
    pid = side.init_producer(side.name_of("txn"))
    records = batch(
        b"a",
        producer_id=pid.producer_id,
        producer_epoch=pid.producer_epoch,
        base_sequence=0,
        transactional=True,
    )
    side.call(0, 9, produce_request(name, records, transactional_id=side.name_of("txn")))


@scenario(0, "produce/acks-0")
def _produce_acks0(side: Side) -> None:
    """acks=0 gets no response; the record is there afterwards."""
    name = side.create_topic("t")
    side.client.call_raw(
        0, 9, _produce_body(name, batch(b"fire-and-forget"), acks=0), expect_response=False
    )
    side.retry(
        2, 7, list_offsets_request(name, 0, -1), lambda r: r.topics[0].partitions[0].offset == 1
    )
    side.call(2, 7, list_offsets_request(name, 0, -1), label="end-offset")


def _produce_body(topic: str, records: bytes, acks: int) -> bytes:
    from streamtest.protocol import codec
    from streamtest.protocol.client import build_request

    return codec.encode(build_request(0, 9, produce_request(topic, records, acks=acks)))


@scenario(0, "produce/multi-partition")
def _produce_multi(side: Side) -> None:
    """One request to three partitions, one of them unknown."""
    name = side.create_topic("t", partitions=2)
    side.call(
        0,
        9,
        {
            "transactional_id": None,
            "acks": -1,
            "timeout": 30000,
            "topic_data": [
                {
                    "name": name,
                    "partition_data": [
                        {"index": 0, "records": batch(b"p0")},
                        {"index": 1, "records": batch(b"p1")},
                        {"index": 2, "records": batch(b"p2")},
                    ],
                }
            ],
        },
    )


# -- Fetch (1) --------------------------------------------------------------------------


@scenario(1, "fetch/basic", range(4, 17))
def _fetch_basic(side: Side, v: int) -> None:
    """Fetch two produced batches from offset 0, then from the end."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"v1", b"v2")])
    side.produce(name, [batch(b"v3")])
    tid = topic_id(side, name)
    side.call(1, v, fetch_request(name, tid, [(0, 0)]), label="from-0")
    side.call(1, v, fetch_request(name, tid, [(0, 3)]), label="at-end")


@scenario(1, "fetch/offset-out-of-range", [4, 11, 12, 13, 16])
def _fetch_out_of_range(side: Side, v: int) -> None:
    """Fetching past the end: OFFSET_OUT_OF_RANGE."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"v")])
    side.call(1, v, fetch_request(name, topic_id(side, name), [(0, 50)]))


@scenario(1, "fetch/unknown-partition", [4, 12])
def _fetch_unknown_partition(side: Side, v: int) -> None:
    """A partition the topic does not have."""
    name = side.create_topic("t")
    side.call(1, v, fetch_request(name, topic_id(side, name), [(5, 0)]))


@scenario(1, "fetch/unknown-topic-name", [4, 12])
def _fetch_unknown_topic(side: Side, v: int) -> None:
    """A topic name nobody created (v4-v12 fetch by name)."""
    side.call(1, v, fetch_request(side.name_of("missing"), None, [(0, 0)]))


@scenario(1, "fetch/unknown-topic-id", [13, 16])
def _fetch_unknown_topic_id(side: Side, v: int) -> None:
    """A topic id nobody has (v13+): UNKNOWN_TOPIC_ID."""
    import uuid

    side.call(1, v, fetch_request("", uuid.UUID(int=4242), [(0, 0)]))


@scenario(1, "fetch/partition-max-bytes-small")
def _fetch_small(side: Side) -> None:
    """partition_max_bytes smaller than the first batch: the whole first batch
    still comes back (KIP-74), and nothing after it."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"x" * 300)])
    side.produce(name, [batch(b"y" * 300)])
    side.call(1, 12, fetch_request(name, None, [(0, 0)], partition_max_bytes=10))


def _topic_with_open_txn(side: Side, value: bytes) -> str:
    """Create a topic holding one plain record and then ``value`` inside a
    transaction left open; return its name (setup)."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"plain")])
    txn = side.name_of("txn")
    pid = side.init_producer(txn)
    side.setup(24, 3, _add_partitions(txn, pid, name))
    side.produce(
        name,
        [
            batch(
                value,
                producer_id=pid.producer_id,
                producer_epoch=pid.producer_epoch,
                base_sequence=0,
                transactional=True,
            )
        ],
        transactional_id=txn,
    )
    return name


@scenario(1, "fetch/read-committed-open-txn")
def _fetch_read_committed(side: Side) -> None:
    """read_committed stops at the last stable offset of an open transaction."""
    name = _topic_with_open_txn(side, b"in-txn")
    side.call(1, 12, fetch_request(name, None, [(0, 0)], isolation_level=1), label="committed")
    side.call(1, 12, fetch_request(name, None, [(0, 0)], isolation_level=0), label="uncommitted")


@scenario(1, "fetch/multi-partition")
def _fetch_multi(side: Side) -> None:
    """Two partitions in one request, one empty."""
    name = side.create_topic("t", partitions=2)
    side.produce(name, [batch(b"p0")], partition=0)
    side.call(1, 12, fetch_request(name, None, [(0, 0), (1, 0)]))


# -- ListOffsets (2) --------------------------------------------------------------------


@scenario(2, "list_offsets/latest-earliest", range(1, 11))
def _list_offsets(side: Side, v: int) -> None:
    """Latest (-1) and earliest (-2) offsets after three records."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"a", b"b", b"c")])
    side.call(2, v, list_offsets_request(name, 0, -1), label="latest")
    side.call(2, v, list_offsets_request(name, 0, -2), label="earliest")


@scenario(2, "list_offsets/by-timestamp", [1, 4, 7, 9])
def _list_offsets_ts(side: Side, v: int) -> None:
    """The first offset at or after a timestamp; a timestamp after every record."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"a", b"b", b"c")])
    side.call(2, v, list_offsets_request(name, 0, TS + 1), label="mid")
    side.call(2, v, list_offsets_request(name, 0, TS + 100), label="after")


@scenario(2, "list_offsets/max-timestamp", [7, 9])
def _list_offsets_max_ts(side: Side, v: int) -> None:
    """-3 (KIP-734): the offset of the record with the largest timestamp."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"a", b"b")])
    side.call(2, v, list_offsets_request(name, 0, -3))


@scenario(2, "list_offsets/unknown-topic")
def _list_offsets_unknown(side: Side) -> None:
    """An unknown topic: UNKNOWN_TOPIC_OR_PARTITION."""
    side.call(2, 7, list_offsets_request(side.name_of("missing"), 0, -1))


@scenario(2, "list_offsets/unknown-partition")
def _list_offsets_unknown_partition(side: Side) -> None:
    """Partition 3 of a one-partition topic."""
    name = side.create_topic("t")
    side.call(2, 7, list_offsets_request(name, 3, -1))


@scenario(2, "list_offsets/read-committed")
def _list_offsets_committed(side: Side) -> None:
    """read_committed latest offset stops at an open transaction's first record."""
    name = _topic_with_open_txn(side, b"t")
    side.call(2, 7, list_offsets_request(name, 0, -1, isolation=1), label="committed")
    side.call(2, 7, list_offsets_request(name, 0, -1, isolation=0), label="uncommitted")


# -- DeleteRecords (21) -----------------------------------------------------------------


def delete_records_request(topic: str, partition: int, offset: int) -> dict:
    return {
        "topics": [
            {"name": topic, "partitions": [{"partition_index": partition, "offset": offset}]}
        ],
        "timeout": 30000,
    }


@scenario(21, "delete_records/basic", range(0, 3))
def _delete_records(side: Side, v: int) -> None:
    """Delete before offset 2 of 3; then earliest is 2."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"a", b"b", b"c")])
    side.call(21, v, delete_records_request(name, 0, 2))
    side.call(2, 7, list_offsets_request(name, 0, -2), label="earliest")


@scenario(21, "delete_records/to-high-watermark")
def _delete_records_hw(side: Side) -> None:
    """offset -1 deletes up to the high watermark."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"a", b"b")])
    side.call(21, 2, delete_records_request(name, 0, -1))


@scenario(21, "delete_records/out-of-range")
def _delete_records_oor(side: Side) -> None:
    """An offset past the high watermark: OFFSET_OUT_OF_RANGE."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"a")])
    side.call(21, 2, delete_records_request(name, 0, 10))


@scenario(21, "delete_records/unknown-topic")
def _delete_records_unknown(side: Side) -> None:
    """An unknown topic: UNKNOWN_TOPIC_OR_PARTITION."""
    side.call(21, 2, delete_records_request(side.name_of("missing"), 0, 0))


@scenario(1, "fetch/after-delete-records")
def _fetch_after_delete(side: Side) -> None:
    """Fetching below the log start offset: OFFSET_OUT_OF_RANGE and log_start_offset."""
    name = side.create_topic("t")
    side.produce(name, [batch(b"a")])
    side.produce(name, [batch(b"b")])
    side.setup(21, 2, delete_records_request(name, 0, 1))
    side.call(1, 12, fetch_request(name, None, [(0, 0)]), label="below-start")
    side.call(1, 12, fetch_request(name, None, [(0, 1)]), label="at-start")


# -- framing and headers ----------------------------------------------------------------


@scenario(3, "framing/unsupported-metadata-version")
def _metadata_v99(side: Side) -> None:
    """A Metadata version no broker speaks: Kafka closes the connection."""
    side.call_raw(3, 99, b"\x00", label="v99")


@scenario(3, "framing/truncated-body")
def _metadata_truncated(side: Side) -> None:
    """A Metadata v9 body cut short: the connection is closed."""
    side.call_raw(3, 9, b"\x02\x05ab", label="truncated")


@scenario(3, "framing/unknown-api-key")
def _unknown_key(side: Side) -> None:
    """An API key nobody defines: the connection is closed."""
    side.call_raw(999, 0, b"", flexible=False, label="key999")


@scenario(3, "framing/null-client-id-and-pipelining")
def _pipelined(side: Side) -> None:
    """Three requests written at once come back in order."""
    client = side.client
    conn = client.conn
    from streamtest.protocol.client import build_request

    data = b"".join(
        conn.send_request(build_request(3, 12, metadata_request(12, []))) for _ in range(3)
    )
    client.send_only(data)
    for i in range(3):
        side.observe(f"r{i}", client.read_response().body)
