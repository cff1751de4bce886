"""The protocol package must stay free of I/O so it can be tested with bytes alone."""

from __future__ import annotations

import ast
from pathlib import Path

import streamtest.protocol as protocol_pkg

FORBIDDEN = {"asyncio", "socket", "selectors", "ssl"}


def test_protocol_package_imports_no_io_modules():
    root = Path(protocol_pkg.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []
