"""A Flink SQL job, tested end to end against Kafka: JSON events in, per-user totals
over one-minute event-time tumbling windows out, delivered exactly once.

The job is plain Flink SQL on the Table API: a Kafka source table with a
watermark, the ``TUMBLE`` window table function, and a Kafka sink table with
``'sink.delivery-guarantee' = 'exactly-once'``. That sink writes each checkpoint's
output in a Kafka transaction and commits it when the checkpoint completes, so a
``read_committed`` consumer sees every window exactly once, and only once it is
committed.

The source is bounded (``'scan.bounded.mode' = 'latest-offset'``): the job reads
what is in the topic when it starts, then ends, which fires every remaining window
and commits the last transaction. The test waits for it with ``wait_for_job``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from confluent_kafka import TopicPartition

from streamtest.kit.flink import wait_for_job

if TYPE_CHECKING:
    from pyflink.table import TableEnvironment

pytestmark = pytest.mark.slow


def create_tables(t_env: TableEnvironment, bootstrap: str, events: str, totals: str) -> None:
    """The job's tables: the Kafka source with a watermark, and the exactly-once sink."""
    t_env.execute_sql(f"""
        CREATE TABLE events (
            `user` STRING,
            amount INT,
            ts TIMESTAMP(3),
            WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
        ) WITH (
            'connector' = 'kafka',
            'topic' = '{events}',
            'properties.bootstrap.servers' = '{bootstrap}',
            'properties.group.id' = 'totals-job',
            'scan.startup.mode' = 'earliest-offset',
            'scan.bounded.mode' = 'latest-offset',
            'format' = 'json',
            'json.timestamp-format.standard' = 'ISO-8601'
        )""")
    t_env.execute_sql(f"""
        CREATE TABLE totals (
            `user` STRING,
            window_start TIMESTAMP(3),
            total INT,
            events BIGINT
        ) WITH (
            'connector' = 'kafka',
            'topic' = '{totals}',
            'properties.bootstrap.servers' = '{bootstrap}',
            'sink.delivery-guarantee' = 'exactly-once',
            'sink.transactional-id-prefix' = 'totals-{totals}',
            'properties.transaction.timeout.ms' = '60000',
            'format' = 'json',
            'json.timestamp-format.standard' = 'ISO-8601'
        )""")


WINDOWED_TOTALS = """
    INSERT INTO totals
    SELECT `user`, window_start, SUM(amount), COUNT(*)
    FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
    GROUP BY `user`, window_start, window_end
"""


def event(user: str, at: str, amount: int) -> tuple[str, str]:
    return user, json.dumps({"user": user, "amount": amount, "ts": f"2026-01-01T{at}"})


def test_tumbling_window_totals_are_committed_exactly_once(
    flink_table_env, kafka, kafka_topic_factory
):
    events, totals = kafka_topic_factory(partitions=2), kafka_topic_factory()
    kafka.send(
        events,
        [
            event("u1", "00:00:10", 5),
            event("u2", "00:00:20", 1),
            event("u1", "00:00:50", 7),
            event("u1", "00:01:05", 2),
            event("u2", "00:03:00", 4),
        ],
    )
    create_tables(flink_table_env, kafka.bootstrap_servers, events, totals)

    wait_for_job(flink_table_env.execute_sql(WINDOWED_TOTALS), timeout=300)

    committed = kafka.records(totals, isolation_level="read_committed")
    windows = sorted(
        (json.loads(r.value) for r in committed), key=lambda w: (w["window_start"], w["user"])
    )
    assert [(w["window_start"][11:16], w["user"], w["total"], w["events"]) for w in windows] == [
        ("00:00", "u1", 12, 2),
        ("00:00", "u2", 1, 1),
        ("00:01", "u1", 2, 1),
        ("00:03", "u2", 4, 1),
    ]
    # Exactly once: no window twice, nothing left in an open or aborted transaction,
    # and the records were written transactionally: each commit left a marker in
    # the log, an offset that holds no record.
    assert kafka.records(totals) == committed
    consumer = kafka.consumer()
    try:
        _, end_offset = consumer.get_watermark_offsets(TopicPartition(totals, 0), timeout=10)
    finally:
        consumer.close()
    assert end_offset > len(committed)
