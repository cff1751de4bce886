"""Shared helpers for the plugin tests (a plain module: conftest is not importable)."""

from __future__ import annotations

import pytest


def groups_supported() -> bool:
    """Return whether the embedded broker implements consumer groups (JoinGroup)."""
    import streamtest.broker.apis  # noqa: F401  (registers every API)
    from streamtest.broker.dispatch import REGISTRY

    return 11 in REGISTRY and 14 in REGISTRY and 10 in REGISTRY


needs_groups = pytest.mark.skipif(
    not groups_supported(),
    reason="the embedded broker does not implement consumer groups yet (no JoinGroup)",
)
