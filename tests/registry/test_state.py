"""RegistryState applies _schemas records with no Kafka and no HTTP (the state is
pure, so every rule can be checked directly)."""

from __future__ import annotations

import json

from streamtest.registry.state import RegistryState, encode, schema_key, subject_key


def schema(
    subject: str, version: int, schema_id: int, text: str = '"string"', deleted: bool = False
) -> tuple[bytes | None, bytes | None]:
    value = {
        "subject": subject,
        "version": version,
        "id": schema_id,
        "schemaType": "AVRO",
        "schema": text,
        "deleted": deleted,
    }
    return encode(schema_key(subject, version)), encode(value)


def test_versions_ids_and_soft_then_hard_delete() -> None:
    st = RegistryState()
    st.apply(*schema("a", 1, 1))
    st.apply(*schema("a", 2, 2, '"long"'))
    st.apply(*schema("b", 1, 1))  # the same schema under another subject keeps its id
    assert st.subjects() == ["a", "b"] and [u.subject for u in st.users_of(1)] == ["a", "b"]

    st.apply(encode(subject_key("DELETE_SUBJECT", "a")), encode({"subject": "a", "version": 2}))
    assert st.subjects() == ["b"] and st.subjects(deleted=True) == ["a", "b"]
    st.apply(encode(schema_key("a", 1)), None)
    st.apply(encode(schema_key("a", 2)), None)
    assert st.subjects(deleted=True) == ["b"]
    assert st.next_id() == 3  # ids are never reused after a hard delete


def test_an_id_reused_for_another_schema_is_ignored() -> None:
    st = RegistryState()
    st.apply(*schema("a", 1, 1, '"string"'))
    st.apply(*schema("b", 1, 1, '"long"'))  # a stray writer: id 1 is '"string"'
    assert st.subjects() == ["a"]
    assert st.by_id[1].schema == '"string"'


def test_config_and_mode_records_and_their_tombstones() -> None:
    st = RegistryState()
    st.apply(encode(subject_key("CONFIG", None)), encode({"compatibilityLevel": "FULL"}))
    st.apply(
        encode(subject_key("CONFIG", "s")), encode({"subject": "s", "compatibilityLevel": "NONE"})
    )
    st.apply(encode(subject_key("MODE", "s")), encode({"subject": "s", "mode": "READONLY"}))
    assert st.compatibility("s") == "NONE" and st.compatibility("t") == "FULL"
    assert st.mode("s") == "READONLY" and st.mode("t") == "READWRITE"
    st.apply(encode(subject_key("CONFIG", "s")), None)
    st.apply(encode(subject_key("MODE", "s")), None)
    assert st.compatibility("s") == "FULL" and st.mode("s") == "READWRITE"


def test_records_not_in_confluents_format_are_skipped() -> None:
    st = RegistryState()
    st.apply(b"not json", b"{}")
    st.apply(encode({"keytype": "SCHEMA", "subject": "x"}), encode({"no": "id"}))
    st.apply(encode({"keytype": "NOOP", "magic": 0}), None)
    st.apply(*schema("ok", 1, 1))
    assert st.subjects() == ["ok"] and st.applied == 4
    assert json.loads(encode(schema_key("ok", 1)) or b"") == {
        "keytype": "SCHEMA",
        "subject": "ok",
        "version": 1,
        "magic": 1,
    }
