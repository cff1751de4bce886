"""Control hooks (kfake's ControlKey): intercept, answer, fail, delay or drop a
request by API key, from a test, against real clients."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from streamtest import EmbeddedKafka
from streamtest.broker.dispatch import Delay, Drop
from streamtest.protocol.errors import ErrorCode

CREATE_TOPICS = 19


@pytest.fixture
def kafka():
    with EmbeddedKafka() as k:
        yield k


def _create(kafka: EmbeddedKafka, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    admin.create_topics([NewTopic(name, 1, 1)], request_timeout=10)[name].result(15)


def test_hook_can_fail_a_request_with_a_kafka_error(kafka):
    def refuse(ctx, request):
        return {
            "throttle_time": 0,
            "topics": [
                {
                    "name": t.name,
                    "error_code": ErrorCode.POLICY_VIOLATION,
                    "error_message": "refused by test",
                    "num_partitions": -1,
                    "replication_factor": -1,
                    "configs": [],
                }
                for t in request.topics
            ],
        }

    hook = kafka.call(lambda b: b.hooks.add(refuse, api_key=CREATE_TOPICS))
    with pytest.raises(KafkaException) as err:
        _create(kafka, "refused")
    assert err.value.args[0].code() == KafkaError.POLICY_VIOLATION
    assert "refused" not in kafka.topics()
    assert hook.calls == 1
    _create(kafka, "allowed")  # the hook was not kept: the next request passes
    assert "allowed" in kafka.topics()


def test_kept_hook_sees_every_request_until_removed(kafka):
    seen = []

    def spy(ctx, request):
        seen.append([t.name for t in request.topics])
        return None  # pass through

    hook = kafka.call(lambda b: b.hooks.add(spy, api_key=CREATE_TOPICS, keep=True))
    _create(kafka, "a1")
    _create(kafka, "a2")
    kafka.call(lambda b: b.hooks.remove(hook))
    _create(kafka, "a3")
    assert seen == [["a1"], ["a2"]]


def test_hook_can_delay_a_request(kafka):
    kafka.call(lambda b: b.hooks.add(lambda ctx, req: Delay(0.3), api_key=CREATE_TOPICS))
    started = time.monotonic()
    _create(kafka, "slow")
    assert time.monotonic() - started >= 0.3
    assert "slow" in kafka.topics()


def test_hook_can_drop_the_connection(kafka):
    dropped = kafka.call(lambda b: b.hooks.add(lambda ctx, req: Drop(), api_key=CREATE_TOPICS))
    with pytest.raises(KafkaException) as err:
        _create(kafka, "dropped")
    # Admin requests are not retried by librdkafka after a broken connection.
    assert err.value.args[0].code() == KafkaError._TRANSPORT
    assert dropped.calls == 1 and "dropped" not in kafka.topics()
    _create(kafka, "after-drop")  # the broker keeps serving
    assert "after-drop" in kafka.topics()
