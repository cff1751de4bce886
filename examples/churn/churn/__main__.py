"""``python -m churn`` (with ``examples/churn`` on the path), or as a script:
``python examples/churn/churn run ...``."""

import sys

if not __package__:
    # Run as a script (``python examples/churn/churn``): the package is not
    # importable yet, so put its parent directory on the path first.
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from churn.cli import main  # noqa: E402

sys.exit(main())
