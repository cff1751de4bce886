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
from streamtest.kit import reference_kafka as ref

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


@pytest.fixture(scope="session")
def reference_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ref.ReferenceKafka]:
    """Apache Kafka itself (:class:`~streamtest.kit.reference_kafka.ReferenceKafka`),
    the reference the embedded broker is compared with.

    Under pytest-xdist all workers share one JVM: the first worker that needs it
    starts it, tied to the xdist controller's life (the workers' parent process),
    and the others attach to it, so a run never pays for two JVMs. Without Java or
    Maven, or when Maven cannot resolve Kafka, the tests that use it skip with one
    line saying why; on CI (``CI`` set) they fail instead, since there they must run.
    A JVM that does not start is an error, with the end of its log.
    """
    try:
        if os.environ.get("PYTEST_XDIST_WORKER"):
            shared_dir = tmp_path_factory.getbasetemp().parent
            kafka = ref.ReferenceKafka.shared(shared_dir, owner_pid=os.getppid())
        else:
            kafka = ref.ReferenceKafka().start()
    except (ref.ToolNotFound, ref.MavenResolutionError) as exc:
        reason = f"reference Apache Kafka unavailable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (required on CI)", pytrace=False)
        pytest.skip(reason)
    try:
        yield kafka
    finally:
        kafka.stop()  # a no-op on a handle shared with other workers


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that runs the reference broker as ``slow`` (it starts a JVM)."""
    for item in items:
        if "reference_kafka" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
