"""Sample customer records and a publisher for them: the pipeline's upstream.

:func:`sample_customers` is deterministic for a seed, so a test knows exactly
what it sent; :func:`invalid_samples` lists one record of each way input can be
bad, with the ``error_type`` the pipeline must report for it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from .model import CONTRACTS, INTERNET_SERVICES, Customer


def sample_customers(
    count: int, *, seed: int = 0, start: int = 0, version: int = 1, prefix: str = "C"
) -> list[Customer]:
    """Return ``count`` valid customers ``<prefix>{start:06d}`` onwards at ``version``,
    with attributes drawn from ``random.Random(seed)``."""
    rng = random.Random(seed)
    out = []
    for i in range(start, start + count):
        tenure = rng.randint(0, 72)
        monthly = round(rng.uniform(18.0, 120.0), 2)
        cid = f"{prefix}{i:06d}"
        out.append(
            Customer(
                customer_id=cid,
                version=version,
                tenure_months=tenure,
                monthly_charges=monthly,
                total_charges=round(monthly * tenure, 2),
                contract=rng.choice(CONTRACTS),
                internet_service=rng.choice(INTERNET_SERVICES),
                support_calls=rng.randint(0, 9),
                paperless_billing=rng.random() < 0.6,
                event_id=f"{cid}-v{version}",
            )
        )
    return out


#: Marks a field that ``invalid_samples`` leaves out of a record.
_DROP: Any = object()


def invalid_samples() -> list[tuple[str, bytes]]:
    """Return ``(expected error_type, raw value)`` for one bad record of each kind."""
    good = sample_customers(1, prefix="BAD")[0].to_json()

    def variant(**changes: Any) -> bytes:
        data = {**good, **changes}
        return json.dumps({k: v for k, v in data.items() if v is not _DROP}).encode()

    return [
        ("invalid_json", b'{"customer_id": "BAD000001", "version": 1,'),  # truncated
        ("invalid_json", b"[1, 2, 3]"),  # JSON, but not an object
        ("invalid_encoding", b"\xff\xfe\x00not utf-8"),
        ("missing_field", variant(event_id="bad-missing", tenure_months=_DROP)),
        ("wrong_type", variant(event_id="bad-type", monthly_charges="a lot")),
        ("wrong_type", variant(event_id="bad-bool", tenure_months=True)),
        ("out_of_range", variant(event_id="bad-range", tenure_months=-3)),
        ("out_of_range", variant(event_id="bad-contract", contract="lifetime")),
    ]


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where the broker stored one published record."""

    partition: int
    offset: int


def encode_customer(customer: Customer) -> tuple[bytes, bytes]:
    """Return ``(key, value)`` for ``customer``: keyed by customer id, JSON value."""
    return customer.customer_id.encode(), json.dumps(customer.to_json()).encode()


def publish(
    producer: Producer,
    topic: str,
    records: Iterable[Customer | tuple[bytes | None, bytes | None]],
    timeout: float = 30.0,
) -> list[Delivery]:
    """Publish ``records`` (customers, or raw ``(key, value)`` pairs) to ``topic`` in
    order; wait until every one is acknowledged and return where each landed.

    Raises:
        confluent_kafka.KafkaException: the broker refused a record.
        TimeoutError: records were still unacknowledged after ``timeout`` seconds.
    """
    results: list[Delivery | None] = []
    errors: list[KafkaError] = []

    def report(index: int) -> Any:
        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                errors.append(err)
            else:
                results[index] = Delivery(msg.partition(), msg.offset())

        return on_delivery

    for record in records:
        key, value = encode_customer(record) if isinstance(record, Customer) else record
        results.append(None)
        callback = report(len(results) - 1)
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=callback)
                break
            except BufferError:
                producer.poll(0.05)  # local queue full: serve delivery reports first
    remaining = producer.flush(timeout)
    if errors:
        raise KafkaException(errors[0])
    if remaining:
        raise TimeoutError(
            f"{remaining} of {len(results)} records unacknowledged after {timeout:g}s"
        )
    return [r for r in results if r is not None]


def producer_config(bootstrap_servers: str, **extra: Any) -> dict[str, Any]:
    """Return settings for a publisher: idempotent (ordered, no duplicates on retry),
    murmur2 partitioning like Java clients, so keys land where Kafka Streams would
    put them."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "enable.idempotence": True,
        "linger.ms": 5,
        "partitioner": "murmur2_random",
        **extra,
    }
