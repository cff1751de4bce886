"""streamtest: test Kafka streaming pipelines fast and for real.

The embedded broker speaks the Kafka wire protocol, so real clients
(confluent-kafka, kafka-python, aiokafka, kcat, ...) connect to it unchanged.
The test kit (:class:`Cluster`, :class:`KafkaUtils`, :func:`eventually`, ...) and
the pytest plugin run the same tests on the embedded broker, in a container, or
against an existing cluster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import factories, strategies
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

# Every public name is imported on first use (PEP 562), so ``import streamtest``
# costs nothing and ``from streamtest import EmbeddedKafka`` loads the broker but
# not the test kit: a fresh process that only starts a broker stays fast (see
# benchmarks/bench_cold_start.py). ``strategies`` needs Hypothesis, ``factories``
# needs pytest, ``bench`` the ``bench`` extra; none is imported until asked for.
_WHERE = {
    "BrokerStartError": ".embedded",
    "EmbeddedKafka": ".embedded",
    "KafkaRecord": ".types",
    "strategies": ".strategies",
    "factories": ".kit.factories",
    "bench": ".bench",
    **{
        name: ".kit"
        for name in (
            "ApacheKafkaCluster",
            "BackendUnavailable",
            "Cluster",
            "ContainerCluster",
            "EmbeddedCluster",
            "Event",
            "ExternalCluster",
            "KafkaUtils",
            "TopicFactory",
            "assert_eventually",
            "eventually",
            "generate_events",
            "make_cluster",
        )
    },
}
_MODULES = {"strategies", "factories", "bench"}


def __getattr__(name: str) -> Any:
    """Import a public name of streamtest on first access."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'streamtest' has no attribute {name!r}")
    module = importlib.import_module(where, __name__)
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
