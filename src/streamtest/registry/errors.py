"""Errors of the schema registry, each with Confluent's HTTP status and ``error_code``.

Clients (confluent-kafka's ``SchemaRegistryClient``, the Java serializers, tools)
branch on ``error_code``, so the codes and the wording of the messages follow
Confluent's ``rest/exceptions/Errors.java``: 40401 subject not found, 40402 version
not found, 40403 schema not found, 409 (40901) incompatible schema, 42201 invalid
schema, 42202 invalid version, 42203 invalid compatibility level, 42204 invalid
mode, 42205 operation not permitted, 42206 reference exists, 50001 store error,
50002 timeout.
"""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    """A request the registry refuses; carries the HTTP status and Confluent's code."""

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self) -> dict[str, Any]:
        """Return the JSON error body Confluent sends: ``error_code`` and ``message``."""
        return {"error_code": self.error_code, "message": self.message}


class SchemaParseError(ValueError):
    """A schema text that its format's parser rejects; the message is the parser's."""


def subject_not_found(subject: str) -> RegistryError:
    """Return 40401."""
    return RegistryError(404, 40401, f"Subject '{subject}' not found.")


def version_not_found(version: object) -> RegistryError:
    """Return 40402."""
    return RegistryError(404, 40402, f"Version {version} not found.")


def schema_not_found(schema_id: object | None = None) -> RegistryError:
    """Return 40403."""
    if schema_id is None:
        return RegistryError(404, 40403, "Schema not found")
    return RegistryError(404, 40403, f"Schema {schema_id} not found")


def subject_soft_deleted(subject: str) -> RegistryError:
    """Return 40404: the subject exists but all its versions are soft-deleted."""
    return RegistryError(
        404,
        40404,
        f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently",
    )


def subject_not_soft_deleted(subject: str) -> RegistryError:
    """Return 40405: a permanent delete of a subject that was not soft-deleted first."""
    return RegistryError(
        404,
        40405,
        f"Subject '{subject}' was not deleted first before being permanently deleted",
    )


def version_soft_deleted(subject: str, version: object) -> RegistryError:
    """Return 40406."""
    return RegistryError(
        404,
        40406,
        f"Subject '{subject}' Version {version} was soft deleted.Set permanent=true to "
        "delete permanently",
    )


def version_not_soft_deleted(subject: str, version: object) -> RegistryError:
    """Return 40407."""
    return RegistryError(
        404,
        40407,
        f"Subject '{subject}' Version {version} was not deleted first before being "
        "permanently deleted",
    )


def subject_compatibility_not_configured(subject: str) -> RegistryError:
    """Return 40408."""
    return RegistryError(
        404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured"
    )


def subject_mode_not_configured(subject: str) -> RegistryError:
    """Return 40409."""
    return RegistryError(
        404, 40409, f"Subject '{subject}' does not have subject-level mode configured"
    )


def incompatible(message: str) -> RegistryError:
    """Return 409 (Confluent sends error_code 409 for an incompatible registration)."""
    return RegistryError(409, 409, message)


def invalid_schema(message: str) -> RegistryError:
    """Return 42201 with the parser's message."""
    return RegistryError(
        422,
        42201,
        f"Invalid schema {message}" if not message.startswith("Invalid schema") else message,
    )


def invalid_version(version: object) -> RegistryError:
    """Return 42202."""
    return RegistryError(
        422,
        42202,
        f"The specified version '{version}' is not a valid version id. Allowed values are "
        'between [1, 2^31-1] and the string "latest"',
    )


def invalid_compatibility(level: object = None) -> RegistryError:
    """Return 42203."""
    return RegistryError(
        422,
        42203,
        "Invalid compatibility level. Valid values are none, backward, forward, full, "
        "backward_transitive, forward_transitive, and full_transitive",
    )


def invalid_mode(mode: object = None) -> RegistryError:
    """Return 42204."""
    return RegistryError(
        422, 42204, "Invalid mode. Valid values are READWRITE, READONLY, IMPORT and FORWARD."
    )


def not_permitted(message: str) -> RegistryError:
    """Return 42205 (for example a write in READONLY mode)."""
    return RegistryError(422, 42205, message)


def reference_exists(what: str) -> RegistryError:
    """Return 42206: a hard delete of a schema that another schema references."""
    return RegistryError(422, 42206, f"One or more references exist to the schema {what}.")


def id_does_not_match(message: str) -> RegistryError:
    """Return 42207 (IMPORT mode: the id is taken by another schema)."""
    return RegistryError(422, 42207, message)


def invalid_subject(subject: str) -> RegistryError:
    """Return 42208."""
    return RegistryError(422, 42208, f"The specified subject '{subject}' is not valid.")


def invalid_ruleset(message: str) -> RegistryError:
    """Return 42210."""
    return RegistryError(422, 42210, f"Invalid rule set: {message}")


def store_error(message: str) -> RegistryError:
    """Return 50001: the ``_schemas`` topic could not be read or written."""
    return RegistryError(500, 50001, message)


def timeout(message: str) -> RegistryError:
    """Return 50002."""
    return RegistryError(500, 50002, message)


def bad_request(message: str, status: int = 400) -> RegistryError:
    """Return a plain HTTP error with the status as its code (as Confluent does for
    malformed JSON, 50005 aside)."""
    return RegistryError(status, status, message)
