"""Quota enforcement over real sockets on a manual clock: throttle times in Produce
and Fetch responses, the connection muted for them (KIP-219), the response held
back for pre-KIP-219 versions, the rate a well-behaved client gets, the quota
APIs' answers, the throttle-time metric, and quotas on a three-node cluster
(configs shared by the cluster, rates measured per node)."""

from __future__ import annotations

import struct

import pytest

from streamtest import EmbeddedKafka
from streamtest.kit.wait import eventually
from streamtest.protocol import codec

from .rawclient import RawClient, request_bytes
from .serverkit import (
    alter_quotas,
    decode_fetch,
    fetch_request,
    produce_error,
    produce_request,
    produce_throttle_ms,
    server_side,
    set_quota,
)

WINDOWS = {"quota.window.num": "2", "quota.window.size.seconds": "1"}


@pytest.fixture
def kafka():
    with EmbeddedKafka(clock="manual", settings=WINDOWS) as k:
        k.create_topic("q")
        yield k


def _api_versions(correlation_id: int) -> bytes:
    return request_bytes(18, 3, b"\x02t\x021\x00", correlation_id, "slow")


def test_a_produce_over_the_quota_is_answered_at_once_then_the_connection_is_muted(kafka):
    set_quota(kafka.bootstrap_servers, {"client-id": "slow"}, producer_byte_rate=1000)
    c = RawClient(kafka.bootstrap_servers)
    request = produce_request("q", b"x" * 1400, 1, "slow")
    c.send_raw(request)
    frame = c.read_frame()
    assert produce_error(frame, "q") == 0
    # 1 window of the 2 is padded in: len(request) - 4 bytes over 1 s against 1,000 B/s.
    expected = round((len(request) - 4 - 1000) / 1000 * 1000)
    assert produce_throttle_ms(frame) == expected
    c.send_raw(_api_versions(2))
    view = server_side(kafka, c)
    assert view["throttled"] and not view["reading"] and view["served"] == 1
    kafka.advance(expected / 1000)
    frame = c.read_frame()
    assert frame is not None and struct.unpack_from(">i", frame)[0] == 2
    assert len(kafka.records("q")) == 1


def test_other_clients_are_not_throttled(kafka):
    set_quota(kafka.bootstrap_servers, {"client-id": "slow"}, producer_byte_rate=1000)
    c = RawClient(kafka.bootstrap_servers)
    c.send_raw(produce_request("q", b"x" * 5000, 1, "fast"))
    assert produce_throttle_ms(c.read_frame()) == 0


def test_a_pre_kip219_produce_gets_its_response_after_the_throttle_time(kafka):
    set_quota(kafka.bootstrap_servers, {"client-id": "slow"}, producer_byte_rate=1000)
    c = RawClient(kafka.bootstrap_servers)
    c.send_raw(produce_request("q", b"x" * 1900, 4, "slow", version=5))
    eventually(lambda: server_side(kafka, c)["throttled"])
    assert server_side(kafka, c)["busy"]  # the answer is held back
    kafka.advance(10)
    frame = c.read_frame()
    assert struct.unpack_from(">i", frame)[0] == 4
    assert produce_throttle_ms(frame) > 0
    assert len(kafka.records("q")) == 1  # the data was appended at once


def test_acks_zero_is_muted_too(kafka):
    set_quota(kafka.bootstrap_servers, {"client-id": "slow"}, producer_byte_rate=1000)
    c = RawClient(kafka.bootstrap_servers)
    c.send_raw(produce_request("q", b"x" * 3000, 1, "slow", acks=0) + _api_versions(2))
    eventually(lambda: server_side(kafka, c)["throttled"])
    assert server_side(kafka, c)["served"] == 1
    kafka.advance(10)
    frame = c.read_frame()
    assert struct.unpack_from(">i", frame)[0] == 2


