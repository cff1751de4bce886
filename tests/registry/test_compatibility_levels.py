"""Every compatibility level with each schema type, through confluent-kafka's own
serializers (AvroSerializer, JSONSerializer, ProtobufSerializer), unchanged.

Each schema type has five variants of one schema:

- ``base``: the first version;
- ``full``: compatible with ``base`` both ways;
- ``back``: can read ``base`` data, but ``base`` cannot read its data (BACKWARD only);
- ``fwd``: ``base`` can read its data, but it cannot read ``base`` data (FORWARD only);
- ``breaking``: incompatible with ``base`` and ``full`` both ways.

A serializer registers its schema on first use (``auto.register.schemas``), so a
refused schema surfaces as the serializer's error, as in an application.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streamtest.kit.cluster import unique_name

LEVELS = [
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
]

# -- Avro ------------------------------------------------------------------------------


def _avro(*fields: dict[str, Any]) -> str:
    return json.dumps(
        {"type": "record", "name": "M", "namespace": "compat", "fields": list(fields)}
    )


AVRO = {
    "base": (
        _avro({"name": "a", "type": "int"}, {"name": "b", "type": "string"}),
        {"a": 1, "b": "x"},
    ),
    "full": (
        _avro(
            {"name": "a", "type": "int"},
            {"name": "b", "type": "string"},
            {"name": "c", "type": "string", "default": ""},
        ),
        {"a": 1, "b": "x", "c": "y"},
    ),
    # dropping b (no default): new reads old (ignores b); old cannot read new (needs b)
    "back": (_avro({"name": "a", "type": "int"}), {"a": 1}),
    # adding d without a default: old reads new (ignores d); new cannot read old
    "fwd": (
        _avro(
            {"name": "a", "type": "int"},
            {"name": "b", "type": "string"},
            {"name": "d", "type": "int"},
        ),
        {"a": 1, "b": "x", "d": 2},
    ),
    "breaking": (
        _avro({"name": "a", "type": "string"}, {"name": "b", "type": "string"}),
        {"a": "1", "b": "x"},
    ),
}

# -- JSON Schema (closed content models, Confluent's rules) -------------------------------


def _json(props: dict[str, Any], required: list[str], **extra: Any) -> str:
    return json.dumps(
        {
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
            **extra,
        }
    )


_A_INT = {"a": {"type": "integer"}}
JSON = {
    "base": (_json({**_A_INT, "b": {"type": "string"}}, ["a"]), {"a": 1, "b": "x"}),
    "full": (
        _json({**_A_INT, "b": {"type": "string"}}, ["a"], description="an M"),
        {"a": 1, "b": "x"},
    ),
    # an optional property added to a closed model: new accepts all old data
    "back": (
        _json({**_A_INT, "b": {"type": "string"}, "c": {"type": "string"}}, ["a"]),
        {"a": 1, "c": "z"},
    ),
    # a property removed from a closed model: old accepts all new data
    "fwd": (_json(_A_INT, ["a"]), {"a": 1}),
    "breaking": (
        _json({"a": {"type": "string"}, "b": {"type": "string"}}, ["a"]),
        {"a": "1", "b": "x"},
    ),
}

# -- Protobuf (Confluent's rules: moving several fields into a oneof is incompatible,
#    moving fields out of a oneof is compatible) ---------------------------------------

_PROTO_BASE_FIELDS = (
    "int32 a = 1; oneof o { string b = 2; int32 c = 3; } string e = 5; int32 f = 6;"
)
PROTO = {
    "base": f"message M {{ {_PROTO_BASE_FIELDS} }}",
    "full": f"message M {{ {_PROTO_BASE_FIELDS} string g = 7; }}",
    "back": "message M { int32 a = 1; string b = 2; int32 c = 3; string e = 5; int32 f = 6; }",
    "fwd": "message M { int32 a = 1; oneof o { string b = 2; int32 c = 3; } "
    "oneof p { string e = 5; int32 f = 6; } }",
    "breaking": "message M { string a = 1; oneof o { string b = 2; int32 c = 3; } "
    "string e = 5; int32 f = 6; }",
}


def _proto_class(tmp: Path, variant: str) -> Any:
    """Compile one variant with protoc into its own descriptor pool (the variants share
    a message name) and return its message class."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    src = tmp / variant
    src.mkdir(exist_ok=True)
    (src / "m.proto").write_text(f'syntax = "proto3";\npackage compat;\n{PROTO[variant]}\n')
    out = src / "m.pb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{src}",
            f"--descriptor_set_out={out}",
            "m.proto",
        ],
        check=True,
    )
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("compat.M"))


