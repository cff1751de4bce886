"""Build your own fixtures with streamtest's fixture factories.

The plugin's fixtures are made by ``streamtest.factories``; yours can be too, with
their own cluster, topic shape or client settings (as pytest-postgresql's
``factories.postgresql_proc`` / ``postgresql_noproc`` / ``postgresql``). Put the
assignments in a conftest.py to share them; here they sit in the test module.
"""

from __future__ import annotations

from confluent_kafka import Producer

from streamtest import Cluster, EmbeddedCluster, factories

# A second session cluster: the embedded broker in a child process (its own GIL),
# whose auto-created topics get 4 partitions. Every setting given to a factory
# beats --kafka-backend, the ini file and STREAMTEST_BACKEND.
kafka_proc = factories.kafka_cluster("embedded", mode="process", partitions=4)

# Topics and clients bound to that cluster, by fixture name.
orders_topic = factories.kafka_topic(
    "kafka_proc", partitions=6, config={"cleanup.policy": "compact"}
)
orders_producer = factories.kafka_producer("kafka_proc", acks="all", linger_ms=0)

# To point a suite at an existing cluster instead (like postgresql_noproc):
#   staging = factories.kafka_external("kafka.staging.internal:9092")


def test_own_cluster_is_separate(kafka: Cluster, kafka_proc: Cluster) -> None:
    assert isinstance(kafka_proc, EmbeddedCluster) and kafka_proc.mode == "process"
    assert kafka_proc.bootstrap_servers != kafka.bootstrap_servers


def test_own_topic_and_producer(
    kafka_proc: Cluster, orders_topic: str, orders_producer: Producer
) -> None:
    orders_producer.produce(orders_topic, key=b"order-1", value=b"created")
    orders_producer.flush(10)
    [record] = kafka_proc.records(orders_topic)
    assert (record.key, record.value) == (b"order-1", b"created")
    admin = kafka_proc.admin()
    assert len(admin.list_topics(orders_topic).topics[orders_topic].partitions) == 6
