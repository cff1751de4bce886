"""Compatibility levels: which earlier versions a new schema is checked against, and
in which direction.

- BACKWARD: the new schema reads data written with the latest version;
- FORWARD: the latest version reads data written with the new schema;
- FULL: both;
- ``*_TRANSITIVE``: the same against every live (not soft-deleted) version, not
  only the latest;
- NONE: no check.

The per-format rules live in :mod:`streamtest.registry.formats`; each answers
"can this reader read that writer's data".
"""

from __future__ import annotations

from collections.abc import Sequence

from .formats import ParsedSchema


def check(level: str, new: ParsedSchema, previous: Sequence[tuple[int, ParsedSchema]]) -> list[str]:
    """Return the reasons ``new`` is incompatible under ``level`` with ``previous``
    (``(version, schema)`` pairs, oldest first); empty when compatible.

    Each reason ends with the version it failed against and the level, as
    Confluent's verbose messages do.
    """
    if level == "NONE" or not previous:
        return []
    transitive = level.endswith("_TRANSITIVE")
    base = level.removesuffix("_TRANSITIVE")
    targets = previous if transitive else previous[-1:]
    errors: list[str] = []
    # Confluent checks the newest version first and reports the first that fails.
    for version, old in reversed(targets):
        found: list[str] = []
        if base in ("BACKWARD", "FULL"):
            found += new.compatibility_errors(old)
        if base in ("FORWARD", "FULL"):
            found += [
                e.replace("new schema", "§")
                .replace("old schema", "new schema")
                .replace("§", "old schema")
                for e in old.compatibility_errors(new)
            ]
        if found:
            errors += found
            errors.append(f"{{oldSchemaVersion: {version}}}")
            errors.append(f"{{compatibility: '{level}'}}")
            break
    return errors
