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
