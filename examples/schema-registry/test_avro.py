"""Avro with confluent-kafka's serializers and streamtest's schema registry.

The seed's three tests (serialization round trip, schema evolution read with a
newer reader schema, an incompatible schema refused with 409), with no Docker
Compose and no ``time.sleep(10)``: the ``schema_registry`` fixture is a
``SchemaRegistryClient`` for a registry on the session's ``kafka`` cluster, and
``schema_registry_url`` its URL for serializers and other tools.
"""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from streamtest import Cluster

USER_V1 = {
    "type": "record",
    "name": "UserCreated",
    "namespace": "com.example",
    "fields": [
        {"name": "user_id", "type": "long"},
        {"name": "email", "type": "string"},
    ],
}
# v2 adds an optional field with a default: BACKWARD compatible.
USER_V2 = {
    **USER_V1,
    "fields": [*USER_V1["fields"], {"name": "phone", "type": ["null", "string"], "default": None}],
}


def test_avro_serialization_round_trip(
    kafka: Cluster, kafka_topic: str, schema_registry: SchemaRegistryClient
) -> None:
    ctx = SerializationContext(kafka_topic, MessageField.VALUE)
    serialize = AvroSerializer(schema_registry, json.dumps(USER_V1))
    kafka.send(kafka_topic, [serialize({"user_id": 1, "email": "test@test.com"}, ctx)])

    (record,) = kafka.records(kafka_topic)
    event = AvroDeserializer(schema_registry)(record.value, ctx)

    assert event == {"user_id": 1, "email": "test@test.com"}
    # The registry now holds the value schema under the topic's subject.
    assert schema_registry.get_latest_version(f"{kafka_topic}-value").version == 1


def test_schema_evolution_old_message_read_with_new_schema(
    kafka: Cluster, kafka_topic: str, schema_registry: SchemaRegistryClient
) -> None:
    ctx = SerializationContext(kafka_topic, MessageField.VALUE)
    old_writer = AvroSerializer(schema_registry, json.dumps(USER_V1))
    kafka.send(kafka_topic, [old_writer({"user_id": 7, "email": "old@test.com"}, ctx)])
    # The producer moves on to v2; the registry accepts it (BACKWARD by default).
    new_writer = AvroSerializer(schema_registry, json.dumps(USER_V2))
    kafka.send(
        kafka_topic, [new_writer({"user_id": 8, "email": "new@test.com", "phone": "1"}, ctx)]
    )

    reader = AvroDeserializer(schema_registry, json.dumps(USER_V2))
    old, new = (reader(r.value, ctx) for r in kafka.records(kafka_topic))

    assert old == {"user_id": 7, "email": "old@test.com", "phone": None}  # the default
    assert new["phone"] == "1"
    assert schema_registry.get_versions(f"{kafka_topic}-value") == [1, 2]


def test_incompatible_schema_is_rejected(
    kafka_topic: str, schema_registry: SchemaRegistryClient
) -> None:
    subject = f"{kafka_topic}-value"
    schema_registry.register_schema(subject, Schema(json.dumps(USER_V1), "AVRO"))
    # A new required field without a default cannot read old records.
    breaking = {**USER_V1, "fields": [*USER_V1["fields"], {"name": "age", "type": "int"}]}

    with pytest.raises(SchemaRegistryError) as refused:
        schema_registry.register_schema(subject, Schema(json.dumps(breaking), "AVRO"))

    assert refused.value.http_status_code == 409
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in refused.value.error_message
    assert schema_registry.get_versions(subject) == [1]  # nothing was written
