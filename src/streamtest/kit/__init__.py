"""The test kit: a :class:`Cluster` over any backend, helpers that never sleep, and
test data. Usable from pytest (through :mod:`streamtest.pytest_plugin`) and from
plain scripts alike.
"""

from .backends import BACKENDS, Settings, make_cluster, resolve_settings
from .cluster import (
    ApacheKafkaCluster,
    BackendUnavailable,
    Cluster,
    EmbeddedCluster,
    ExternalCluster,
)
from .containers import ContainerCluster
from .events import Event, classify, generate_events
from .kafka_utils import KafkaUtils
from .topics import TopicFactory
from .wait import assert_eventually, eventually

__all__ = [
    "BACKENDS",
    "ApacheKafkaCluster",
    "BackendUnavailable",
    "Cluster",
    "ContainerCluster",
    "EmbeddedCluster",
    "Event",
    "ExternalCluster",
    "KafkaUtils",
    "Settings",
    "TopicFactory",
    "assert_eventually",
    "classify",
    "eventually",
    "generate_events",
    "make_cluster",
    "resolve_settings",
]
