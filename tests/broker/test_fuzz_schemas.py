"""Schema-aware fuzzing of every request the broker serves, through the real
dispatcher and handlers of a real cluster (no sockets).

Request bodies are generated from each API version's schema (kio's, which is
Apache Kafka's JSON definitions), so they reach the handlers: arrays and strings
come null, negative, empty or short, structs come null, and bodies are cut
short at any byte. Whatever arrives, the broker either answers (and the answer
encodes) or closes the connection with a protocol error; no handler may raise
anything else (issue 14: 13 handlers raised TypeError on a null array, each
logging a traceback).
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import uuid
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.serial._introspect import (
    EntityField,
    EntityTupleField,
    PrimitiveTupleField,
    classify_field,
    get_field_tag,
)

from streamtest.broker.cluster import Cluster
from streamtest.broker.dispatch import (
    NO_RESPONSE,
    REGISTRY,
    CloseConnection,
    RequestContext,
    dispatch,
    encode_response,
    flexible_lookup,
)
from streamtest.protocol import codec
from streamtest.protocol.connection import ServerConnection
from streamtest.protocol.exceptions import RemoteProtocolError
from streamtest.protocol.headers import write_uvarint

_SUPPORTED = sorted(
    (k, v) for k, s in REGISTRY.items() for v in range(s.min_version, s.max_version + 1)
)

# Few distinct integers, boundaries included: enough to reach every branch that
# checks a sign or a bound, without asking a handler to create a billion partitions.
_INTS = st.sampled_from([-(2**31), -2, -1, 0, 1, 2, 3, 100, 2**31 - 1])
_LONGS = st.sampled_from([-(2**63), -2, -1, 0, 1, 5, 1_700_000_000_000, 2**63 - 1])
_NAMES = st.sampled_from(["", "t", "fuzz-topic", "g", "__consumer_offsets", "a.b", "é", "x" * 300])


def _length(n: int, flexible: bool, width: str = ">i") -> bytes:
    """A length prefix: ``n`` < 0 is null (-1) or worse; compact lengths are n + 1."""
    if flexible:
        return b"\x00" if n < 0 else _uvarint(n + 1)
    return struct.pack(width, n)


def _uvarint(n: int) -> bytes:
    out = bytearray()
    write_uvarint(out, n)
    return bytes(out)


@st.composite
def _primitive(
    draw: Any, kafka_type: str, flexible: bool, nullable: bool = False, hostile: bool = True
) -> bytes:
    if kafka_type == "bool":
        return struct.pack(">b", draw(st.sampled_from([-1, 0, 1, 2] if hostile else [0, 1])))
    if kafka_type == "int8":
        return struct.pack(">b", draw(st.sampled_from([-1, 0, 1, 2])))
    if kafka_type == "int16":
        return struct.pack(">h", draw(st.sampled_from([-1, 0, 1, 3, 32767])))
    if kafka_type in ("int32", "timedelta_i32"):
        return struct.pack(">i", draw(_INTS))
    if kafka_type in ("int64", "timedelta_i64"):
        return struct.pack(">q", draw(_LONGS))
    if kafka_type == "float64":
        # AlterClientQuotas values: NaN, infinities and negatives are what a handler
        # must refuse rather than store.
        return struct.pack(
            ">d", draw(st.sampled_from([0.0, 1024.0, -1.0, float("nan"), float("inf"), 1e308]))
        )
    if kafka_type == "uuid":
        return draw(st.sampled_from([bytes(16), uuid.uuid4().bytes]))
    if kafka_type == "string":
        choice = draw(st.sampled_from(_choices(["null", "negative", "text"], nullable, hostile)))
        if choice == "null":
            return _length(-1, flexible, ">h")
        if choice == "negative":
            return b"\x00" if flexible else struct.pack(">h", -7)
        raw = draw(_NAMES).encode()
        return _length(len(raw), flexible, ">h") + raw
    if kafka_type in ("bytes", "records"):
        choice = draw(st.sampled_from(_choices(["null", "negative", "data"], nullable, hostile)))
        if choice == "null":
            return _length(-1, flexible)
        if choice == "negative":
            return b"\x00" if flexible else struct.pack(">i", -9)
        raw = draw(st.binary(max_size=80))
        return _length(len(raw), flexible) + raw
    raise AssertionError(f"no generator for {kafka_type}")


def _choices(options: list[Any], nullable: bool, hostile: bool) -> list[Any]:
    """Keep the null choice only where the schema allows it, and the malformed
    ones only in a hostile example (so that valid examples reach every handler)."""
    if hostile:
        return options
    return [o for o in options if o not in ("negative", -3) and (nullable or o not in ("null", -1))]


@st.composite
def _array(
    draw: Any, item: Any, flexible: bool, nullable: bool = False, hostile: bool = True
) -> bytes:
    n = draw(st.sampled_from(_choices([-1, -3, 0, 1, 2], nullable, hostile)))
    if n < 0:
        return _length(-1, flexible) if n == -1 else struct.pack(">i", n)
    return _length(n, flexible) + b"".join(draw(item) for _ in range(n))


@st.composite
def _entity(draw: Any, cls: type, flexible: bool, hostile: bool, depth: int = 0) -> bytes:
    out = bytearray()
    for f in fields(cls):
        if get_field_tag(f) is not None:
            continue  # tagged fields go in the tag section (left empty)
        kind = classify_field(f)
        nullable = "None" in str(f.type)
        if isinstance(kind, EntityField):
            if (hostile or nullable) and draw(st.booleans()):
                out += b"\xff"  # a null marker, nullable or not
            else:
                out += b"\x01" if nullable else b""
                out += draw(_entity(kind.type_, flexible, hostile, depth + 1))
        elif isinstance(kind, EntityTupleField):
            inner = _entity(kind.type_, flexible, hostile, depth + 1) if depth < 3 else st.just(b"")
            out += draw(_array(inner, flexible, nullable, hostile))
        elif isinstance(kind, PrimitiveTupleField):
            item = _primitive(f.metadata["kafka_type"], flexible, False, hostile)
            out += draw(_array(item, flexible, nullable, hostile))
        else:
            out += draw(_primitive(f.metadata["kafka_type"], flexible, nullable, hostile))
    if flexible:
        out += b"\x00"  # no tagged fields
    return bytes(out)


@st.composite
def _requests(draw: Any) -> tuple[int, int, bytes]:
    key, version = draw(st.sampled_from(_SUPPORTED))
    cls = codec.request_schema(key, version)
    # Half the examples follow the schema (to reach every handler), half do not.
    body = draw(_entity(cls, bool(cls.__flexible__), draw(st.booleans())))
    if draw(st.integers(0, 3)) == 0:
        body = body[: draw(st.integers(0, len(body)))]  # cut short anywhere
    return key, version, body


def _frame(key: int, version: int, body: bytes, correlation_id: int) -> bytes:
    header = struct.pack(">hhi", key, version, correlation_id) + struct.pack(">h", 4) + b"fuzz"
    if flexible_lookup(key, version):
        header += b"\x00"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


class _Harness:
    """One cluster on one loop for every example; requests go through dispatch."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.cluster = self.loop.run_until_complete(self._make())
        self.count = 0

    async def _make(self) -> Cluster:
        cluster = Cluster(settings={"group.min.session.timeout.ms": "10"})
        cluster.groups.start()
        cluster.transactions.start()
        return cluster

    def serve(self, key: int, version: int, body: bytes) -> None:
        self.count += 1
        conn = ServerConnection(flexible_lookup, max_frame_size=1 << 20)
        conn.receive_data(_frame(key, version, body, self.count))
        try:
            request = conn.next_request()
        except RemoteProtocolError:
            return
        assert request is not None
        ctx = RequestContext(
            self.cluster, self.cluster.nodes[0], request.header, "127.0.0.1", self.count
        )

        async def run() -> None:
            try:
                result = dispatch(ctx, request)
                if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                    # Parked requests (a Fetch long poll, a JoinGroup) need not finish.
                    try:
                        result = await asyncio.wait_for(result, 0.05)
                    except TimeoutError:
                        return
                if result is not NO_RESPONSE:
                    encode_response(ctx, result)
            except (CloseConnection, RemoteProtocolError):
                pass

        self.loop.run_until_complete(run())

    def close(self) -> None:
        self.cluster.groups.stop()
        self.cluster.transactions.close()
        self.loop.close()