def test_a_client_that_waits_out_each_throttle_produces_at_the_quota_rate(kafka):
    """The rate a KIP-219 client gets, measured on the broker's clock."""
    set_quota(kafka.bootstrap_servers, {"user": "ANONYMOUS"}, producer_byte_rate=10_000)
    c = RawClient(kafka.bootstrap_servers)
    sent = 0
    elapsed = 0.0
    for i in range(100):
        request = produce_request("q", b"v" * 2000, i, "any")
        c.send_raw(request)
        throttle = produce_throttle_ms(c.read_frame())
        sent += len(request) - 4
        step = max(throttle, 1) / 1000
        kafka.advance(step)
        elapsed += step
    rate = sent / elapsed
    assert 10_000 * 0.95 <= rate <= 10_000 * 1.1, rate
    assert len(kafka.records("q")) == 100


def _records_in(response) -> int:
    if not response.responses:
        return 0
    return len(response.responses[0].partitions[0].records or b"")


def test_a_fetch_over_the_quota_returns_no_data_and_the_throttle_time(kafka):
    c = RawClient(kafka.bootstrap_servers)
    for i in range(3):  # three batches of ~670 bytes
        c.send_raw(produce_request("q", b"d" * 600, i, "producer"))
        assert produce_error(c.read_frame(), "q") == 0
    set_quota(kafka.bootstrap_servers, {"client-id": "reader"}, consumer_byte_rate=1000)
    reader = RawClient(kafka.bootstrap_servers)
    # max_bytes is capped at what the quota allows in its window (1,000 B): one batch.
    reader.send_raw(fetch_request("q", correlation_id=1, client_id="reader"))
    first = decode_fetch(reader.read_frame())
    assert first.throttle_time.total_seconds() == 0
    assert 600 < _records_in(first) < 1000
    # A second one in the same second goes over 1,000 B/s: no data, a throttle time.
    reader.send_raw(fetch_request("q", correlation_id=2, client_id="reader", offset=1))
    second = decode_fetch(reader.read_frame())
    assert second.throttle_time.total_seconds() > 0
    assert second.responses == ()
    reader.send_raw(fetch_request("q", correlation_id=3, client_id="reader", offset=1))
    assert server_side(kafka, reader)["throttled"]
    kafka.advance(second.throttle_time.total_seconds())
    decode_fetch(reader.read_frame())  # answered once the mute ends
    kafka.advance(5)  # the rate has decayed: the data comes through
    reader.send_raw(fetch_request("q", correlation_id=4, client_id="reader", offset=1))
    fourth = decode_fetch(reader.read_frame())
    assert fourth.throttle_time.total_seconds() == 0 and _records_in(fourth) > 600


def test_quota_changes_apply_to_the_next_request(kafka):
    c = RawClient(kafka.bootstrap_servers)
    c.send_raw(produce_request("q", b"x" * 3000, 1, "slow"))
    assert produce_throttle_ms(c.read_frame()) == 0
    set_quota(kafka.bootstrap_servers, {"client-id": None}, producer_byte_rate=100)
    c.send_raw(produce_request("q", b"x" * 3000, 2, "slow"))
    assert produce_throttle_ms(c.read_frame()) > 0


# -- the APIs over the wire ---------------------------------------------------------------


def _describe(client: RawClient, components: list[dict], strict: bool = False, version: int = 1):
    cls = codec.request_schema(48, version)
    return client.call(codec.build(cls, {"components": components, "strict": strict}))


