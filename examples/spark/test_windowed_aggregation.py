"""A Spark Structured Streaming job, tested end to end against Kafka: JSON events in,
per-user totals over one-minute event-time windows out, with a watermark.

The job reads ``events`` with Spark's Kafka source and writes each window's total
to ``totals`` with Spark's Kafka sink, in ``append`` mode: a window is written
once, when the watermark (the latest event time seen minus one minute) has
passed its end, and never again. The test drives it step by step with
``process_all_available`` (no sleeps) and checks what a downstream consumer sees
at each step: nothing while the windows are open, each closed window once, and
nothing for an event that arrives after its window was closed.

Run it: ``pip install 'streamtest[spark]'`` (Java 17+), then ``pytest examples/spark``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from streamtest.kit.spark import (
    MemorySink,
    collect_progress,
    process_all_available,
    read_kafka_stream,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

pytestmark = pytest.mark.slow

EVENT_SCHEMA = "user STRING, amount INT, ts TIMESTAMP"


def windowed_totals(events: DataFrame) -> DataFrame:
    """The job under test: per-user totals per one-minute window, as Kafka rows."""
    from pyspark.sql import functions as F

    parsed = events.select(F.from_json(F.col("value").cast("string"), EVENT_SCHEMA).alias("e"))
    totals = (
        parsed.select("e.*")
        .withWatermark("ts", "1 minute")
        .groupBy(F.window("ts", "1 minute"), "user")
        .agg(F.sum("amount").alias("total"), F.count("*").alias("events"))
    )
    return totals.select(
        F.col("user").alias("key"),
        F.to_json(
            F.struct(
                F.date_format("window.start", "HH:mm").alias("window"), "user", "total", "events"
            )
        ).alias("value"),
    )


def event(user: str, at: str, amount: int) -> tuple[str, str]:
    return user, json.dumps({"user": user, "amount": amount, "ts": f"2026-01-01T{at}Z"})


def totals_seen(kafka: Any, topic: str) -> list[dict[str, Any]]:
    """What a downstream consumer reads from the output topic."""
    return sorted(
        (json.loads(r.value) for r in kafka.records(topic)), key=lambda t: (t["window"], t["user"])
    )


def test_windows_are_written_once_when_the_watermark_passes_them(
    spark, kafka, kafka_topic_factory, tmp_path
):
    events, totals = kafka_topic_factory(partitions=2), kafka_topic_factory()
    kafka.send(
        events,
        [
            event("u1", "00:00:10", 5),
            event("u1", "00:00:40", 7),
            event("u2", "00:00:50", 1),
            event("u1", "00:01:20", 2),
        ],
    )
    query = (
        windowed_totals(read_kafka_stream(spark, kafka, events))
        .writeStream.format("kafka")
        .option("kafka.bootstrap.servers", kafka.bootstrap_servers)
        .option("topic", totals)
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .outputMode("append")
        .start()
    )
    try:
        with collect_progress(spark, query_id=str(query.id)) as progress:
            # The watermark is now 00:00:20: no window has ended before it.
            process_all_available(query)
            assert totals_seen(kafka, totals) == []

            # An event at 00:03:30 moves the watermark to 00:02:30, closing the
            # 00:00 and 00:01 windows; the 00:03 window stays open.
            kafka.send(events, [event("u2", "00:03:30", 1)])
            process_all_available(query)
            closed = [
                {"window": "00:00", "user": "u1", "total": 12, "events": 2},
                {"window": "00:00", "user": "u2", "total": 1, "events": 1},
                {"window": "00:01", "user": "u1", "total": 2, "events": 1},
            ]
            assert totals_seen(kafka, totals) == closed

            # A late event for the closed 00:00 window is dropped, not re-emitted.
            kafka.send(events, [event("u1", "00:00:30", 100)])
            process_all_available(query)
            assert totals_seen(kafka, totals) == closed
            last = progress.wait_for_batch(query.lastProgress["batchId"])
            dropped = sum(p.stateOperators[0].numRowsDroppedByWatermark for p in progress.progress)
            assert dropped == 1, last
    finally:
        query.stop()


def test_the_same_job_into_the_memory_sink(spark, kafka, kafka_topic):
    # The job's logic without the Kafka sink: the memory sink shows each row it
    # wrote, here in update mode so open windows show too.
    kafka.send(kafka_topic, [event("u1", "00:00:10", 5), event("u1", "00:00:20", 1)])
    with MemorySink(
        windowed_totals(read_kafka_stream(spark, kafka, kafka_topic)), output_mode="update"
    ) as sink:
        sink.process_all_available()
        assert [json.loads(r.value) for r in sink.rows()] == [
            {"window": "00:00", "user": "u1", "total": 6, "events": 2}
        ]