# -- registering through a serializer ------------------------------------------------------


def _serializer(
    kind: str, variant: str, client: SchemaRegistryClient, subject: str, tmp: Path
) -> Callable[[], bytes]:
    conf = {"subject.name.strategy": lambda ctx, name: subject}
    ctx = SerializationContext("compat-topic", MessageField.VALUE)
    if kind == "AVRO":
        schema, sample = AVRO[variant]
        ser: Any = AvroSerializer(client, schema, conf=conf)
        return lambda: ser(sample, ctx)
    if kind == "JSON":
        schema, sample = JSON[variant]
        ser = JSONSerializer(schema, client, conf=conf)
        return lambda: ser(sample, ctx)
    cls = _proto_class(tmp, variant)
    ser = ProtobufSerializer(cls, client, {**conf, "use.deprecated.format": False})
    return lambda: ser(cls(), ctx)


def _registers(
    kind: str, variant: str, client: SchemaRegistryClient, subject: str, tmp: Path
) -> bool:
    """Serialize one value with ``variant``'s serializer: True if its schema was
    accepted, False if the registry refused it with 409."""
    try:
        _serializer(kind, variant, client, subject, tmp)()
    except SchemaRegistryError as exc:
        assert exc.http_status_code == 409, exc
        return False
    except Exception as exc:  # serializers wrap registry errors in their own
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, SchemaRegistryError) and cause.http_status_code == 409:
            return False
        if "incompatible" in str(exc):
            return False
        raise
    return True


def _expected(level: str, variant: str) -> bool:
    base = level.removesuffix("_TRANSITIVE")
    return {
        "full": True,
        "back": base in ("NONE", "BACKWARD"),
        "fwd": base in ("NONE", "FORWARD"),
        "breaking": base == "NONE",
    }[variant]


@pytest.mark.parametrize("kind", ["AVRO", "JSON", "PROTOBUF"])
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("variant", ["full", "back", "fwd", "breaking"])
def test_second_version_is_checked_against_the_first(
    schema_registry: SchemaRegistryClient, tmp_path: Path, kind: str, level: str, variant: str
) -> None:
    subject = unique_name(f"{kind}-{level}-{variant}")
    schema_registry.set_compatibility(subject_name=subject, level=level)
    assert _registers(kind, "base", schema_registry, subject, tmp_path)

    accepted = _registers(kind, variant, schema_registry, subject, tmp_path)

    assert accepted is _expected(level, variant)
    assert len(schema_registry.get_versions(subject)) == (2 if accepted else 1)


@pytest.mark.parametrize("kind", ["AVRO", "JSON", "PROTOBUF"])
@pytest.mark.parametrize("level", LEVELS)
def test_transitive_levels_check_every_earlier_version(
    schema_registry: SchemaRegistryClient, tmp_path: Path, kind: str, level: str
) -> None:
    # v1 is incompatible both ways with v2 (registered under NONE); the candidate is
    # fully compatible with v2, the latest, and incompatible both ways with v1.
    subject = unique_name(f"{kind}-{level}-chain")
    schema_registry.set_compatibility(subject_name=subject, level="NONE")
    assert _registers(kind, "breaking", schema_registry, subject, tmp_path)
    assert _registers(kind, "base", schema_registry, subject, tmp_path)
    schema_registry.set_compatibility(subject_name=subject, level=level)

    accepted = _registers(kind, "full", schema_registry, subject, tmp_path)

    assert accepted is (not level.endswith("_TRANSITIVE"))
