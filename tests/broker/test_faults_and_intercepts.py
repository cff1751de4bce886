"""The public fault and interception API (``streamtest.faults``), with real clients,
in thread and process mode: the README's three recipes, hook verdicts, and hook
errors that surface in the test instead of hiding behind transport errors."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from streamtest import EmbeddedKafka
from streamtest.faults import (
    ApiKey,
    CloseConnection,
    Delay,
    DropResponse,
    ErrorCode,
    HookError,
)


@pytest.fixture(params=["thread", "process"])
def kafka(request):
    with EmbeddedKafka(mode=request.param) as k:
        yield k


def _create(kafka: EmbeddedKafka, name: str, timeout: float = 15) -> None:
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    admin.create_topics([NewTopic(name, 1, 1)], request_timeout=10)[name].result(timeout)


def _producer(kafka: EmbeddedKafka, **extra) -> Producer:
    return Producer({"bootstrap.servers": kafka.bootstrap_servers, "linger.ms": 0, **extra})


def test_recipe_fail_a_produce_on_one_partition(kafka):
    kafka.create_topic("orders", 2)
    fault = kafka.faults.add(
        api=ApiKey.PRODUCE, topic="orders", partition=0,
        error=ErrorCode.NOT_LEADER_OR_FOLLOWER, count=3,
    )
    producer = _producer(kafka, **{"retry.backoff.ms": 10, "enable.idempotence": True})
    producer.produce("orders", b"p0", partition=0)
    producer.produce("orders", b"p1", partition=1)
    assert producer.flush(20) == 0
    assert [r.value for r in kafka.records("orders", 0)] == [b"p0"]  # after 3 retries
    assert [r.value for r in kafka.records("orders", 1)] == [b"p1"]  # never failed
    assert fault.hits == 3 and kafka.faults.list() == []


def test_a_fault_without_retries_reaches_the_application(kafka):
    kafka.create_topic("t", 1)
    kafka.faults.add(api=ApiKey.PRODUCE, topic="t", error=ErrorCode.POLICY_VIOLATION)
    reports = []
    producer = _producer(kafka, **{"acks": 1})
    producer.produce("t", b"x", on_delivery=lambda err, msg: reports.append(err))
    producer.flush(20)
    assert reports[0].code() == KafkaError.POLICY_VIOLATION
    assert kafka.records("t") == []
    kafka.faults.clear()


def test_a_request_level_fault_fails_the_whole_request(kafka):
    kafka.faults.add(api=ApiKey.INIT_PRODUCER_ID, error=ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
                     count=1)
    producer = _producer(kafka, **{"enable.idempotence": True})
    producer.produce("t2", b"x")
    with pytest.raises(KafkaException) as err:
        producer.flush(10)
    assert err.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    assert kafka.faults.list() == []  # used up


def test_faults_on_single_partitions_are_refused_where_the_api_cannot_do_it(kafka):
    with pytest.raises(ValueError, match="cannot fail single topics"):
        kafka.faults.add(api=ApiKey.JOIN_GROUP, topic="t", error=ErrorCode.NOT_COORDINATOR)


def test_recipe_lose_an_ack_makes_the_client_retry(kafka):
    kafka.create_topic("acks", 1)
    kafka.intercept(ApiKey.PRODUCE, lambda req, resp: CloseConnection(), when="after")
    producer = _producer(kafka, **{"enable.idempotence": False, "acks": "all",
                                   "retries": 5, "retry.backoff.ms": 10})
    producer.produce("acks", b"once", partition=0)
    assert producer.flush(20) == 0
    values = [r.value for r in kafka.records("acks")]
    assert values == [b"once", b"once"]  # appended, ack lost, retried: a duplicate


def test_a_dropped_response_is_processed_but_never_answered(kafka):
    handle = kafka.intercept(ApiKey.CREATE_TOPICS, lambda req: DropResponse())
    with pytest.raises((KafkaException, TimeoutError)):
        _create(kafka, "silent", timeout=3)
    assert "silent" in kafka.topics()  # the request was served
    assert handle.calls == 1


def test_recipe_slow_a_fetch_and_typed_requests(kafka):
    kafka.create_topic("slow", 1)
    seen = []

    def slow(request):
        seen.append(type(request).__name__)
        return Delay(0.2)

    handle = kafka.intercept(ApiKey.FETCH, slow, keep=True)
    producer = _producer(kafka)
    producer.produce("slow", b"v")
    producer.flush(10)
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": "g",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition("slow", 0, 0)])
    msg = None
    for _ in range(50):
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            break
    consumer.close()
    handle.remove()
    assert msg is not None and msg.value() == b"v"
    assert seen and set(seen) == {"FetchRequest"}


def test_a_replacement_response_and_info(kafka):
    infos = []

    def refuse(request, info):
        infos.append((info.api_key, info.node_id))
        return {
            "throttle_time": 0,
            "topics": [
                {"name": t.name, "error_code": ErrorCode.POLICY_VIOLATION,
                 "error_message": "refused by test", "num_partitions": -1,
                 "replication_factor": -1, "configs": []}
                for t in request.topics
            ],
        }

    handle = kafka.intercept(ApiKey.CREATE_TOPICS, refuse)
    with pytest.raises(KafkaException) as err:
        _create(kafka, "refused")
    assert err.value.args[0].code() == KafkaError.POLICY_VIOLATION
    assert "refused" not in kafka.topics()
    assert handle.calls == 1 and infos == [(ApiKey.CREATE_TOPICS, 0)]
    _create(kafka, "allowed")  # not kept: the next request passes
    assert "allowed" in kafka.topics()


def test_a_hook_that_raises_fails_the_test_not_the_client(kafka):
    def buggy(request):
        raise ZeroDivisionError("bug in the test's hook")

    handle = kafka.intercept(ApiKey.CREATE_TOPICS, buggy, keep=True)
    _create(kafka, "still-served")  # the client sees a normal answer
    assert "still-served" in kafka.topics()
    with pytest.raises(HookError, match="ZeroDivisionError") as err:
        handle.remove()
    assert isinstance(err.value.__cause__, ZeroDivisionError)


def test_an_unremoved_failing_hook_is_raised_when_the_cluster_stops():
    kafka = EmbeddedKafka().start()
    kafka.intercept(ApiKey.METADATA, lambda req: 1 / 0, keep=True)
    AdminClient({"bootstrap.servers": kafka.bootstrap_servers}).list_topics(timeout=10)
    with pytest.raises(HookError):
        kafka.stop()
    assert not kafka.running
