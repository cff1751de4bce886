"""Shared fixtures for streamtest's own test suite.

The broker under test is the real embedded broker on a real loopback socket;
clients are the real libraries.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator

import pytest

from streamtest import EmbeddedKafka

_counter = itertools.count()


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedKafka]:
    """One embedded broker (thread mode) for the whole session."""
    with EmbeddedKafka(partitions=1) as kafka:
        yield kafka


@pytest.fixture
def bootstrap(broker: EmbeddedKafka) -> str:
    """The session broker's bootstrap address."""
    return broker.bootstrap_servers


@pytest.fixture
def topic_name() -> str:
    """A topic name unique to this test (and this xdist worker)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"t-{worker}-{next(_counter)}-{uuid.uuid4().hex[:8]}"
