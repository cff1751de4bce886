"""Fixtures of the Kafka Streams example: the built app and the two brokers it runs on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamtest import EmbeddedKafka
from streamtest.kit import reference_kafka as ref
from streamtest.kit.jvm import MavenBuild, build_maven_module

APP_DIR = Path(__file__).resolve().parents[1]


def _unavailable(what: str, exc: Exception) -> None:
    """Skip (or, on CI, fail) with one line saying what is missing."""
    reason = f"{what} unavailable: {exc}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required on CI)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def orders_app_jar() -> MavenBuild:
    """The Kafka Streams app, built with the reference broker's Kafka release."""
    try:
        return build_maven_module(
            APP_DIR, "orders-streams.jar", {"kafka.version": ref.KAFKA_VERSION}
        )
    except (ref.ToolNotFound, ref.MavenResolutionError) as exc:
        _unavailable("Kafka Streams", exc)
        raise  # unreachable: skip/fail raise


@pytest.fixture(scope="session")
def reference_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ref.ReferenceKafka]:
    """Apache Kafka, shared with tests/ under pytest-xdist (one JVM per run).

    The same fixture as tests/conftest.py's, which examples/ cannot see.
    """
    try:
        if os.environ.get("PYTEST_XDIST_WORKER"):
            shared_dir = tmp_path_factory.getbasetemp().parent
            kafka = ref.ReferenceKafka.shared(shared_dir, owner_pid=os.getppid())
        else:
            kafka = ref.ReferenceKafka().start()
    except (ref.ToolNotFound, ref.MavenResolutionError) as exc:
        _unavailable("reference Apache Kafka", exc)
        raise
    try:
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture(scope="module")
def embedded_process_broker() -> Iterator[EmbeddedKafka]:
    """The embedded broker in process mode (its own interpreter, as a shared test broker
    would run), with Kafka Streams' internal topics created on demand."""
    with EmbeddedKafka(mode="process", partitions=1) as kafka:
        yield kafka
