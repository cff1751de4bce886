"""The protocol baseline (issue 14, item 6): request versions Kafka 4.0 removed
(KIP-896) close the connection, as on Kafka 4.x, unless
``streamtest.legacy.protocol=true`` serves them again. kafka-python told to speak
to a 0.10.0 broker sends ListOffsets v0, as old tools do."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaTimeoutError

from streamtest import EmbeddedKafka

pytestmark = pytest.mark.interop


def _end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, api_version=(0, 10, 0), request_timeout_ms=3000
    )
    try:
        return consumer.end_offsets([TopicPartition("old", 0)])
    finally:
        consumer.close()


@pytest.mark.parametrize("legacy", [False, True])
def test_list_offsets_v0_closes_unless_the_legacy_protocol_is_on_kafka_python(legacy):
    with EmbeddedKafka(settings={"streamtest.legacy.protocol": legacy}) as kafka:
        kafka.create_topic("old", 1)
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
        for _ in range(3):
            producer.produce("old", b"x")
        assert producer.flush(15) == 0
        if legacy:
            assert _end_offsets(kafka.bootstrap_servers) == {TopicPartition("old", 0): 3}
        else:
            with pytest.raises(KafkaTimeoutError):
                _end_offsets(kafka.bootstrap_servers)
