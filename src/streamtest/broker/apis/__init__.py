"""One module per Kafka API, named after its key (``k00_produce`` is key 0).

Importing this package imports every ``kNN_*`` module in it, and each registers
its handler with the dispatcher, so adding an API is adding a file.
"""

import importlib
import pkgutil

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("k") and _info.name[1:3].isdigit():
        importlib.import_module(f"{__name__}.{_info.name}")
