"""``--format table|json|csv``: machine-readable output for the commands that print
tables, with keys that stay stable.

* ``table`` (the default): the aligned columns ``kafka-consumer-groups.sh`` prints,
  styled on a terminal.
* ``json``: one JSON document on stdout. Keys are the table's column names in
  snake_case (``CURRENT-OFFSET`` -> ``current_offset``); a missing value is
  ``null``, never ``-``; numbers are numbers.
* ``csv``: a header line of the same keys, then one row per table row (RFC 4180
  quoting), for tables that are flat.

Every command documents its keys in its ``--help``; tests pin them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import click

from ..ops.render import print_table

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "csv")


def format_option(*, csv_ok: bool = True, keys: str = "") -> Callable[[F], F]:
    """Add ``--format`` (``-o`` is taken by kcat's offset, so there is no short form).

    ``keys`` is appended to the help text, so ``--help`` lists the stable keys.
    """
    choices = FORMATS if csv_ok else ("table", "json")
    text = "Output format: table (default), " + ", ".join(choices[1:]) + "."
    if keys:
        text += f" Keys: {keys}."
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default="table",
        show_default=False,
        help=text,
    )


def key_of(column: str) -> str:
    """Return the JSON/CSV key for a table column: ``LOG-END-OFFSET`` -> ``log_end_offset``,
    ``#MEMBERS`` -> ``members``, ``COORDINATOR (ID)`` -> ``coordinator``."""
    name = column.split("(")[0].strip().lstrip("#").lower()
    return name.replace("-", "_").replace(" ", "_")


def emit_json(document: Any) -> None:
    """Print ``document`` as indented JSON with a trailing newline."""
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def emit_csv(keys: Sequence[str], rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> None:
    """Print a CSV header of ``keys`` and one line per row (``None`` is empty, booleans
    are ``true``/``false``, lists are joined with commas and so quoted)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(keys)
    for row in rows:
        values = [row.get(k) for k in keys] if isinstance(row, Mapping) else list(row)
        writer.writerow([_csv_cell(v) for v in values])
    click.echo(buf.getvalue(), nl=False)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return value


def emit_rows(fmt: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a flat table as ``fmt``: the table itself, a JSON array of objects keyed by
    :func:`key_of` of each column, or CSV with those keys as the header."""
    if fmt == "table":
        print_table(columns, rows)
        return
    keys = [key_of(c) for c in columns]
    if fmt == "json":
        emit_json([dict(zip(keys, row, strict=True)) for row in rows])
    else:
        emit_csv(keys, rows)
