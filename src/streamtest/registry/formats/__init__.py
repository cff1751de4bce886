"""Schema formats: parsing, canonical forms and compatibility, one module per type.

Each format module provides ``parse(text, references) -> ParsedSchema``. A parsed
schema knows its canonical text (what the registry stores and compares, so the
same schema sent twice with different whitespace gets the same id), its
normalized form (``?normalize=true``), and how to check that it can read data
written with another schema of its type (``compatibility_errors``).

Compatibility is always asked as "can ``reader`` read what ``writer`` wrote":
BACKWARD checks the new schema as reader against the old as writer, FORWARD the
other way round, FULL both (see :mod:`streamtest.registry.compat`).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import SchemaParseError

#: The schema types this registry serves, as ``/schemas/types`` lists them.
SCHEMA_TYPES: tuple[str, ...] = ("JSON", "PROTOBUF", "AVRO")


@dataclass(frozen=True)
class Reference:
    """A schema reference as the REST API and ``_schemas`` carry it: the ``name`` the
    referring schema uses (an Avro full name, a JSON ``$ref`` URL, a ``.proto``
    import path), and the ``subject``/``version`` that hold the referenced schema."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, object]:
        """Return the REST/``_schemas`` form."""
        return {"name": self.name, "subject": self.subject, "version": self.version}


@dataclass(frozen=True)
class ResolvedReference:
    """A reference with the referenced schema's text and its own references resolved
    (depth first), as parsers need them."""

    name: str
    schema_type: str
    schema: str
    references: tuple[ResolvedReference, ...] = field(default=())


class ParsedSchema(abc.ABC):
    """A schema that parsed, with what the registry needs to know about it."""

    schema_type: str

    @abc.abstractmethod
    def canonical(self) -> str:
        """Return the canonical text: stored in ``_schemas`` and compared on lookup."""

    @abc.abstractmethod
    def normalized(self) -> ParsedSchema:
        """Return the schema in normal form (``?normalize=true``): semantically equal
        schemas written differently get the same normal form."""

    @abc.abstractmethod
    def compatibility_errors(self, writer: ParsedSchema) -> list[str]:
        """Return why this schema, as reader, cannot read data written with ``writer``;
        empty when it can."""

    def formatted(self, fmt: str | None) -> str:
        """Return the schema in the output format ``fmt`` asks for (``?format=``);
        unknown formats give the canonical text, as Confluent does."""
        return self.canonical()


def parse(
    schema_type: str, text: str, references: Sequence[ResolvedReference] = ()
) -> ParsedSchema:
    """Parse ``text`` as ``schema_type`` (``AVRO``, ``JSON`` or ``PROTOBUF``).

    Raises:
        SchemaParseError: the schema is invalid; the message says why.
    """
    if schema_type == "AVRO":
        from . import avro

        return avro.parse(text, references)
    if schema_type == "JSON":
        from . import jsonschema

        return jsonschema.parse(text, references)
    if schema_type == "PROTOBUF":
        from . import protobuf

        return protobuf.parse(text, references)
    raise SchemaParseError(f"unknown schema type {schema_type!r}")
