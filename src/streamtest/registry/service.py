"""The registry's operations, as Confluent's REST API defines them, over a
:class:`~streamtest.registry.store.KafkaStore`.

Each public method takes already-decoded request arguments, returns the JSON the
REST API answers with, and raises :class:`~streamtest.registry.errors.RegistryError`
with Confluent's status and ``error_code``. Writes validate everything (schema,
references, compatibility, mode) before a record is produced, so nothing
malformed ever reaches ``_schemas``.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from . import compat, errors
from .errors import RegistryError, SchemaParseError
from .formats import SCHEMA_TYPES, ParsedSchema, Reference, ResolvedReference, parse
from .state import (
    COMPATIBILITY_LEVELS,
    MODES,
    RegistryState,
    SchemaValue,
    content_key,
    schema_key,
    subject_key,
)
from .store import KafkaStore

_GUID_NAMESPACE = uuid.UUID("6f0b8c1e-2b55-4d1a-9a53-5f4ad1d4e7a1")

# Confluent's QualifiedSubject.isValidSubject: no control characters.
_INVALID_SUBJECT = re.compile(r"[\x00-\x1f\x7f]")


def schema_guid(sv: SchemaValue) -> str:
    """Return the schema's GUID: derived from its content, so every registry on a
    cluster gives the same schema the same GUID without storing one."""
    return str(uuid.uuid5(_GUID_NAMESPACE, repr(sv.content_key())))


class RegistryService:
    """The REST API's operations (see the module docstring)."""

    def __init__(self, store: KafkaStore) -> None:
        self.store = store
        self._parsed: OrderedDict[tuple[Any, ...], ParsedSchema] = OrderedDict()
        self._parsed_lock = threading.Lock()

    # -- parsing --------------------------------------------------------------------------

    def _resolve_refs(
        self, state: RegistryState, refs: Sequence[Reference], depth: int = 0
    ) -> tuple[ResolvedReference, ...]:
        if depth > 32:
            raise errors.invalid_schema("Invalid schema: references nest too deeply")
        out = []
        for ref in refs:
            sv = self._version_for_ref(state, ref)
            out.append(
                ResolvedReference(
                    ref.name,
                    sv.schema_type,
                    sv.schema,
                    self._resolve_refs(state, sv.references, depth + 1),
                )
            )
        return tuple(out)

    @staticmethod
    def _version_for_ref(state: RegistryState, ref: Reference) -> SchemaValue:
        if ref.version == -1:
            live = state.subject_versions(ref.subject)
            if live:
                return live[-1]
        else:
            sv = state.versions.get((ref.subject, ref.version))
            if sv is not None:
                return sv
        raise errors.invalid_schema(
            f"Invalid schema: the reference {ref.name!r} to subject {ref.subject!r} version "
            f"{ref.version} does not exist"
        )

    def parse(
        self,
        state: RegistryState,
        schema_type: str,
        text: str,
        refs: Sequence[Reference],
    ) -> ParsedSchema:
        """Parse a schema with its references resolved from ``state`` (cached).

        Raises:
            RegistryError: 42201 when the schema or a reference is invalid.
        """
        if schema_type not in SCHEMA_TYPES:
            raise errors.invalid_schema(f"Invalid schema type {schema_type!r}")
        resolved = self._resolve_refs(state, refs)
        key = (schema_type, text, resolved)
        with self._parsed_lock:
            hit = self._parsed.get(key)
            if hit is not None:
                self._parsed.move_to_end(key)
                return hit
        try:
            parsed = parse(schema_type, text, resolved)
        except SchemaParseError as exc:
            raise errors.invalid_schema(str(exc)) from None
        with self._parsed_lock:
            self._parsed[key] = parsed
            while len(self._parsed) > 512:
                self._parsed.popitem(last=False)
        return parsed

    def _parse_stored(self, state: RegistryState, sv: SchemaValue) -> ParsedSchema:
        return self.parse(state, sv.schema_type, sv.schema, sv.references)

    # -- request decoding ------------------------------------------------------------------

    @staticmethod
    def _request_schema(body: Any) -> tuple[str, str, list[Reference], Any, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("The request body must be a JSON object", 422)
        text = body.get("schema")
        if not isinstance(text, str) or not text.strip():
            raise errors.invalid_schema("Invalid schema: the request has no schema string")
        schema_type = body.get("schemaType") or "AVRO"
        if not isinstance(schema_type, str):
            raise errors.invalid_schema("Invalid schema: schemaType must be a string")
        refs = []
        for r in body.get("references") or []:
            try:
                refs.append(Reference(str(r["name"]), str(r["subject"]), int(r["version"])))
            except (KeyError, TypeError, ValueError):
                raise errors.invalid_schema(
                    f"Invalid schema: a reference needs name, subject and version: {r!r}"
                ) from None
        metadata = body.get("metadata") or None
        rule_set = body.get("ruleSet") or None
        if metadata is not None and not isinstance(metadata, dict):
            raise errors.invalid_schema("Invalid schema: metadata must be an object")
        if rule_set is not None and not isinstance(rule_set, dict):
            raise errors.invalid_ruleset("ruleSet must be an object")
        return schema_type.upper(), text, refs, metadata, rule_set

    @staticmethod
    def _check_subject(subject: str) -> None:
        if not subject or _INVALID_SUBJECT.search(subject):
            raise errors.invalid_subject(subject)

    @staticmethod
    def parse_version(version: str | int) -> int:
        """Return ``version`` as an int (``latest`` is -1).

        Raises:
            RegistryError: 42202 for anything but 1..2^31-1, ``latest`` or -1.
        """
        if version == "latest":
            return -1
        try:
            v = int(version)
        except (TypeError, ValueError):
            raise errors.invalid_version(version) from None
        if v == -1 or 1 <= v <= 2**31 - 1:
            return v
        raise errors.invalid_version(version)

    # -- responses -------------------------------------------------------------------------

    @staticmethod
    def _schema_fields(sv: SchemaValue, text: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if sv.schema_type != "AVRO":  # Confluent leaves the default type out
            out["schemaType"] = sv.schema_type
        if sv.references:
            out["references"] = [r.to_json() for r in sv.references]
        if sv.metadata:
            out["metadata"] = sv.metadata
        if sv.rule_set:
            out["ruleSet"] = sv.rule_set
        out["schema"] = sv.schema if text is None else text
        return out

    def _version_json(
        self, state: RegistryState, sv: SchemaValue, fmt: str | None
    ) -> dict[str, Any]:
        text = self._formatted(state, sv, fmt)
        out = {"subject": sv.subject, "version": sv.version, "id": sv.id, "guid": schema_guid(sv)}
        out.update(self._schema_fields(sv, text))
        if sv.deleted:
            out["deleted"] = True
        return out

    def _formatted(self, state: RegistryState, sv: SchemaValue, fmt: str | None) -> str:
        if not fmt:
            return sv.schema
        return self._parse_stored(state, sv).formatted(fmt)

    # -- schemas ---------------------------------------------------------------------------

    def schema_types(self) -> list[str]:
        """``GET /schemas/types``."""
        return list(SCHEMA_TYPES)

    def _by_id(self, state: RegistryState, schema_id: int, subject: str | None) -> SchemaValue:
        users = state.users_of(schema_id)
        if not users:
            raise errors.schema_not_found(schema_id)
        if subject:
            for sv in users:
                if sv.subject == subject:
                    return sv
        return users[0]

    def get_schema_by_id(
        self,
        schema_id: int,
        subject: str | None = None,
        fmt: str | None = None,
        fetch_max_id: bool = False,
    ) -> dict[str, Any]:
        """``GET /schemas/ids/{id}``."""
        with self.store.read() as state:
            sv = self._by_id(state, schema_id, subject)
            out = self._schema_fields(sv, self._formatted(state, sv, fmt))
            out["guid"] = schema_guid(sv)
            if fetch_max_id:
                out["maxId"] = state.max_id
            return out

    def get_schema_by_guid(self, guid: str, fmt: str | None = None) -> dict[str, Any]:
        """``GET /schemas/guids/{guid}``."""
        with self.store.read() as state:
            for sv in state.versions.values():
                if schema_guid(sv) == guid:
                    out = self._schema_fields(sv, self._formatted(state, sv, fmt))
                    out["id"] = sv.id
                    out["guid"] = guid
                    return out
            raise errors.schema_not_found(guid)

    def get_schema_text(self, schema_id: int, subject: str | None = None) -> str:
        """``GET /schemas/ids/{id}/schema``: the bare schema text."""
        with self.store.read() as state:
            return self._by_id(state, schema_id, subject).schema

    def id_subjects(self, schema_id: int, subject: str | None, deleted: bool) -> list[str]:
        """``GET /schemas/ids/{id}/subjects``."""
        return sorted({v["subject"] for v in self.id_versions(schema_id, subject, deleted)})

    def id_versions(
        self, schema_id: int, subject: str | None, deleted: bool
    ) -> list[dict[str, Any]]:
        """``GET /schemas/ids/{id}/versions``: ``[{subject, version}]``."""
        with self.store.read() as state:
            users = [
                sv
                for sv in state.users_of(schema_id)
                if (deleted or not sv.deleted) and (not subject or sv.subject == subject)
            ]
            if not users and not state.users_of(schema_id):
                raise errors.schema_not_found(schema_id)
            return [{"subject": sv.subject, "version": sv.version} for sv in users]

    def list_schemas(
        self, subject_prefix: str | None, deleted: bool, latest_only: bool
    ) -> list[dict[str, Any]]:
        """``GET /schemas``: every subject version, optionally only the latest ones."""
        with self.store.read() as state:
            out = []
            for subject in state.subjects(deleted):
                if subject_prefix and not subject.startswith(subject_prefix):
                    continue
                versions = state.subject_versions(subject, deleted)
                for sv in versions[-1:] if latest_only else versions:
                    out.append(self._version_json(state, sv, None))
            return out

    # -- subjects --------------------------------------------------------------------------

    def subjects(
        self, prefix: str | None = None, deleted: bool = False, deleted_only: bool = False
    ) -> list[str]:
        """``GET /subjects``."""
        with self.store.read() as state:
            if deleted_only:
                live = set(state.subjects(False))
                names = [s for s in state.subjects(True) if s not in live]
            else:
                names = state.subjects(deleted)
            return [s for s in names if not prefix or s.startswith(prefix)]

    def versions(
        self, subject: str, deleted: bool = False, deleted_only: bool = False
    ) -> list[int]:
        """``GET /subjects/{s}/versions``."""
        with self.store.read() as state:
            svs = state.subject_versions(subject, deleted or deleted_only)
            if deleted_only:
                svs = [sv for sv in svs if sv.deleted]
            elif not svs:
                raise errors.subject_not_found(subject)
            return [sv.version for sv in svs]

    def _get_version(
        self, state: RegistryState, subject: str, version: int, deleted: bool
    ) -> SchemaValue:
        if not state.has_subject(subject):
            raise errors.subject_not_found(subject)
        if version == -1:
            live = state.subject_versions(subject, deleted)
            if not live:
                raise errors.subject_not_found(subject)
            return live[-1]
        sv = state.versions.get((subject, version))
        if sv is None or (sv.deleted and not deleted):
            raise errors.version_not_found(version)
        return sv

    def get_version(
        self, subject: str, version: str | int, deleted: bool = False, fmt: str | None = None
    ) -> dict[str, Any]:
        """``GET /subjects/{s}/versions/{v}``."""
        v = self.parse_version(version)
        with self.store.read() as state:
            return self._version_json(state, self._get_version(state, subject, v, deleted), fmt)

    def get_version_text(self, subject: str, version: str | int, deleted: bool = False) -> str:
        """``GET /subjects/{s}/versions/{v}/schema``."""
        v = self.parse_version(version)
        with self.store.read() as state:
            return self._get_version(state, subject, v, deleted).schema

    def referenced_by(self, subject: str, version: str | int) -> list[int]:
        """``GET /subjects/{s}/versions/{v}/referencedby``."""
        v = self.parse_version(version)
        with self.store.read() as state:
            sv = self._get_version(state, subject, v, True)
            return state.referenced_by(subject, sv.version)

    def latest_with_metadata(
        self, subject: str, wanted: dict[str, str], deleted: bool, fmt: str | None
    ) -> dict[str, Any]:
        """``GET /subjects/{s}/metadata``: the latest version whose metadata properties
        include every ``key=value`` asked for."""
        with self.store.read() as state:
            if not state.has_subject(subject):
                raise errors.subject_not_found(subject)
            for sv in reversed(state.subject_versions(subject, deleted)):
                props = (sv.metadata or {}).get("properties") or {}
                if all(props.get(k) == val for k, val in wanted.items()):
                    return self._version_json(state, sv, fmt)
            raise errors.version_not_found(f"with metadata {wanted}")

    def lookup(
        self, subject: str, body: Any, normalize: bool = False, deleted: bool = False
    ) -> dict[str, Any]:
        """``POST /subjects/{s}``: the version of ``subject`` that holds this schema."""
        schema_type, text, refs, metadata, rule_set = self._request_schema(body)
        with self.store.read() as state:
            if not state.has_subject(subject):
                raise errors.subject_not_found(subject)
            parsed = self.parse(state, schema_type, text, refs)
            wanted = {parsed.canonical()}
            if normalize or self._config_normalize(state, subject):
                wanted.add(parsed.normalized().canonical())
            for sv in reversed(state.subject_versions(subject, deleted)):
                if sv.schema_type != schema_type or tuple(sv.references) != tuple(refs):
                    continue
                if metadata is not None and sv.metadata != metadata:
                    continue
                if rule_set is not None and sv.rule_set != rule_set:
                    continue
                candidates = {sv.schema}
                if normalize:
                    candidates.add(self._parse_stored(state, sv).normalized().canonical())
                if wanted & candidates:
                    return self._version_json(state, sv, None)
            raise errors.schema_not_found()

    @staticmethod
    def _config_normalize(state: RegistryState, subject: str) -> bool:
        own = state.config(subject) or {}
        if "normalize" in own:
            return bool(own["normalize"])
        return bool((state.config(None) or {}).get("normalize", False))

    # -- registering -----------------------------------------------------------------------

    def register(self, subject: str, body: Any, normalize: bool = False) -> dict[str, Any]:
        """``POST /subjects/{s}/versions``: register (or find) a schema; return its id.

        Raises:
            RegistryError: 42201 invalid schema, 409 incompatible, 42205 read-only or
                import-mode misuse, 42207 id taken (import), 5000x store failures.
        """
        self._check_subject(subject)
        schema_type, text, refs, metadata, rule_set = self._request_schema(body)
        want_id = body.get("id") if isinstance(body, dict) else None
        want_version = body.get("version") if isinstance(body, dict) else None

        def attempt(state: RegistryState) -> tuple[list[Any], dict[str, Any]]:
            mode = state.mode(subject)
            if mode in ("READONLY", "READONLY_OVERRIDE"):
                raise errors.not_permitted(f"Subject {subject} is in read-only mode")
            if want_id not in (None, -1, 0) and mode != "IMPORT":
                raise errors.not_permitted(
                    f"Subject {subject} is not in import mode; a schema id may only be given "
                    "in IMPORT mode"
                )
            parsed = self.parse(state, schema_type, text, refs)
            if normalize or self._config_normalize(state, subject):
                parsed = parsed.normalized()
            canonical = parsed.canonical()
            all_versions = state.subject_versions(subject, deleted=True)
            live = [sv for sv in all_versions if not sv.deleted]
            md, rs = metadata, rule_set
            if mode != "IMPORT":
                md, rs = self._inherit(state, subject, live, md, rs)
            key = content_key(schema_type, canonical, refs, md, rs)
            schema_id = state.by_content.get(key)
            if want_id not in (None, -1, 0):
                holder = state.by_id.get(int(want_id))
                if holder is not None and holder.content_key() != key:
                    raise errors.id_does_not_match(
                        f"Schema already registered with id {holder.id} instead of input id "
                        f"{want_id}"
                    )
                schema_id = int(want_id)
            if schema_id is not None:
                for sv in live:
                    if sv.id == schema_id and not want_version:
                        return [], {"id": sv.id, "version": sv.version, "guid": schema_guid(sv)}
            if mode != "IMPORT":
                level = state.compatibility(subject) or "BACKWARD"
                previous = [(sv.version, self._parse_stored(state, sv)) for sv in live]
                problems = compat.check(level, parsed, previous)
                if problems:
                    raise errors.incompatible(
                        "Schema being registered is incompatible with an earlier schema for "
                        f'subject "{subject}", details: [{", ".join(problems)}]'
                    )
            new_version = max((sv.version for sv in all_versions), default=0) + 1
            if want_version not in (None, 0, -1):
                if mode != "IMPORT" and int(want_version) != new_version:
                    raise errors.invalid_schema(
                        "Invalid schema: Version is not one more than previous version"
                    )
                new_version = int(want_version)
            if schema_id is None:
                schema_id = state.next_id()
            value = SchemaValue(
                subject, new_version, schema_id, canonical, schema_type, tuple(refs), md, rs
            )
            records: list[Any] = []
            # As Confluent does: a soft-deleted older version with the same id is
            # tombstoned, so the id has one live home in this subject.
            for sv in all_versions:
                if sv.deleted and sv.id == schema_id and sv.version < new_version:
                    if not state.referenced_by(subject, sv.version):
                        records.append((schema_key(subject, sv.version), None))
            records.append((schema_key(subject, new_version), value.to_json()))
            return records, {"id": schema_id, "version": new_version, "guid": schema_guid(value)}

        answer = self.store.write(attempt)
        out = {
            "id": answer["id"],
            "version": answer["version"],
            "guid": answer["guid"],
            "subject": subject,
        }
        if schema_type != "AVRO":
            out["schemaType"] = schema_type
        return out

    @staticmethod
    def _inherit(
        state: RegistryState,
        subject: str,
        live: list[SchemaValue],
        metadata: Any,
        rule_set: Any,
    ) -> tuple[Any, Any]:
        """Fill in metadata and rules as Confluent's ``maybePopulateFromPrevious`` does:
        from the previous version when the request has none, then the subject's (or
        global) config defaults and overrides."""
        config = state.config(subject) or state.config(None) or {}
        if metadata is None:
            metadata = live[-1].metadata if live else config.get("defaultMetadata")
        if rule_set is None:
            rule_set = live[-1].rule_set if live else config.get("defaultRuleSet")
        override = config.get("overrideMetadata")
        if override:
            merged = dict(metadata or {})
            for part in ("tags", "properties"):
                if override.get(part):
                    merged[part] = {**(merged.get(part) or {}), **override[part]}
            if override.get("sensitive"):
                merged["sensitive"] = sorted(
                    set(merged.get("sensitive") or []) | set(override["sensitive"])
                )
            metadata = merged
        if config.get("overrideRuleSet"):
            rule_set = config["overrideRuleSet"]
        return metadata or None, rule_set or None

    # -- compatibility endpoint -------------------------------------------------------------

    def test_compatibility(
        self,
        subject: str,
        version: str | int | None,
        body: Any,
        verbose: bool = False,
        normalize: bool = False,
    ) -> dict[str, Any]:
        """``POST /compatibility/subjects/{s}/versions[/{v}]``: would this schema be
        accepted? Against one version when ``version`` is given (``latest`` for the
        newest), else against what the subject's level checks."""
        schema_type, text, refs, _, _ = self._request_schema(body)
        v = None if version is None else self.parse_version(version)
        with self.store.read() as state:
            parsed = self.parse(state, schema_type, text, refs)
            if normalize:
                parsed = parsed.normalized()
            level = state.compatibility(subject) or "BACKWARD"
            if v is None:
                live = state.subject_versions(subject)
                previous = [(sv.version, self._parse_stored(state, sv)) for sv in live]
                problems = compat.check(level, parsed, previous)
            else:
                sv = self._get_version(state, subject, v, False)
                # Against one chosen version, the level only gives the direction.
                level_one = level.removesuffix("_TRANSITIVE")
                problems = compat.check(
                    level_one, parsed, [(sv.version, self._parse_stored(state, sv))]
                )
            out: dict[str, Any] = {"is_compatible": not problems}
            if verbose:
                out["messages"] = problems
            return out

    # -- deleting --------------------------------------------------------------------------

    def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        """``DELETE /subjects/{s}``: soft-delete every version (or, with ``permanent``,
        forget the soft-deleted ones); return the versions deleted."""

        def attempt(state: RegistryState) -> tuple[list[Any], list[int]]:
            if state.mode(subject) in ("READONLY", "READONLY_OVERRIDE"):
                raise errors.not_permitted(f"Subject {subject} is in read-only mode")
            every = state.subject_versions(subject, deleted=True)
            if not every:
                raise errors.subject_not_found(subject)
            live = [sv for sv in every if not sv.deleted]
            for sv in every:
                if state.referenced_by(subject, sv.version):
                    raise errors.reference_exists(f"{subject} version {sv.version}")
            if permanent:
                if live:
                    raise errors.subject_not_soft_deleted(subject)
                records = [(schema_key(subject, sv.version), None) for sv in every]
                return records, [sv.version for sv in every]
            if not live:
                raise errors.subject_soft_deleted(subject)
            records: list[Any] = [
                (
                    subject_key("DELETE_SUBJECT", subject),
                    {"subject": subject, "version": live[-1].version},
                ),
            ]
            # Confluent drops the subject's own config and mode with it.
            if subject in state.configs:
                records.append((subject_key("CONFIG", subject), None))
            if subject in state.modes:
                records.append((subject_key("MODE", subject), None))
            return records, [sv.version for sv in live]

        return self.store.write(attempt)

    def delete_version(self, subject: str, version: str | int, permanent: bool = False) -> int:
        """``DELETE /subjects/{s}/versions/{v}``: soft-delete one version (or, with
        ``permanent``, forget a soft-deleted one); return its number."""
        v = self.parse_version(version)

        def attempt(state: RegistryState) -> tuple[list[Any], int]:
            if state.mode(subject) in ("READONLY", "READONLY_OVERRIDE"):
                raise errors.not_permitted(f"Subject {subject} is in read-only mode")
            if not state.has_subject(subject):
                raise errors.subject_not_found(subject)
            if v == -1:
                live = state.subject_versions(subject)
                if not live:
                    raise errors.subject_not_found(subject)
                sv = live[-1]
            else:
                found = state.versions.get((subject, v))
                if found is None:
                    raise errors.version_not_found(v)
                sv = found
            if state.referenced_by(subject, sv.version):
                raise errors.reference_exists(f"{subject} version {sv.version}")
            if permanent:
                if not sv.deleted:
                    raise errors.version_not_soft_deleted(subject, sv.version)
                return [(schema_key(subject, sv.version), None)], sv.version
            if sv.deleted:
                raise errors.version_soft_deleted(subject, sv.version)
            value = SchemaValue(**{**sv.__dict__, "deleted": True})
            return [(schema_key(subject, sv.version), value.to_json())], sv.version

        return self.store.write(attempt)

    # -- config and mode -------------------------------------------------------------------

    _CONFIG_FIELDS = (
        "alias",
        "normalize",
        "validateFields",
        "compatibilityGroup",
        "defaultMetadata",
        "overrideMetadata",
        "defaultRuleSet",
        "overrideRuleSet",
    )

    def get_config(self, subject: str | None, default_to_global: bool = False) -> dict[str, Any]:
        """``GET /config`` and ``GET /config/{s}``."""
        with self.store.read() as state:
            own = state.config(subject) if subject else None
            if subject and own is None and not default_to_global:
                raise errors.subject_compatibility_not_configured(subject)
            base = own if own is not None else (state.config(None) or {})
            out = {k: v for k, v in base.items() if k != "subject"}
            out["compatibilityLevel"] = (
                base.get("compatibilityLevel") or state.compatibility(None) or "BACKWARD"
            )
            return out

    def set_config(self, subject: str | None, body: Any) -> dict[str, Any]:
        """``PUT /config`` and ``PUT /config/{s}``: returns the settings given."""
        if not isinstance(body, dict):
            raise errors.bad_request("The request body must be a JSON object", 422)
        level = body.get("compatibility") or body.get("compatibilityLevel")
        if level is not None:
            if not isinstance(level, str) or level.upper() not in COMPATIBILITY_LEVELS:
                raise errors.invalid_compatibility(level)
            level = level.upper()
        if subject is not None:
            self._check_subject(subject)

        def attempt(state: RegistryState) -> tuple[list[Any], dict[str, Any]]:
            current = dict(state.config(subject) or {})
            if level is not None:
                current["compatibilityLevel"] = level
            for k in self._CONFIG_FIELDS:
                if k in body:
                    current[k] = body[k]
            value = {"subject": subject, **current} if subject else current
            answer = {k: v for k, v in current.items()}
            if level is not None:
                answer["compatibility"] = answer.pop("compatibilityLevel")
            return [(subject_key("CONFIG", subject), value)], answer

        return self.store.write(attempt)

    def delete_config(self, subject: str | None) -> dict[str, Any]:
        """``DELETE /config/{s}`` (or the global config): return what was set."""

        def attempt(state: RegistryState) -> tuple[list[Any], dict[str, Any]]:
            own = state.config(subject)
            if own is None:
                if subject is not None:
                    raise errors.subject_not_found(subject)
                return [], {"compatibilityLevel": "BACKWARD"}
            answer = {k: v for k, v in own.items() if k != "subject"}
            return [(subject_key("CONFIG", subject), None)], answer

        return self.store.write(attempt)

    def get_mode(self, subject: str | None, default_to_global: bool = False) -> dict[str, str]:
        """``GET /mode`` and ``GET /mode/{s}``."""
        with self.store.read() as state:
            if subject and subject not in state.modes and not default_to_global:
                raise errors.subject_mode_not_configured(subject)
            return {"mode": state.mode(subject)}

    def set_mode(self, subject: str | None, body: Any, force: bool = False) -> dict[str, str]:
        """``PUT /mode`` and ``PUT /mode/{s}``.

        Raises:
            RegistryError: 42204 unknown mode; 42205 IMPORT over existing schemas
                without ``force``.
        """
        mode = body.get("mode") if isinstance(body, dict) else None
        if not isinstance(mode, str) or mode.upper() not in MODES:
            raise errors.invalid_mode(mode)
        mode = mode.upper()

        def attempt(state: RegistryState) -> tuple[list[Any], dict[str, str]]:
            if mode == "IMPORT" and not force:
                taken = state.subject_versions(subject) if subject else state.subjects()
                if taken:
                    raise errors.not_permitted(
                        "Cannot import since found existing subjects"
                        if not subject
                        else f"Cannot import since subject {subject} has schemas"
                    )
            value = {"subject": subject, "mode": mode} if subject else {"mode": mode}
            return [(subject_key("MODE", subject), value)], {"mode": mode}

        return self.store.write(attempt)

    def delete_mode(self, subject: str) -> dict[str, str]:
        """``DELETE /mode/{s}``: return the mode that was set."""

        def attempt(state: RegistryState) -> tuple[list[Any], dict[str, str]]:
            if subject not in state.modes:
                raise errors.subject_not_found(subject)
            return [(subject_key("MODE", subject), None)], {"mode": state.modes[subject]}

        return self.store.write(attempt)


__all__ = ["RegistryError", "RegistryService", "schema_guid"]
