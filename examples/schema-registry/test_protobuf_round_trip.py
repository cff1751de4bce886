"""Protobuf with confluent-kafka's ProtobufSerializer/ProtobufDeserializer, unchanged.

The serializer registers the message's file descriptor (base64); the registry
stores it as ``.proto`` text and gives it back in either form.
"""

from __future__ import annotations

from types import ModuleType

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streamtest import Cluster


def test_protobuf_round_trip(
    kafka: Cluster,
    kafka_topic: str,
    schema_registry: SchemaRegistryClient,
    user_pb2: ModuleType,
) -> None:
    ctx = SerializationContext(kafka_topic, MessageField.VALUE)
    serialize = ProtobufSerializer(user_pb2.User, schema_registry, {"use.deprecated.format": False})
    user = user_pb2.User(name="Ada", favorite_number=7, tags=["admin", "beta"])
    kafka.send(kafka_topic, [serialize(user, ctx)])

    (record,) = kafka.records(kafka_topic)
    deserialize = ProtobufDeserializer(user_pb2.User, {"use.deprecated.format": False})

    assert deserialize(record.value, ctx) == user
    text = schema_registry.get_latest_version(f"{kafka_topic}-value").schema.schema_str
    assert "message User {" in text and "repeated string tags = 3;" in text
