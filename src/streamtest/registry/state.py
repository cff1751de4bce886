"""The registry's state, rebuilt by applying the ``_schemas`` topic's records in order.

This module is pure: no Kafka, no HTTP, no threads. :class:`RegistryState` takes
records in Confluent's key/value JSON format (``{"keytype":"SCHEMA","subject":
...,"version":...,"magic":1}`` and so on, as ``storage/*Key.java`` and
``*Value.java`` of Confluent's schema-registry define them) and answers the
questions the REST API asks. Every registry on a cluster applies the same records
in the same order, so they all reach the same state: that is what makes two
registries agree, and ids survive a restart with a data dir.

Record kinds (key ``keytype``):

- ``SCHEMA``: one subject version. The value carries ``id``, ``schema``,
  ``schemaType``, ``references``, ``metadata``, ``ruleSet`` and ``deleted`` (a soft
  delete rewrites the same key with ``deleted: true``); a tombstone (null value)
  is a hard delete.
- ``CONFIG`` / ``MODE``: global (no ``subject``) or per-subject settings; a
  tombstone removes the subject's setting.
- ``DELETE_SUBJECT``: soft-deletes every version up to ``version``.
- ``CLEAR_SUBJECT``: forgets every version of the subject (after a hard delete).
- ``NOOP``, ``CONTEXT``, ``ASSOC``: carry nothing this registry uses; skipped.

As Confluent's ``KafkaStoreMessageHandler.validateUpdate`` does, a ``SCHEMA``
record that reuses an id already held by a different schema is ignored, so a
stray writer can never make one id mean two schemas.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .formats import Reference

log = logging.getLogger(__name__)

#: Compatibility levels (Confluent's ``CompatibilityLevel``).
COMPATIBILITY_LEVELS: tuple[str, ...] = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)
#: Modes (Confluent's ``Mode``).
MODES: tuple[str, ...] = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT", "FORWARD")

DEFAULT_COMPATIBILITY = "BACKWARD"
DEFAULT_MODE = "READWRITE"


@dataclass(frozen=True)
class SchemaValue:
    """One subject version, as a ``SCHEMA`` record's value holds it."""

    subject: str
    version: int
    id: int
    schema: str
    schema_type: str = "AVRO"
    references: tuple[Reference, ...] = ()
    metadata: dict[str, Any] | None = None
    rule_set: dict[str, Any] | None = None
    deleted: bool = False

    def content_key(self) -> tuple[Any, ...]:
        """Return what makes two registrations "the same schema" (and so the same id):
        type, canonical text, references, metadata and rule set."""
        return content_key(
            self.schema_type, self.schema, self.references, self.metadata, self.rule_set
        )

    def to_json(self) -> dict[str, Any]:
        """Return the ``_schemas`` value (Confluent's ``SchemaValue`` JSON)."""
        out: dict[str, Any] = {
            "subject": self.subject,
            "version": self.version,
            "id": self.id,
            "schemaType": self.schema_type,
        }
        if self.references:
            out["references"] = [r.to_json() for r in self.references]
        if self.metadata:
            out["metadata"] = self.metadata
        if self.rule_set:
            out["ruleSet"] = self.rule_set
        out["schema"] = self.schema
        out["deleted"] = self.deleted
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> SchemaValue:
        """Build from a ``_schemas`` value.

        Raises:
            KeyError, TypeError, ValueError: the value is malformed.
        """
        refs = tuple(
            Reference(str(r["name"]), str(r["subject"]), int(r["version"]))
            for r in value.get("references") or []
        )
        return cls(
            subject=str(value["subject"]),
            version=int(value["version"]),
            id=int(value["id"]),
            schema=str(value["schema"]),
            schema_type=str(value.get("schemaType") or "AVRO"),
            references=refs,
            metadata=value.get("metadata") or None,
            rule_set=value.get("ruleSet") or None,
            deleted=bool(value.get("deleted", False)),
        )


def content_key(
    schema_type: str,
    schema: str,
    references: Iterable[Reference],
    metadata: dict[str, Any] | None,
    rule_set: dict[str, Any] | None,
) -> tuple[Any, ...]:
    """Return the identity of a schema's content (see :meth:`SchemaValue.content_key`)."""
    return (
        schema_type,
        schema,
        tuple(references),
        json.dumps(metadata or None, sort_keys=True),
        json.dumps(rule_set or None, sort_keys=True),
    )


# -- record keys and values -----------------------------------------------------------------