@pytest.fixture(scope="module")
def harness() -> Any:
    h = _Harness()
    yield h
    h.close()


@settings(
    max_examples=int(os.environ.get("STREAMTEST_FUZZ_EXAMPLES", "1500")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(_requests())
def test_every_request_schema_with_nulls_negatives_and_cuts_is_answered_or_closed(
    harness, request_parts
):
    key, version, body = request_parts
    harness.serve(key, version, body)


def test_null_arrays_over_sockets_close_with_rate_limited_one_line_warnings(caplog):
    # 13 handlers once raised TypeError on a null array, each with a traceback;
    # now each such request is refused at decode: one line, at most ten a period.
    from streamtest import EmbeddedKafka
    from streamtest.broker.logfilter import RateLimit

    from .rawclient import RawClient

    bad = {
        20: struct.pack(">ii", -1, 1000),  # DeleteTopics v1: topic_names null
        15: struct.pack(">i", -1),  # DescribeGroups v0: groups null
        42: struct.pack(">i", -1),  # DeleteGroups v0: groups_names null
    }
    with EmbeddedKafka() as kafka, caplog.at_level(logging.WARNING, logger="streamtest.broker"):
        limit = next(
            f for f in logging.getLogger("streamtest.broker").filters if isinstance(f, RateLimit)
        )
        limit.period = 3600.0  # one window for the whole test, whatever the machine's speed
        limit._window_start = -float("inf")
        for i in range(60):
            key = sorted(bad)[i % 3]
            client = RawClient(kafka.bootstrap_servers)
            try:
                client.send_raw(_frame(key, 1 if key == 20 else 0, bad[key], i))
                assert client.read_frame() is None, "the connection is closed, no answer"
            finally:
                client.close()
        # The server logs when it sees each close; wait until all 60 were seen.
        from streamtest.kit.wait import eventually

        eventually(lambda: limit.suppressed + len(_closes(caplog)) >= 60, timeout=20)
    closes = _closes(caplog)
    assert len(closes) == 10
    assert all("serialized as null" in r.getMessage() for r in closes)
    assert not [r for r in caplog.records if r.exc_info], "no traceback"


def _closes(caplog: Any) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("closing connection")]
