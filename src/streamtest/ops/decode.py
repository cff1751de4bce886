"""Decoding records written by Confluent's serializers into readable JSON, through a
schema registry (what kcat's ``-s value=avro -r URL`` does, for Avro, JSON Schema and
Protobuf).

Confluent's wire format: a zero magic byte, the schema id (4 bytes, big-endian),
then for Protobuf the message indexes (a zigzag-varint count and indexes, ``0`` alone
meaning ``[0]``), then the serialized data. Avro and JSON Schema values go through
confluent-kafka's own deserializers; Protobuf, for which confluent-kafka needs the
generated class, is decoded from the writer's schema: the registry gives its file
descriptor (``?format=serialized``) and those of its references, which are loaded
into a private descriptor pool.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import struct
import uuid
from collections.abc import Callable
from typing import Any

from .errors import InvalidInputError, OpsError

FORMATS = ("bytes", "avro", "json-schema", "protobuf")


def _default(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return base64.b64encode(obj).decode("ascii")
    if isinstance(obj, decimal.Decimal):
        return str(obj)
    if isinstance(obj, datetime.datetime | datetime.date | datetime.time):
        return obj.isoformat()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _zigzag(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated message index")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
    return (result >> 1) ^ -(result & 1), pos


class _ProtobufDecoder:
    """Decodes Protobuf values from the writer's schema (no generated code needed)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.classes: dict[tuple[int, tuple[int, ...]], Any] = {}
        self.pools: dict[int, Any] = {}

    def _pool(self, schema_id: int) -> tuple[Any, Any]:
        from google.protobuf import descriptor_pb2, descriptor_pool

        if schema_id not in self.pools:
            pool = descriptor_pool.DescriptorPool()
            schema = self.client.get_schema(schema_id, fmt="serialized")
            self._add_refs(pool, schema.references or [], set())
            fd = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(schema.schema_str))
            fd.name = fd.name or f"schema-{schema_id}.proto"
            self._add_builtins(pool, fd)
            self.pools[schema_id] = (pool, pool.Add(fd) or pool.FindFileByName(fd.name))
        return self.pools[schema_id]

    def _add_builtins(self, pool: Any, fd: Any) -> None:
        from google.protobuf import descriptor_pb2, descriptor_pool

        for dep in fd.dependency:
            try:
                pool.FindFileByName(dep)
                continue
            except KeyError:
                pass
            try:
                import confluent_kafka.schema_registry.common.protobuf  # noqa: F401

                found = descriptor_pool.Default().FindFileByName(dep)
            except (KeyError, ImportError):
                continue
            proto = descriptor_pb2.FileDescriptorProto()
            found.CopyToProto(proto)
            self._add_builtins(pool, proto)
            pool.Add(proto)

    def _add_refs(self, pool: Any, refs: list[Any], done: set[str]) -> None:
        from google.protobuf import descriptor_pb2

        for ref in refs:
            if ref.name in done:
                continue
            done.add(ref.name)
            registered = self.client.get_version(ref.subject, ref.version, True, "serialized")
            self._add_refs(pool, registered.schema.references or [], done)
            fd = descriptor_pb2.FileDescriptorProto.FromString(
                base64.b64decode(registered.schema.schema_str)
            )
            fd.name = ref.name
            self._add_builtins(pool, fd)
            try:
                pool.Add(fd)
            except TypeError:
                pass  # already there

    def __call__(self, data: bytes, ctx: Any = None) -> Any:
        from google.protobuf import json_format, message_factory

        schema_id = struct.unpack(">I", data[1:5])[0]
        count, pos = _zigzag(data, 5)
        indexes = [0]
        if count:
            indexes = []
            for _ in range(count):
                i, pos = _zigzag(data, pos)
                indexes.append(i)
        key = (schema_id, tuple(indexes))
        if key not in self.classes:
            _, file = self._pool(schema_id)
            desc = file.message_types_by_name[list(file.message_types_by_name)[indexes[0]]]
            for i in indexes[1:]:
                desc = desc.nested_types[i]
            self.classes[key] = message_factory.GetMessageClass(desc)
        msg = self.classes[key].FromString(data[pos:])
        return json_format.MessageToDict(msg, preserving_proto_field_name=True)


def make_decoder(
    fmt: str, url: str | None, field: str = "value"
) -> Callable[[bytes | None, str], bytes | None]:
    """Return ``decode(data, topic)``, turning a key or value in ``fmt`` into JSON bytes
    (``bytes`` returns data unchanged).

    Raises:
        InvalidInputError: a registry format without ``url``, or an unknown format.
    """
    if fmt == "bytes":
        return lambda data, topic: data
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not url:
        raise InvalidInputError(f"--{field}-format {fmt} needs --schema-registry-url")
    try:
        from confluent_kafka.schema_registry import SchemaRegistryClient
    except ImportError as exc:
        raise InvalidInputError(
            f"decoding {fmt} needs confluent-kafka's schema registry support ({exc.name} is "
            "missing): pip install 'streamtest[registry]'"
        ) from None
    from confluent_kafka.serialization import MessageField, SerializationContext

    client = SchemaRegistryClient({"url": url})
    where = MessageField.KEY if field == "key" else MessageField.VALUE
    decode: Callable[[bytes, Any], Any]
    if fmt == "avro":
        from confluent_kafka.schema_registry.avro import AvroDeserializer

        avro = AvroDeserializer(client)
        decode = avro
    elif fmt == "json-schema":
        from confluent_kafka.schema_registry.json_schema import JSONDeserializer

        js = JSONDeserializer(None, schema_registry_client=client)
        decode = js
    else:
        decode = _ProtobufDecoder(client)

    def run(data: bytes | None, topic: str) -> bytes | None:
        if data is None:
            return None
        if len(data) < 5 or data[0] != 0:
            raise OpsError(
                f"the {field} is not in Confluent's schema registry framing "
                "(no magic byte 0 and schema id)"
            )
        try:
            obj = decode(data, SerializationContext(topic, where))
        except OpsError:
            raise
        except Exception as exc:
            raise OpsError(f"cannot decode the {field} as {fmt}: {exc}") from None
        return json.dumps(obj, default=_default, ensure_ascii=False, separators=(",", ":")).encode()

    return run