def test_alter_and_describe_client_quotas_v0_and_v1(kafka):
    c = RawClient(kafka.bootstrap_servers)
    for version in (0, 1):
        cls = codec.request_schema(49, version)
        resp = c.call(
            codec.build(
                cls,
                {
                    "entries": [
                        {
                            "entity": [
                                {"entity_type": "user", "entity_name": f"u{version}"},
                                {"entity_type": "client-id", "entity_name": None},
                            ],
                            "ops": [
                                {"key": "producer_byte_rate", "value": 1024.0, "remove": False},
                                {"key": "request_percentage", "value": 50.5, "remove": False},
                            ],
                        }
                    ],
                    "validate_only": False,
                },
            )
        )
        assert [int(e.error_code) for e in resp.entries] == [0]
    found = _describe(c, [{"entity_type": "user", "match_type": 2, "match": None}], version=0)
    assert int(found.error_code) == 0
    assert {
        tuple((e.entity_type, e.entity_name) for e in entry.entity): {
            v.key: v.value for v in entry.values
        }
        for entry in found.entries
    } == {
        (("client-id", None), ("user", f"u{v}")): {
            "producer_byte_rate": 1024.0,
            "request_percentage": 50.5,
        }
        for v in (0, 1)
    }


def test_alter_client_quotas_errors_come_per_entity(kafka):
    c = RawClient(kafka.bootstrap_servers)
    resp = alter_quotas(
        c,
        [
            {
                "entity": [{"entity_type": "client-id", "entity_name": "ok"}],
                "ops": [{"key": "consumer_byte_rate", "value": 10.0, "remove": False}],
            },
            {
                "entity": [{"entity_type": "client-id", "entity_name": "bad"}],
                "ops": [{"key": "consumer_byte_rate", "value": 0.5, "remove": False}],
            },
        ],
    )
    assert [(int(e.error_code), e.error_message) for e in resp.entries] == [
        (0, None),
        (42, "consumer_byte_rate cannot be a fractional value."),
    ]
    found = _describe(c, [])
    assert [e.entity[0].entity_name for e in found.entries] == ["ok"]


def test_validate_only_does_not_apply(kafka):
    c = RawClient(kafka.bootstrap_servers)
    entry = {
        "entity": [{"entity_type": "user", "entity_name": None}],
        "ops": [{"key": "producer_byte_rate", "value": 10.0, "remove": False}],
    }
    assert int(alter_quotas(c, [entry], validate_only=True).entries[0].error_code) == 0
    assert _describe(c, []).entries == ()


def test_describe_with_a_bad_filter_fails_the_whole_request(kafka):
    c = RawClient(kafka.bootstrap_servers)
    resp = _describe(c, [{"entity_type": "user", "match_type": 0, "match": None}])
    assert int(resp.error_code) == 42
    assert resp.error_message == "Request specified MATCH_TYPE_EXACT, but set match string to null."
    assert resp.entries is None


def test_quotas_survive_a_restart_with_a_data_dir(tmp_path):
    with EmbeddedKafka(data_dir=tmp_path, settings=WINDOWS) as k:
        set_quota(k.bootstrap_servers, {"client-id": "slow"}, producer_byte_rate=1000)
    with EmbeddedKafka(data_dir=tmp_path, settings=WINDOWS) as k:
        k.create_topic("q")
        c = RawClient(k.bootstrap_servers)
        found = _describe(c, [{"entity_type": "client-id", "match_type": 0, "match": "slow"}])
        assert [(v.key, v.value) for v in found.entries[0].values] == [
            ("producer_byte_rate", 1000.0)
        ]
        c.send_raw(produce_request("q", b"x" * 3000, 1, "slow"))
        assert produce_throttle_ms(c.read_frame()) > 0


def test_connection_creation_rate_closes_the_excess_connections(kafka):
    set_quota(kafka.bootstrap_servers, {"ip": "127.0.0.1"}, connection_creation_rate=1)
    # The AlterClientQuotas connection above was made before the quota existed.
    first = RawClient(kafka.bootstrap_servers)
    api_versions = {"client_software_name": "t", "client_software_version": "1"}
    assert first.call(codec.build(codec.request_schema(18, 3), api_versions)).error_code == 0
    second = RawClient(kafka.bootstrap_servers)
    eventually(lambda: server_side(kafka, second))
    assert not server_side(kafka, second)["reading"]
    kafka.advance(5)
    assert second.is_closed_by_peer()


# -- the throttle-time metric ----------------------------------------------------------------


