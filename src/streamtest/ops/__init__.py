"""Ops tools for replay and backfill, usable without the CLI.

* :mod:`.plan` and :mod:`.timeparse`: pure parsing and offset-reset arithmetic.
* :mod:`.client`: client configuration, fail-fast connection checks, metadata.
* :mod:`.properties`: Java ``client.properties`` files read as librdkafka settings.
* :mod:`.topics`: topic administration (create, describe, alter, delete, configs).
* :mod:`.groups`, :mod:`.offsets`: group views and offset query/reset.
* :mod:`.replay`, :mod:`.lag`: range replay and the backfill/lag monitor.
* :mod:`.tail`, :mod:`.produce`: kcat-style consume and produce.
* :mod:`.render`: the text tables the CLI prints.

Everything talks to the cluster through confluent-kafka, so it works against any
Kafka; errors a user can cause are :class:`~.errors.OpsError` with a one-line message.
"""

from .client import ClientConfig, as_client_config
from .errors import (
    BrokerUnreachableError,
    GroupNotInactiveError,
    InvalidInputError,
    OpsError,
    ReplayTimeoutError,
    UnknownGroupError,
    UnknownPartitionError,
    UnknownTopicError,
)
from .plan import TP, ResetPlan, ResetSpec, TopicSelection

__all__ = [
    "TP",
    "BrokerUnreachableError",
    "ClientConfig",
    "GroupNotInactiveError",
    "InvalidInputError",
    "OpsError",
    "ReplayTimeoutError",
    "ResetPlan",
    "ResetSpec",
    "TopicSelection",
    "UnknownGroupError",
    "UnknownPartitionError",
    "UnknownTopicError",
    "as_client_config",
]
