"""``streamtest registry`` and ``streamtest consume --value-format`` against the
embedded registry, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streamtest import EmbeddedKafka

V1 = {"type": "record", "name": "U", "fields": [{"name": "n", "type": "string"}]}
V2_BREAKING = {**V1, "fields": [*V1["fields"], {"name": "age", "type": "int"}]}


@pytest.fixture(scope="module")
def kafka() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka(schema_registry=True) as k:
        yield k


def st(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamtest.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_register_get_check_config_delete(kafka: EmbeddedKafka, tmp_path: Path) -> None:
    url = ["--url", kafka.schema_registry_url]
    v1, v2 = tmp_path / "v1.avsc", tmp_path / "v2.avsc"
    v1.write_text(json.dumps(V1))
    v2.write_text(json.dumps(V2_BREAKING))

    assert st("registry", "register", "users-value", str(v1), *url).stdout.strip() == "1"
    assert st("registry", "subjects", *url).stdout.split() == ["users-value"]
    assert st("registry", "versions", "users-value", *url).stdout.split() == ["1"]
    got = json.loads(st("registry", "get", "users-value", *url).stdout)
    assert got["id"] == 1 and json.loads(got["schema"]) == V1

    checked = st("registry", "check", "users-value", str(v2), *url)
    assert checked.returncode == 1
    assert (
        "incompatible" in checked.stdout and "READER_FIELD_MISSING_DEFAULT_VALUE" in checked.stdout
    )

    assert st("registry", "config", "users-value", "--set", "none", *url).stdout.strip() == "NONE"
    assert st("registry", "check", "users-value", str(v2), *url).returncode == 0
    assert st("registry", "delete", "users-value", *url).stdout.split() == ["1"]


def test_registry_errors_are_one_line(kafka: EmbeddedKafka, tmp_path: Path) -> None:
    missing = st("registry", "versions", "nope", "--url", kafka.schema_registry_url)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Error: Subject 'nope' not found. (40401)"
    bad = tmp_path / "bad.avsc"
    bad.write_text('{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nah"}]}')
    refused = st("registry", "register", "x", str(bad), "--url", kafka.schema_registry_url)
    assert refused.returncode == 1 and "(42201)" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    unreachable = st("registry", "subjects", "--url", "http://127.0.0.1:1", "--timeout", "2")
    assert unreachable.returncode == 1 and "cannot reach the schema registry" in unreachable.stderr


@pytest.mark.parametrize("fmt", ["avro", "json-schema"])
def test_consume_decodes_values_through_the_registry(kafka: EmbeddedKafka, fmt: str) -> None:
    topic = f"decode-{fmt}"
    client = SchemaRegistryClient({"url": kafka.schema_registry_url})
    ctx = SerializationContext(topic, MessageField.VALUE)
    if fmt == "avro":
        ser = AvroSerializer(client, json.dumps(V1))
    else:
        ser = JSONSerializer(
            json.dumps({"type": "object", "properties": {"n": {"type": "string"}}}), client
        )
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
    producer.produce(topic, ser({"n": "Ada"}, ctx), key=b"k")
    assert producer.flush(10) == 0

    out = st(
        "consume",
        "-t",
        topic,
        "-o",
        "beginning",
        "-e",
        "-J",
        "--value-format",
        fmt,
        "--schema-registry-url",
        kafka.schema_registry_url,
        "--bootstrap-server",
        kafka.bootstrap_servers,
    )

    assert out.returncode == 0, out.stderr
    (line,) = out.stdout.splitlines()
    assert json.loads(json.loads(line)["payload"]) == {"n": "Ada"}


def test_consume_says_when_a_value_is_not_registry_framed(kafka: EmbeddedKafka) -> None:
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
    producer.produce("plain", b"just text")
    assert producer.flush(10) == 0
    out = st(
        "consume",
        "-t",
        "plain",
        "-o",
        "beginning",
        "-e",
        "--value-format",
        "avro",
        "--schema-registry-url",
        kafka.schema_registry_url,
        "--bootstrap-server",
        kafka.bootstrap_servers,
    )
    assert out.returncode == 1
    assert (
        "plain [0] at offset 0: the value is not in Confluent's schema registry framing"
        in out.stderr
    )
    assert st("consume", "-t", "plain", "--value-format", "avro").returncode != 0  # no URL


def test_consume_decodes_protobuf_without_generated_code(kafka: EmbeddedKafka) -> None:
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from google.protobuf import struct_pb2

    client = SchemaRegistryClient({"url": kafka.schema_registry_url})
    ser = ProtobufSerializer(struct_pb2.Struct, client, {"use.deprecated.format": False})
    value = struct_pb2.Struct()
    value.update({"name": "Ada", "tags": ["x", "y"]})
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
    producer.produce("proto", ser(value, SerializationContext("proto", MessageField.VALUE)))
    assert producer.flush(10) == 0

    out = st(
        "consume",
        "-t",
        "proto",
        "-o",
        "beginning",
        "-e",
        "--value-format",
        "protobuf",
        "--schema-registry-url",
        kafka.schema_registry_url,
        "--bootstrap-server",
        kafka.bootstrap_servers,
    )

    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"name": "Ada", "tags": ["x", "y"]}


def test_broker_command_serves_a_registry_and_prints_its_url() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamtest.cli",
            "broker",
            "--port",
            "0",
            "--schema-registry-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        bootstrap = proc.stdout.readline().strip()
        url = proc.stdout.readline().strip()
        assert bootstrap.startswith("127.0.0.1:") and url.startswith("http://127.0.0.1:")
        client = SchemaRegistryClient({"url": url})
        assert client.register_schema("cli-value", Schema('"string"', "AVRO")) == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
