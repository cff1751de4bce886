"""Differences between the confluent-kafka versions the project supports.

``pyproject.toml`` declares ``confluent-kafka>=2.12`` (the floor Quix Streams pins,
among others), and CI runs the kit's tests on that floor (``make test-floor``).
Where a newer release added something the kit uses, the kit goes through here.
"""

from __future__ import annotations

from typing import Any


def close_producer(producer: Any) -> None:
    """Release a confluent-kafka ``Producer`` (flush it first).

    ``Producer.close()`` only exists from confluent-kafka 2.13; before it a
    producer is released when the object is dropped, so there is nothing more to do.
    """
    close = getattr(producer, "close", None)
    if close is not None:
        close()


def librdkafka_version(libversion: Any) -> tuple[int, int, int]:
    """Return librdkafka's version as numbers from ``confluent_kafka.libversion()``,
    which is ``(str, int)`` in current releases and a plain ``"2.12.0"`` in 2.12."""
    text = libversion[0] if isinstance(libversion, tuple) else str(libversion)
    major, minor, patch = (int(part) for part in text.split(".")[:3])
    return major, minor, patch


class ShareConsumerUnavailable(ImportError):
    """The installed confluent-kafka has no ``ShareConsumer`` (KIP-932)."""


def share_consumer_class() -> Any:
    """Return confluent-kafka's ``ShareConsumer`` class.

    Raises:
        ShareConsumerUnavailable: the installed release predates it (the share-group
            fixtures need a newer confluent-kafka; 2.16 has it), with one line
            naming the installed version.
    """
    import confluent_kafka

    cls = getattr(confluent_kafka, "ShareConsumer", None)
    if cls is None:
        raise ShareConsumerUnavailable(
            f"confluent-kafka {confluent_kafka.__version__} has no ShareConsumer (KIP-932 "
            "share groups); install a newer confluent-kafka (2.16 has it)"
        )
    return cls
