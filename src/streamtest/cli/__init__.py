"""The ``streamtest`` command line.

Each ``cmd_*.py`` module in this package adds its commands to the root group,
so a new command is a new file.
"""

import importlib
import pkgutil

from ._app import main

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("cmd_"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["main"]
