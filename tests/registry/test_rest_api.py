"""The REST API against confluent-kafka's SchemaRegistryClient and raw HTTP: error
codes, content types, bad input, storage in _schemas, several registries on one
cluster, and ids kept across a restart."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streamtest import EmbeddedKafka
from streamtest.kit.cluster import unique_name
from streamtest.registry import SchemaRegistry

RECORD = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})


@pytest.fixture(scope="module")
def kafka() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka(schema_registry=True) as k:
        yield k


@pytest.fixture
def client(kafka: EmbeddedKafka) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": kafka.schema_registry_url})


def _http(
    url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def _error(exc: pytest.ExceptionInfo[SchemaRegistryError]) -> tuple[int, int]:
    return exc.value.http_status_code, exc.value.error_code


def test_unknown_subject_version_and_id_get_confluents_404_codes(
    client: SchemaRegistryClient,
) -> None:
    subject = unique_name("known")
    client.register_schema(subject, Schema(RECORD, "AVRO"))
    with pytest.raises(SchemaRegistryError) as e:
        client.get_versions(unique_name("unknown"))
    assert _error(e) == (404, 40401)
    with pytest.raises(SchemaRegistryError) as e:
        client.get_version(subject, 2)
    assert _error(e) == (404, 40402)
    with pytest.raises(SchemaRegistryError) as e:
        client.get_schema(987654)
    assert _error(e) == (404, 40403)
    with pytest.raises(SchemaRegistryError) as e:
        client.get_version(subject, "nope")
    assert _error(e) == (422, 42202)


@pytest.mark.parametrize(
    "schema_type, text, says",
    [
        (
            "AVRO",
            '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "nope"}]}',
            "nope",
        ),
        ("AVRO", "{not json", "not JSON"),
        ("JSON", '{"type": 12}', "is not valid"),
        ("PROTOBUF", 'syntax = "proto3"; message M { Unknown u = 1; }', '"Unknown" is not defined'),
    ],
)
def test_malformed_schemas_get_42201_with_the_parsers_message(
    client: SchemaRegistryClient, kafka: EmbeddedKafka, schema_type: str, text: str, says: str
) -> None:
    before = len(kafka.records("_schemas"))
    with pytest.raises(SchemaRegistryError) as e:
        client.register_schema(unique_name("bad"), Schema(text, schema_type))
    assert _error(e) == (422, 42201)
    assert says in e.value.error_message
    assert len(kafka.records("_schemas")) == before  # nothing malformed is written


def test_oversized_bodies_are_refused_before_they_are_read(kafka: EmbeddedKafka) -> None:
    with EmbeddedKafka() as k, SchemaRegistry(k.bootstrap_servers, max_body_bytes=1024) as sr:
        body = json.dumps({"schema": json.dumps("x" * 4096)}).encode()
        status, _, data = _http(
            sr.url,
            "POST",
            "/subjects/s/versions",
            body,
            {"Content-Type": "application/vnd.schemaregistry.v1+json"},
        )
    assert status == 413
    assert "exceeds the limit" in json.loads(data)["message"]


def test_content_types_follow_confluent(kafka: EmbeddedKafka) -> None:
    url = kafka.schema_registry_url
    status, headers, _ = _http(url, "GET", "/subjects")
    assert status == 200
    assert headers["content-type"] == "application/vnd.schemaregistry.v1+json"
    _, headers, _ = _http(url, "GET", "/subjects", headers={"Accept": "application/json"})
    assert headers["content-type"] == "application/json"
    status, _, data = _http(
        url, "POST", "/subjects/s/versions", b"{}", {"Content-Type": "text/plain"}
    )
    assert status == 415
    status, _, data = _http(
        url, "POST", "/subjects/s/versions", b"{oops", {"Content-Type": "application/json"}
    )
    assert status == 400


def test_records_in_schemas_use_confluents_key_and_value_format(
    kafka: EmbeddedKafka, client: SchemaRegistryClient
) -> None:
    subject = unique_name("format")
    schema_id = client.register_schema(subject, Schema(RECORD, "AVRO"))
    client.set_compatibility(subject_name=subject, level="FULL")

    records = [
        (json.loads(r.key), r.value and json.loads(r.value))
        for r in kafka.records("_schemas", read_committed=True)
        if r.key
    ]
    assert (
        {"keytype": "SCHEMA", "subject": subject, "version": 1, "magic": 1},
        {
            "subject": subject,
            "version": 1,
            "id": schema_id,
            "schemaType": "AVRO",
            "schema": '{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}',
            "deleted": False,
        },
    ) in records
    assert (
        {"keytype": "CONFIG", "subject": subject, "magic": 0},
        {"subject": subject, "compatibilityLevel": "FULL"},
    ) in records


def test_same_schema_gets_the_same_id_whatever_its_whitespace(client: SchemaRegistryClient) -> None:
    first = client.register_schema(unique_name("ws"), Schema(RECORD, "AVRO"))
    spaced = json.dumps(json.loads(RECORD), indent=4)
    assert client.register_schema(unique_name("ws"), Schema(spaced, "AVRO")) == first


def test_soft_and_hard_delete_and_references(client: SchemaRegistryClient) -> None:
    inner, outer = unique_name("inner"), unique_name("outer")
    client.register_schema(inner, Schema(RECORD, "AVRO"))
    wrapper = json.dumps({"type": "record", "name": "W", "fields": [{"name": "r", "type": "R"}]})
    client.register_schema(outer, Schema(wrapper, "AVRO", [SchemaReference("R", inner, 1)]))

    with pytest.raises(SchemaRegistryError) as e:
        client.delete_subject(inner)
    assert _error(e) == (422, 42206)  # still referenced
    assert client.get_referenced_by(inner, 1)

    assert client.delete_subject(outer) == [1]
    assert outer not in client.get_subjects()
    assert outer in client.get_subjects(deleted=True)
    with pytest.raises(SchemaRegistryError) as e:
        client.delete_subject(outer)
    assert _error(e) == (404, 40404)
    assert client.delete_subject(outer, permanent=True) == [1]
    assert outer not in client.get_subjects(deleted=True)


def test_compatibility_endpoint_and_verbose_messages(kafka: EmbeddedKafka) -> None:
    subject = unique_name("compat")
    client = SchemaRegistryClient({"url": kafka.schema_registry_url})
    client.register_schema(subject, Schema(RECORD, "AVRO"))
    breaking = json.dumps(
        {
            "type": "record",
            "name": "R",
            "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}],
        }
    )
    status, _, data = _http(
        kafka.schema_registry_url,
        "POST",
        f"/compatibility/subjects/{subject}/versions/latest?verbose=true",
        json.dumps({"schema": breaking}).encode(),
        {"Content-Type": "application/json"},
    )
    answer = json.loads(data)
    assert status == 200 and answer["is_compatible"] is False
    assert any("READER_FIELD_MISSING_DEFAULT_VALUE" in m for m in answer["messages"])


def test_modes_guard_writes(client: SchemaRegistryClient) -> None:
    subject = unique_name("mode")
    client.register_schema(subject, Schema(RECORD, "AVRO"))
    client.update_mode(subject, "READONLY")
    with pytest.raises(SchemaRegistryError) as e:
        client.register_schema(subject, Schema('"string"', "AVRO"))
    assert _error(e) == (422, 42205)
    client.delete_mode(subject)
    with pytest.raises(SchemaRegistryError) as e:
        client.get_mode(subject)
    assert _error(e) == (404, 40409)  # no subject-level mode any more
    client.set_compatibility(subject_name=subject, level="NONE")
    assert client.register_schema(subject, Schema('"string"', "AVRO")) > 0


def test_two_registries_on_one_cluster_agree_and_never_share_an_id() -> None:
    with (
        EmbeddedKafka() as k,
        SchemaRegistry(k.bootstrap_servers) as a,
        SchemaRegistry(k.bootstrap_servers) as b,
    ):
        ca = SchemaRegistryClient({"url": a.url})
        cb = SchemaRegistryClient({"url": b.url})
        ids: dict[str, int] = {}

        def register(client: SchemaRegistryClient, name: str) -> None:
            schema = json.dumps(
                {"type": "record", "name": name, "fields": [{"name": "x", "type": "int"}]}
            )
            ids[name] = client.register_schema(name, Schema(schema, "AVRO"))

        # Both write at once: they contend for the transactional writer.
        threads = [
            threading.Thread(target=register, args=(c, f"r{i}")) for i, c in enumerate([ca, cb] * 5)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert sorted(ids.values()) == list(range(1, 11))  # ten schemas, ten ids
        for name, schema_id in ids.items():
            # Written through one registry, read through the other at once.
            other = cb if int(name[1:]) % 2 == 0 else ca
            assert other.lookup_schema(name, other.get_schema(schema_id)).schema_id == schema_id


def test_ids_survive_a_restart_with_a_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmbeddedKafka(data_dir=data, schema_registry=True) as k:
        client = SchemaRegistryClient({"url": k.schema_registry_url})
        first = client.register_schema("orders-value", Schema(RECORD, "AVRO"))
        client.register_schema("users-value", Schema('"string"', "AVRO"))
    with EmbeddedKafka(data_dir=data, schema_registry=True, mode="process") as k:
        client = SchemaRegistryClient({"url": k.schema_registry_url})
        assert client.get_latest_version("orders-value").schema_id == first
        assert sorted(client.get_subjects()) == ["orders-value", "users-value"]
        # A new schema continues after the highest id.
        assert client.register_schema("third", Schema('"long"', "AVRO")) == 3


def test_registry_start_returns_before_the_topic_is_read() -> None:
    with EmbeddedKafka() as k:
        registry = SchemaRegistry(k.bootstrap_servers).start()
        try:
            # The URL is usable at once; the first request waits for the first read.
            client = SchemaRegistryClient({"url": registry.url})
            assert client.get_subjects() == []
        finally:
            registry.stop()
