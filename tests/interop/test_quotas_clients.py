"""Client quotas with real clients: confluent-kafka producers and consumers slowed
to the quota and told so (librdkafka's ``throttle_cb``), and the quota admin APIs
through kafka-python's admin client.

confluent-kafka's AdminClient has no alter/describe_client_quotas (librdkafka
lacks the APIs), so quotas are set with kafka-python, whose protocol module has
the AlterClientQuotas and DescribeClientQuotas messages; its admin client has no
method for them, so the test sends them on the admin client's own connection.
The real clock is used; the assertions are lower bounds on time (throttling can
only slow a client down) and the throttle reports, never upper bounds.
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.protocol.admin.client_quotas import (
    AlterClientQuotasRequest,
    DescribeClientQuotasRequest,
)

from streamtest import EmbeddedKafka

from .helpers import create_topic

pytestmark = pytest.mark.interop

WINDOWS = {"quota.window.num": "2", "quota.window.size.seconds": "1"}


def _send(admin: KafkaAdminClient, request):  # kafka-python has no public method for these
    async def call():
        return await admin._manager.send(request)

    return admin._manager.run(call)


def _alter(admin: KafkaAdminClient, entity: dict[str, str | None], validate_only=False, **ops):
    Entry = AlterClientQuotasRequest.EntryData
    request = AlterClientQuotasRequest(
        entries=[
            Entry(
                entity=[Entry.EntityData(entity_type=t, entity_name=n) for t, n in entity.items()],
                ops=[
                    Entry.OpData(key=k, value=0.0 if v is None else float(v), remove=v is None)
                    for k, v in ops.items()
                ],
            )
        ],
        validate_only=validate_only,
    )
    return _send(admin, request)


def _describe(admin: KafkaAdminClient, components: list[tuple[str, int, str | None]], strict=False):
    Component = DescribeClientQuotasRequest.ComponentData
    request = DescribeClientQuotasRequest(
        components=[Component(entity_type=t, match_type=m, match=n) for t, m, n in components],
        strict=strict,
    )
    return _send(admin, request)


@pytest.fixture
def kafka():
    with EmbeddedKafka(settings=WINDOWS) as k:
        yield k


@pytest.fixture
def admin(kafka):
    client = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    yield client
    client.close()


def test_kafka_python_alters_and_describes_client_quotas(admin):
    resp = _alter(admin, {"user": "alice", "client-id": None}, producer_byte_rate=2048)
    assert [(e.error_code, e.error_message) for e in resp.entries] == [(0, None)]
    resp = _alter(admin, {"client-id": "app"}, consumer_byte_rate=4096, request_percentage=25.5)
    assert resp.entries[0].error_code == 0
    described = _describe(admin, [("user", 0, "alice")])
    assert described.error_code == 0
    assert [
        (
            sorted((d.entity_type, d.entity_name) for d in e.entity),
            {v.key: v.value for v in e.values},
        )
        for e in described.entries
    ] == [([("client-id", None), ("user", "alice")], {"producer_byte_rate": 2048.0})]
    everything = _describe(admin, [])
    assert len(everything.entries) == 2
    # Remove a key: the entity goes once it has none.
    assert _alter(admin, {"client-id": "app"}, consumer_byte_rate=None).entries[0].error_code == 0
    app = _describe(admin, [("client-id", 0, "app")]).entries
    assert [{v.key: v.value for v in e.values} for e in app] == [{"request_percentage": 25.5}]


def test_kafka_python_sees_kafkas_validation_errors(admin):
    resp = _alter(admin, {"client-id": "app"}, produce_byte_rate=10)
    assert (resp.entries[0].error_code, resp.entries[0].error_message) == (
        42,
        "Invalid configuration key produce_byte_rate",
    )
    resp = _alter(admin, {"user": ""}, producer_byte_rate=10)
    assert resp.entries[0].error_message == "Empty user not supported"
    assert (
        _alter(admin, {"user": "u"}, validate_only=True, producer_byte_rate=10)
        .entries[0]
        .error_code
        == 0
    )
    assert _describe(admin, []).entries == []
    bad = _describe(admin, [("tenant", 2, None)])
    assert (bad.error_code, bad.error_message) == (35, "Unsupported entity type tenant")


def _produce(kafka: EmbeddedKafka, topic: str, client_id: str, n: int) -> tuple[float, list[float]]:
    throttles: list[float] = []
    # One record per request: the broker accepts a whole request and throttles the
    # next one, so the rate can only follow the quota over many requests.
    producer = Producer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "client.id": client_id,
            "linger.ms": 0,
            "batch.size": 1200,
            "throttle_cb": lambda event: throttles.append(event.throttle_time),
        }
    )
    start = time.monotonic()
    for _ in range(n):
        producer.produce(topic, value=b"x" * 1000, partition=0)
        producer.poll(0)
    assert producer.flush(60) == 0
    elapsed = time.monotonic() - start
    producer.poll(0)
    return elapsed, throttles


@pytest.mark.slow
def test_confluent_producer_is_slowed_to_the_produce_quota_and_told(kafka, admin):
    create_topic(kafka.bootstrap_servers, "pq")
    assert (
        _alter(admin, {"client-id": "throttled"}, producer_byte_rate=50_000).entries[0].error_code
        == 0
    )
    unthrottled_elapsed, free_throttles = _produce(kafka, "pq", "free", 200)
    elapsed, throttles = _produce(kafka, "pq", "throttled", 200)
    assert free_throttles == [] or max(free_throttles) == 0
    assert throttles and max(throttles) > 0, "librdkafka saw no throttle time"
    # 200 KB at 50 KB/s, one second of burst allowed: about 3 s; half of that is
    # a bound no amount of machine load can break.
    assert elapsed >= 1.5, f"{elapsed:.2f} s for 200 KB at 50 KB/s"
    assert len(kafka.records("pq")) == 400


@pytest.mark.slow
def test_confluent_consumer_is_slowed_to_the_fetch_quota_and_told(kafka, admin):
    create_topic(kafka.bootstrap_servers, "fq")
    # Batches of one record: a batch larger than the quota allows in its window
    # (quota * (quota.window.num - 1) * window) could never be fetched, in Kafka too.
    _produce(kafka, "fq", "filler", 200)
    assert (
        _alter(admin, {"client-id": "reader"}, consumer_byte_rate=50_000).entries[0].error_code == 0
    )
    throttles: list[float] = []
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "client.id": "reader",
            "group.id": f"g-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "throttle_cb": lambda event: throttles.append(event.throttle_time),
        }
    )
    consumer.assign([TopicPartition("fq", 0, 0)])
    got = 0
    start = time.monotonic()
    deadline = start + 60
    while got < 200 and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error():
            got += 1
    elapsed = time.monotonic() - start
    consumer.close()
    assert got == 200
    assert throttles and max(throttles) > 0, "librdkafka saw no throttle time"
    assert elapsed >= 1.5, f"{elapsed:.2f} s for 200 KB at 50 KB/s"
