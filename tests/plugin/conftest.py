"""Helpers for testing the plugin and kit.

The plugin reads ``STREAMTEST_*`` variables; a developer's shell must not change
what these tests see, so every test starts without them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Import the broker here, in the outer session, so that pytester's in-process runs
# (which drop modules first imported during the run) reuse it instead of importing
# and compiling it again for every inner session: a second or more each here, where
# PYTHONDONTWRITEBYTECODE=1 means nothing is ever cached.
import streamtest.broker.apis  # noqa: F401
import streamtest.broker.cluster  # noqa: F401
from streamtest import Cluster, EmbeddedCluster, EmbeddedKafka, ExternalCluster


@pytest.fixture(autouse=True)
def _clean_streamtest_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "STREAMTEST_BACKEND",
        "STREAMTEST_BOOTSTRAP_SERVER",
        "STREAMTEST_BOOTSTRAP_SERVERS",
        "STREAMTEST_KEEP_TOPICS",
        "STREAMTEST_SCHEMA_REGISTRY_URL",
        "STREAMTEST_BROKERS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def outside_broker() -> Iterator[EmbeddedKafka]:
    """A broker started outside the inner pytest runs: the 'existing cluster' that the
    external backend connects to."""
    with EmbeddedKafka() as broker:
        yield broker


@pytest.fixture(
    scope="session", params=["embedded", pytest.param("apache", marks=pytest.mark.slow)]
)
def kafka(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """The kit's ``Cluster`` for the tests that use ``kafka`` directly
    (test_kit_cluster.py): the plugin's default, the embedded broker, and the
    ``external`` backend pointed at Apache Kafka (the ``reference_kafka`` fixture),
    so every helper is checked against the real broker too."""
    if request.param == "embedded":
        cluster: Cluster = EmbeddedCluster()
    else:
        reference = request.getfixturevalue("reference_kafka")
        cluster = ExternalCluster(reference.bootstrap_servers, connect_timeout=30)
    with cluster:
        yield cluster