def test_the_throttle_time_metric_counts_real_throttling():
    from observability.promtext import scrape, value

    with EmbeddedKafka(clock="manual", settings=WINDOWS, metrics_port=0) as kafka:
        kafka.create_topic("q")
        set_quota(kafka.bootstrap_servers, {"client-id": "slow"}, producer_byte_rate=1000)
        set_quota(kafka.bootstrap_servers, {"client-id": "reader"}, consumer_byte_rate=1000)
        c = RawClient(kafka.bootstrap_servers)
        c.send_raw(produce_request("q", b"x" * 2400, 1, "slow"))
        produced_ms = produce_throttle_ms(c.read_frame())
        reader = RawClient(kafka.bootstrap_servers)
        # A batch of ~2.5 KB is more than one window of 1,000 B/s allows: the first
        # Fetch is throttled and answered empty.
        reader.send_raw(fetch_request("q", correlation_id=1, client_id="reader"))
        fetched = decode_fetch(reader.read_frame())
        assert _records_in(fetched) == 0
        fetched_ms = round(fetched.throttle_time.total_seconds() * 1000)
        assert produced_ms > 0 and fetched_ms > 0
        samples = scrape(kafka.metrics_url)
        name = "kafka_server_quota_throttle_time_seconds_total"
        assert value(samples, name, quota="produce", client_id="slow") == produced_ms / 1000
        assert value(samples, name, quota="fetch", client_id="reader") == fetched_ms / 1000
        # The throttled Fetch returned no data, so no bytes out were counted for it.
        assert value(samples, "kafka_server_brokertopicmetrics_bytes_out_total", topic="q") in (
            None,
            0,
        )


# -- three nodes: configs are the cluster's, rates each node's ---------------------------------


def _node_address(kafka: EmbeddedKafka, node_id: int) -> str:
    return kafka.call(lambda c: c.nodes[node_id].address)


def test_on_three_nodes_a_quota_set_through_one_node_is_enforced_by_the_node_a_client_uses():
    with EmbeddedKafka(brokers=3, clock="manual", settings=WINDOWS) as kafka:
        kafka.create_topic("q", partitions=3, replication_factor=1)
        # Set through node 0, described through node 2.
        set_quota(_node_address(kafka, 0), {"client-id": "slow"}, producer_byte_rate=1000)
        other = RawClient(_node_address(kafka, 2))
        found = _describe(other, [{"entity_type": "client-id", "match_type": 0, "match": "slow"}])
        assert [(v.key, v.value) for v in found.entries[0].values] == [
            ("producer_byte_rate", 1000.0)
        ]
        leader = kafka.leader("q", 0)
        follower = next(n for n in kafka.node_ids if n != leader)
        # The client produces to partition 0's leader: that node throttles it.
        c = RawClient(_node_address(kafka, leader))
        c.send_raw(produce_request("q", b"x" * 3000, 1, "slow"))
        frame = c.read_frame()
        assert produce_error(frame, "q") == 0
        assert produce_throttle_ms(frame) > 0
        view = server_side(kafka, c)
        assert view["throttled"] and view["node"] == leader
        # Another node measured nothing of it: the same client is not throttled there
        # (it gets NOT_LEADER_OR_FOLLOWER for partition 0, answered at once).
        d = RawClient(_node_address(kafka, follower))
        d.send_raw(produce_request("q", b"x" * 100, 2, "slow"))
        frame = d.read_frame()
        assert produce_error(frame, "q") == 6  # NOT_LEADER_OR_FOLLOWER
        assert produce_throttle_ms(frame) == 0
        assert not server_side(kafka, d)["throttled"]
        counts = kafka.call(
            lambda cl: {
                i: cl.nodes[i].quotas.produce.observed_rate("ANONYMOUS", "slow")
                for i in cl.node_ids()
            }
        )
        assert counts[leader] > counts[follower] > 0
        assert all(v == 0 for i, v in counts.items() if i not in (leader, follower))