def schema_key(subject: str, version: int) -> dict[str, Any]:
    """Return a ``SCHEMA`` key (``magic`` 1)."""
    return {"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1}


def subject_key(keytype: str, subject: str | None) -> dict[str, Any]:
    """Return a ``CONFIG``/``MODE``/``DELETE_SUBJECT``/``CLEAR_SUBJECT`` key
    (``magic`` 0; no ``subject`` for the global config or mode)."""
    out: dict[str, Any] = {"keytype": keytype}
    if subject is not None:
        out["subject"] = subject
    out["magic"] = 0
    return out


def encode(obj: dict[str, Any] | None) -> bytes | None:
    """Return the bytes of a key or value (compact JSON; ``None`` is a tombstone)."""
    if obj is None:
        return None
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class RegistryState:
    """Everything the registry knows, built from ``_schemas`` records.

    Attributes:
        versions: ``(subject, version) -> SchemaValue``, soft-deleted ones included.
        configs: subject (``None`` for global) -> the CONFIG value.
        modes: subject (``None`` for global) -> the mode name.
        max_id: the largest schema id ever seen (ids are never reused).
        applied: how many records were applied, for diagnostics.
    """

    versions: dict[tuple[str, int], SchemaValue] = field(default_factory=dict)
    configs: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    modes: dict[str | None, str] = field(default_factory=dict)
    max_id: int = 0
    applied: int = 0
    # indexes
    by_id: dict[int, SchemaValue] = field(default_factory=dict)
    by_content: dict[tuple[Any, ...], int] = field(default_factory=dict)
    id_users: dict[int, set[tuple[str, int]]] = field(default_factory=dict)

    # -- applying records -------------------------------------------------------------

    def apply(self, key_bytes: bytes | None, value_bytes: bytes | None) -> None:
        """Apply one ``_schemas`` record. A record that is not valid JSON or not in
        Confluent's format is logged and skipped (it cannot have come from a
        registry, and one bad record must not stop every later one)."""
        self.applied += 1
        try:
            key = json.loads(key_bytes) if key_bytes else None
            value = json.loads(value_bytes) if value_bytes else None
        except ValueError:
            log.warning("skipping a _schemas record that is not JSON: %r", key_bytes)
            return
        if not isinstance(key, dict):
            return
        keytype = key.get("keytype")
        try:
            if keytype == "SCHEMA":
                self._apply_schema(key, value)
            elif keytype == "CONFIG":
                self._apply_setting(self.configs, key, value, lambda v: v)
            elif keytype == "MODE":
                self._apply_setting(self.modes, key, value, lambda v: str(v["mode"]))
            elif keytype == "DELETE_SUBJECT" and value is not None:
                self._soft_delete_subject(str(value["subject"]), int(value["version"]))
            elif keytype == "CLEAR_SUBJECT" and value is not None:
                for k in [k for k in self.versions if k[0] == value["subject"]]:
                    self._remove(k)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("skipping a malformed _schemas record %r: %s", key, exc)

    def _apply_schema(self, key: dict[str, Any], value: dict[str, Any] | None) -> None:
        k = (str(key["subject"]), int(key["version"]))
        if value is None:
            self._remove(k)
            return
        sv = SchemaValue.from_json(value)
        holder = self.by_id.get(sv.id)
        if holder is not None and holder.content_key() != sv.content_key():
            log.error(
                "ignoring %s version %d: id %d already belongs to another schema",
                sv.subject,
                sv.version,
                sv.id,
            )
            return
        self._remove(k)
        self.versions[k] = sv
        self.max_id = max(self.max_id, sv.id)
        self.by_id.setdefault(sv.id, sv)
        self.by_content.setdefault(sv.content_key(), sv.id)
        self.id_users.setdefault(sv.id, set()).add(k)

    def _remove(self, k: tuple[str, int]) -> None:
        old = self.versions.pop(k, None)
        if old is None:
            return
        users = self.id_users.get(old.id)
        if users is not None:
            users.discard(k)
            if not users:
                del self.id_users[old.id]
                self.by_id.pop(old.id, None)
                if self.by_content.get(old.content_key()) == old.id:
                    del self.by_content[old.content_key()]

    def _soft_delete_subject(self, subject: str, up_to: int) -> None:
        for (s, v), sv in list(self.versions.items()):
            if s == subject and v <= up_to and not sv.deleted:
                self.versions[(s, v)] = replace(sv, deleted=True)

    @staticmethod
    def _apply_setting(
        table: dict[str | None, Any], key: dict[str, Any], value: Any, conv: Any
    ) -> None:
        subject = key.get("subject")
        if value is None:
            table.pop(subject, None)
        else:
            table[subject] = conv(value)

    # -- queries ------------------------------------------------------------------------

    def subjects(self, deleted: bool = False) -> list[str]:
        """Return subjects with at least one live version (or any version if ``deleted``)."""
        return sorted({s for (s, _), sv in self.versions.items() if deleted or not sv.deleted})

    def subject_versions(self, subject: str, deleted: bool = False) -> list[SchemaValue]:
        """Return the subject's versions, oldest first (soft-deleted ones if ``deleted``)."""
        return sorted(
            (
                sv
                for (s, _), sv in self.versions.items()
                if s == subject and (deleted or not sv.deleted)
            ),
            key=lambda sv: sv.version,
        )

    def has_subject(self, subject: str) -> bool:
        """Return whether any version of ``subject`` exists, even soft-deleted."""
        return any(s == subject for s, _ in self.versions)

    def users_of(self, schema_id: int) -> list[SchemaValue]:
        """Return the subject versions that use ``schema_id``."""
        return sorted(
            (self.versions[k] for k in self.id_users.get(schema_id, ())),
            key=lambda sv: (sv.subject, sv.version),
        )

    def referenced_by(self, subject: str, version: int) -> list[int]:
        """Return the ids of live schemas that reference ``subject`` version ``version``."""
        ids = {
            sv.id
            for sv in self.versions.values()
            if not sv.deleted
            and any(r.subject == subject and r.version == version for r in sv.references)
        }
        return sorted(ids)

    def next_id(self) -> int:
        """Return the id a new schema gets: one more than any id ever seen."""
        return self.max_id + 1

    def compatibility(self, subject: str | None, default_to_global: bool = True) -> str | None:
        """Return the compatibility level for ``subject`` (its own, else the global
        one when ``default_to_global``, else the default BACKWARD)."""
        own = self.configs.get(subject, {}).get("compatibilityLevel") if subject else None
        if own or not default_to_global:
            return own
        return self.configs.get(None, {}).get("compatibilityLevel") or DEFAULT_COMPATIBILITY

    def config(self, subject: str | None) -> dict[str, Any] | None:
        """Return the subject's own CONFIG value (``None`` for the global one)."""
        return self.configs.get(subject)

    def mode(self, subject: str | None) -> str:
        """Return the mode in force for ``subject`` (its own, else the global one)."""
        if subject is not None and subject in self.modes:
            return self.modes[subject]
        return self.modes.get(None, DEFAULT_MODE)
