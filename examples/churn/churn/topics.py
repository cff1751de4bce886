"""The pipeline's three topics: their names, shapes and configs, and how to create them.

Production uses the plain names. Tests and demos add a suffix
(``telco.raw.customers.<suffix>``), as the seeds' suite adds ``.test``, so that
runs sharing one cluster never see each other's records.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

INPUT_TOPIC = "telco.raw.customers"
OUTPUT_TOPIC = "telco.churn.predictions"
DEADLETTER_TOPIC = "telco.deadletter"

#: Input and output have 3 partitions, so three pipeline instances can share the
#: work; the dead-letter topic has 1, because it is read by a human, in order.
PARTITIONS = {"input": 3, "output": 3, "deadletter": 1}

#: Topic configs. Raw input is kept 7 days so it can be replayed after a model
#: fix; predictions 3 days; dead letters 14 days, long enough to triage, with a
#: larger max message size because they carry the whole original message.
CONFIGS: dict[str, dict[str, str]] = {
    "input": {"retention.ms": str(7 * 24 * 3_600_000), "cleanup.policy": "delete"},
    "output": {"retention.ms": str(3 * 24 * 3_600_000), "cleanup.policy": "delete"},
    "deadletter": {
        "retention.ms": str(14 * 24 * 3_600_000),
        "cleanup.policy": "delete",
        "max.message.bytes": str(2 * 1024 * 1024),
    },
}


@dataclass(frozen=True)
class Topics:
    """The names of the pipeline's input, output and dead-letter topics."""

    input: str = INPUT_TOPIC
    output: str = OUTPUT_TOPIC
    deadletter: str = DEADLETTER_TOPIC

    @classmethod
    def with_suffix(cls, suffix: str) -> Topics:
        """Return the standard names with ``.<suffix>`` appended (no suffix: the
        standard names)."""
        if not suffix:
            return cls()
        return cls(
            f"{INPUT_TOPIC}.{suffix}", f"{OUTPUT_TOPIC}.{suffix}", f"{DEADLETTER_TOPIC}.{suffix}"
        )

    def by_role(self) -> dict[str, str]:
        """Return ``{"input": name, "output": name, "deadletter": name}``."""
        return {"input": self.input, "output": self.output, "deadletter": self.deadletter}


def create_topics(admin: AdminClient, topics: Topics, timeout: float = 10.0) -> list[str]:
    """Create the pipeline's topics with their partitions and configs; return the
    names that were created (topics that already exist are left as they are).

    Raises:
        confluent_kafka.KafkaException: the cluster refused to create one.
    """
    new = [
        NewTopic(
            name, num_partitions=PARTITIONS[role], replication_factor=-1, config=dict(CONFIGS[role])
        )
        for role, name in topics.by_role().items()
    ]
    created = []
    futures = admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout)
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if not (isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS):
                raise
    return created


def delete_topics(admin: AdminClient, topics: Topics, timeout: float = 10.0) -> None:
    """Delete the pipeline's topics; ones already gone are ignored.

    Raises:
        confluent_kafka.KafkaException: the cluster refused for another reason.
    """
    futures = admin.delete_topics(
        list(topics.by_role().values()), operation_timeout=timeout, request_timeout=timeout
    )
    for future in futures.values():
        try:
            future.result()
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if not (isinstance(err, KafkaError) and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
                raise
