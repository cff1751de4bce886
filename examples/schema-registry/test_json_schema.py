"""JSON Schema with confluent-kafka's JSONSerializer/JSONDeserializer, unchanged."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from streamtest import Cluster

ORDER = json.dumps(
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Order",
        "type": "object",
        "properties": {
            "order_id": {"type": "integer"},
            "amount": {"type": "number", "minimum": 0},
        },
        "required": ["order_id", "amount"],
        "additionalProperties": False,
    }
)


def test_json_schema_round_trip(
    kafka: Cluster, kafka_topic: str, schema_registry: SchemaRegistryClient
) -> None:
    ctx = SerializationContext(kafka_topic, MessageField.VALUE)
    serialize = JSONSerializer(ORDER, schema_registry)
    kafka.send(kafka_topic, [serialize({"order_id": 1, "amount": 9.5}, ctx)])

    (record,) = kafka.records(kafka_topic)
    # The deserializer fetches the writer's schema by the id in the record's prefix.
    order = JSONDeserializer(None, schema_registry_client=schema_registry)(record.value, ctx)

    assert order == {"order_id": 1, "amount": 9.5}
    registered = schema_registry.get_latest_version(f"{kafka_topic}-value")
    assert registered.schema.schema_type == "JSON"


def test_json_serializer_refuses_data_its_schema_rejects(
    kafka_topic: str, schema_registry: SchemaRegistryClient
) -> None:
    serialize = JSONSerializer(ORDER, schema_registry)
    with pytest.raises(SerializationError, match="amount"):
        serialize({"order_id": 1}, SerializationContext(kafka_topic, MessageField.VALUE))
