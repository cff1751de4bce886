"""Share groups (KIP-932, "queues for Kafka"): several workers take records from one
queue topic, each record goes to one of them, and what a worker does not finish
comes back.

The fixtures used here:

- ``queue``: an embedded cluster on a *manual clock*
  (``factories.kafka_cluster(clock="manual")``), so that an acquisition lock
  (``share.record.lock.duration.ms``, 30 s by default) expires when the test says
  so, with ``queue.embedded.advance(seconds)``, not after 30 real seconds;
- ``workers``: a ``kafka_share_consumer_factory``: each call is a confluent-kafka
  ``ShareConsumer`` in the test's own share group, which reads from the earliest
  offset; all are closed after the test;
- ``queue.share_group_state(group)``: where the group stands, down to each
  in-flight record's state and delivery count (on the embedded broker).

Nothing sleeps: the helpers poll with a deadline, and time moves with the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from confluent_kafka import AcknowledgeType, Message, ShareConsumer

from streamtest import Cluster, eventually, factories
from streamtest.kit.factories import ShareConsumerFactory

queue = factories.kafka_cluster("embedded", scope="module", clock="manual")
queue_topic = factories.kafka_topic("queue")
workers = factories.kafka_share_consumer_factory("queue")
explicit_workers = factories.kafka_share_consumer_factory("queue", acknowledgement_mode="explicit")

LOCK_SECONDS = 30  # Kafka's default group.share.record.lock.duration.ms


Received = list[list[Message]]
Ack = Callable[[ShareConsumer, Message], None]


def poll_until(
    consumers: Iterable[ShareConsumer],
    done: Callable[[Received], bool],
    *,
    timeout: float = 20.0,
    ack: Ack | None = None,
) -> Received:
    """Poll ``consumers`` in turn until ``done(received)`` holds; return what each got.

    ``ack(consumer, message)`` is called for each record (explicit mode)."""
    consumers = list(consumers)
    received: list[list[Message]] = [[] for _ in consumers]
    deadline = time.monotonic() + timeout
    while not done(received):
        assert time.monotonic() < deadline, f"gave up after {timeout}s: {received}"
        for consumer, bucket in zip(consumers, received, strict=True):
            for msg in consumer.poll(timeout=0.2):
                if msg.error() is None:
                    bucket.append(msg)
                    if ack is not None:
                        ack(consumer, msg)
    return received


def offsets(messages: Iterable[Message]) -> set[int]:
    return {m.offset() for m in messages}


def test_two_workers_drain_a_queue(
    queue: Cluster, queue_topic: str, workers: ShareConsumerFactory
) -> None:
    a, b = workers(), workers()
    a.subscribe([queue_topic])
    b.subscribe([queue_topic])
    queue.send(queue_topic, [f"job-{i}" for i in range(200)])

    got_a, got_b = poll_until([a, b], lambda r: len(offsets(r[0]) | offsets(r[1])) == 200)

    # Each record went to one worker only, and together they took every record.
    assert offsets(got_a).isdisjoint(offsets(got_b))
    assert offsets(got_a) | offsets(got_b) == set(range(200))
    # Implicit mode accepts a poll's records at the next poll, or at a commit; closing
    # without either would release the last batch for redelivery instead.
    a.commit_sync()
    b.commit_sync()
    state = queue.share_group_state(workers.group_id)
    assert state.partition(queue_topic).start_offset == 200
    assert state.partition(queue_topic).lag == 0


def test_a_stuck_workers_records_come_back_when_its_lock_expires(
    queue: Cluster, queue_topic: str, explicit_workers: ShareConsumerFactory
) -> None:
    stuck = explicit_workers()
    stuck.subscribe([queue_topic])
    queue.send(queue_topic, [f"job-{i}" for i in range(10)])
    poll_until([stuck], lambda r: len(r[0]) > 0)
    [member] = queue.share_group_state(explicit_workers.group_id).members

    def held_by_stuck() -> set[int]:
        """What the stuck worker holds: what its poll returned and what its client
        fetched ahead, locked to it until acknowledged or expired."""
        part = queue.share_group_state(explicit_workers.group_id).partition(queue_topic)
        return {r.offset for r in part.records if r.member_id == member.member_id}

    # The stuck worker never acknowledges and never polls again. A healthy worker
    # takes everything else, but not the locked records.
    healthy = explicit_workers()
    healthy.subscribe([queue_topic])
    accept = lambda consumer, msg: consumer.acknowledge(msg, AcknowledgeType.ACCEPT)  # noqa: E731
    [first] = poll_until(
        [healthy], lambda r: offsets(r[0]) | held_by_stuck() == set(range(10)), ack=accept
    )
    held = held_by_stuck()
    assert held and offsets(first).isdisjoint(held)

    queue.embedded.advance(LOCK_SECONDS)  # the stuck worker's lock runs out

    [again] = poll_until([healthy], lambda r: held <= offsets(r[0]), ack=accept)
    assert all(m.delivery_count() == 2 for m in again if m.offset() in held)
    healthy.commit_sync()
    eventually(
        lambda: (
            queue.share_group_state(explicit_workers.group_id).partition(queue_topic).start_offset
            == 10
        )
    )


def test_a_poison_record_is_rejected_and_never_redelivered(
    queue: Cluster, queue_topic: str, explicit_workers: ShareConsumerFactory
) -> None:
    worker = explicit_workers()
    worker.subscribe([queue_topic])
    queue.send(queue_topic, ["ok-0", "POISON", "ok-2", "ok-3"])

    def handle(consumer: ShareConsumer, msg: Message) -> None:
        verdict = AcknowledgeType.REJECT if msg.value() == b"POISON" else AcknowledgeType.ACCEPT
        consumer.acknowledge(msg, verdict)

    poll_until([worker], lambda r: len(r[0]) == 4, ack=handle)
    worker.commit_sync()

    part = queue.share_group_state(explicit_workers.group_id).partition(queue_topic)
    assert part.start_offset == 4  # everything is done: three accepted, one rejected
    assert part.lag == 0

    # However long we wait, the rejected record does not come back.
    queue.embedded.advance(LOCK_SECONDS * 3)
    queue.send(queue_topic, ["ok-4"])
    [later] = poll_until([worker], lambda r: len(r[0]) > 0, ack=handle)
    assert [m.value() for m in later] == [b"ok-4"]
