"""streamtest: test Kafka streaming pipelines fast and for real.

The embedded broker speaks the Kafka wire protocol, so real clients
(confluent-kafka, kafka-python, aiokafka, kcat, ...) connect to it unchanged.
The test kit (:class:`Cluster`, :class:`KafkaUtils`, :func:`eventually`, ...) and
the pytest plugin run the same tests on the embedded broker, in a container, or
against an existing cluster.
"""

from __future__ import annotations

import importlib
from typing import Any

from .embedded import BrokerStartError, EmbeddedKafka
from .kit import (
    ApacheKafkaCluster,
    BackendUnavailable,
    Cluster,
    ContainerCluster,
    EmbeddedCluster,
    Event,
    ExternalCluster,
    KafkaUtils,
    TopicFactory,
    assert_eventually,
    eventually,
    generate_events,
    make_cluster,
)
from .types import KafkaRecord

__all__ = [
    "ApacheKafkaCluster",
    "BackendUnavailable",
    "BrokerStartError",
    "Cluster",
    "ContainerCluster",
    "EmbeddedCluster",
    "EmbeddedKafka",
    "Event",
    "ExternalCluster",
    "KafkaRecord",
    "KafkaUtils",
    "TopicFactory",
    "assert_eventually",
    "bench",
    "eventually",
    "factories",
    "generate_events",
    "make_cluster",
    "strategies",
]
__version__ = "0.1.0"

# Submodules with heavier or optional dependencies load on first use:
# ``strategies`` needs Hypothesis, ``factories`` needs pytest, ``bench`` needs
# confluent-kafka and the ``bench`` extra.
_LAZY_SUBMODULES = {
    "strategies": ".strategies",
    "factories": ".kit.factories",
    "bench": ".bench",
}


def __getattr__(name: str) -> Any:
    """Import ``streamtest.strategies`` / ``factories`` / ``bench`` on first access."""
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(_LAZY_SUBMODULES[name], __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'streamtest' has no attribute {name!r}")
