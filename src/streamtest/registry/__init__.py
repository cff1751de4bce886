"""An embedded, Confluent-compatible schema registry (Avro, JSON Schema, Protobuf).

:class:`SchemaRegistry` serves Confluent's REST API on loopback and keeps its
schemas in a compacted ``_schemas`` topic, in Confluent's record format, reached
through the Kafka protocol, so it runs against the embedded broker or any Kafka.

Layers, lowest first: :mod:`.formats` (parsing, canonical forms, compatibility per
schema type), :mod:`.compat` (levels), :mod:`.state` (the state rebuilt from the
topic, pure), :mod:`.store` (the topic over Kafka), :mod:`.service` (the REST
operations), :mod:`.http` (HTTP over h11) and :mod:`.server` (the lifecycle).
"""

from .errors import RegistryError
from .server import SchemaRegistry

__all__ = ["RegistryError", "SchemaRegistry"]
