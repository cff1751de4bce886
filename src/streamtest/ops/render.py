"""Text output of the ops tools: column tables (laid out by rich) and line formats.

Tables follow ``kafka-consumer-groups.sh``: upper-case headers, left-aligned
columns separated by spaces, ``-`` for a missing value. On a terminal they are
printed with rich's styling; otherwise as plain text with no trailing spaces,
so that scripts and the snapshot tests see stable text.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

MISSING = "-"


def cell(value: object) -> str:
    """Return ``value`` as a table cell: ``-`` for ``None`` or an empty string."""
    if value is None or value == "":
        return MISSING
    return str(value)


def render_table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Return the table as plain text lines, each ending in a newline."""
    table = Table(
        box=None,
        pad_edge=False,
        show_edge=False,
        header_style="",
        padding=(0, 2, 0, 0),
    )
    for name in columns:
        table.add_column(name, no_wrap=True, overflow="ignore")
    for row in rows:
        table.add_row(*(cell(v) for v in row))
    buf = io.StringIO()
    # Wide enough never to wrap or squeeze a column; lines are stripped below.
    Console(file=buf, width=100_000, color_system=None, highlight=False).print(table)
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], console: Console | None = None
) -> None:
    """Print a table: styled on a terminal, plain text otherwise."""
    console = console or Console(highlight=False)
    if console.is_terminal:
        table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, 2, 0, 0))
        for name in columns:
            table.add_column(name, header_style="bold", no_wrap=True)
        for row in rows:
            table.add_row(*(cell(v) for v in row))
        console.print(table)
    else:
        console.file.write(render_table(columns, rows))
        console.file.flush()
