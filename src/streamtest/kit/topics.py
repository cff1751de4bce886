"""``TopicFactory``: the seeds' TestTopicFactory, made safe to reuse.

It creates topics, remembers them, and deletes them all in :meth:`cleanup`. It is
also the object behind the ``kafka_topic_factory`` fixture, which calls it as
``factory(name=None, partitions=1, config=None) -> str``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .cluster import Cluster, ExternalCluster, unique_name


class TopicFactory:
    """Creates topics on a cluster and deletes them on :meth:`cleanup`.

    Args:
        cluster: a :class:`~streamtest.Cluster`, or bootstrap servers (as the seed's
            ``TestTopicFactory(bootstrap_servers)``; the factory then connects itself,
            and :meth:`close` or leaving a ``with`` block closes that connection).
        prefix: readable part of generated names (say, the test's name).
    """

    def __init__(self, cluster: Cluster | str, prefix: str = "") -> None:
        self._owned: Cluster | None = None
        if isinstance(cluster, str):
            cluster = self._owned = ExternalCluster(cluster).start()
        self.cluster = cluster
        self.prefix = prefix
        #: Names created and not yet cleaned up, in creation order.
        self.created_topics: list[str] = []

    def create_topic(
        self,
        name: str | None = None,
        num_partitions: int = 1,
        replication_factor: int = -1,
        config: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a topic (a unique name when ``name`` is ``None``) and return its name.

        Raises:
            confluent_kafka.KafkaException: the broker refused (e.g. it exists).
        """
        name = name or unique_name(self.prefix)
        self.cluster.create_topic(
            name, num_partitions, config, replication_factor=replication_factor
        )
        self.created_topics.append(name)
        return name

    def __call__(
        self, name: str | None = None, partitions: int = 1, config: Mapping[str, Any] | None = None
    ) -> str:
        """Create a topic and return its name: the ``kafka_topic_factory`` signature."""
        return self.create_topic(name, partitions, config=config)

    def cleanup(self) -> None:
        """Delete every topic this factory created (already-deleted ones are fine).

        Every deletion is attempted; if any fails, the first error is raised after
        the others have run, so one bad topic does not leak the rest.
        """
        created, self.created_topics = self.created_topics, []
        first_error: BaseException | None = None
        for name in created:
            try:
                self.cluster.delete_topic(name, missing_ok=True)
            except Exception as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error

    def close(self) -> None:
        """:meth:`cleanup`, then close the connection the factory opened itself (if any)."""
        try:
            self.cleanup()
        finally:
            owned, self._owned = self._owned, None
            if owned is not None:
                owned.stop()

    def __enter__(self) -> TopicFactory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
