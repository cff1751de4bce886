"""A KIP-848 consumer subscribed with a pattern (confluent-kafka, ``group.protocol=
consumer``): the broker resolves the pattern, including topics created later
(issue 14, item 4; the timing rules are tested in tests/broker with a manual clock)."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

pytestmark = pytest.mark.interop


def test_pattern_subscription_picks_up_existing_and_new_topics_confluent_kafka(bootstrap):
    prefix = f"rx{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(f"{prefix}-a", 2, 1)])[f"{prefix}-a"].result(15)
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": prefix, "group.protocol": "consumer"}
    )
    try:
        consumer.subscribe([f"^{prefix}-.*"])

        def topics() -> set[str]:
            return {tp.topic for tp in consumer.assignment()}

        deadline = time.monotonic() + 30
        while topics() != {f"{prefix}-a"} and time.monotonic() < deadline:
            consumer.poll(0.2)
        assert topics() == {f"{prefix}-a"}
        admin.create_topics([NewTopic(f"{prefix}-b", 1, 1)])[f"{prefix}-b"].result(15)
        # Picked up at the group's next pattern refresh (Kafka: at most every 10 s).
        deadline = time.monotonic() + 45
        while topics() != {f"{prefix}-a", f"{prefix}-b"} and time.monotonic() < deadline:
            consumer.poll(0.2)
        assert topics() == {f"{prefix}-a", f"{prefix}-b"}
    finally:
        consumer.close()
