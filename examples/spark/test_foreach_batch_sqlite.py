"""``foreachBatch`` into SQLite: an idempotent upsert that survives a crash.

The job folds balance changes from Kafka into an SQLite table, one transaction
per micro-batch. Spark guarantees each micro-batch at least once: after a crash
it re-runs the last batch that it had not committed, with the same batch id and
the same records. The upsert stores the batch id in the same SQLite transaction
as the balances and skips a batch it has already applied, so the table is right
exactly once.

The test crashes the sink right after it committed batch 1 to SQLite, restarts
the query from its checkpoint, and checks that batch 1 was delivered twice but
applied once. ``ForeachBatchRecorder`` records what the sink saw.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from streamtest.kit.spark import ForeachBatchRecorder, process_all_available, read_kafka_stream

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

pytestmark = pytest.mark.slow

CHANGE_SCHEMA = "account STRING, delta INT"


class BalanceUpsert:
    """The sink under test: ``foreachBatch(BalanceUpsert(db))``."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.crash_after_batch: int | None = None  # the test's fault injection
        with sqlite3.connect(db) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS balance (account TEXT PRIMARY KEY, amount INT)"
            )
            conn.execute("CREATE TABLE IF NOT EXISTS applied (batch_id INT PRIMARY KEY)")

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        from pyspark.sql import functions as F

        changes = (
            batch.select(F.from_json(F.col("value").cast("string"), CHANGE_SCHEMA).alias("c"))
            .groupBy("c.account")
            .agg(F.sum("c.delta").alias("delta"))
            .collect()
        )
        conn = sqlite3.connect(self.db)
        try:
            with conn:  # one transaction: the balances and the batch id together
                if conn.execute("SELECT 1 FROM applied WHERE batch_id = ?", (batch_id,)).fetchone():
                    return  # a replay of a batch already applied
                conn.executemany(
                    "INSERT INTO balance (account, amount) VALUES (?, ?) "
                    "ON CONFLICT(account) DO UPDATE SET amount = amount + excluded.amount",
                    [(row.account, row.delta) for row in changes],
                )
                conn.execute("INSERT INTO applied (batch_id) VALUES (?)", (batch_id,))
        finally:
            conn.close()
        if batch_id == self.crash_after_batch:
            raise RuntimeError(f"simulated crash after committing batch {batch_id}")

    def balances(self) -> dict[str, int]:
        with sqlite3.connect(self.db) as conn:
            return dict(conn.execute("SELECT account, amount FROM balance"))


def change(account: str, delta: int) -> tuple[str, str]:
    return account, json.dumps({"account": account, "delta": delta})


def test_upsert_applies_each_batch_once_across_a_crash(spark, kafka, kafka_topic, tmp_path):
    from pyspark.errors import StreamingQueryException

    upsert = BalanceUpsert(tmp_path / "balances.db")
    recorder = ForeachBatchRecorder(then=upsert)
    checkpoint = str(tmp_path / "checkpoint")

    def start():
        return (
            read_kafka_stream(spark, kafka, kafka_topic)
            .writeStream.foreachBatch(recorder)
            .option("checkpointLocation", checkpoint)
            .start()
        )

    kafka.send(kafka_topic, [change("alice", 10), change("bob", 5)])
    query = start()
    try:
        process_all_available(query)
        assert upsert.balances() == {"alice": 10, "bob": 5}

        # The sink commits batch 1 to SQLite, then dies before Spark commits it.
        upsert.crash_after_batch = 1
        kafka.send(kafka_topic, [change("alice", 1), change("carol", 7)])
        with pytest.raises(
            StreamingQueryException, match="simulated crash after committing batch 1"
        ):
            process_all_available(query)
        assert not query.isActive
    finally:
        query.stop()

    # Restarted from the checkpoint, Spark re-runs batch 1 with the same records.
    upsert.crash_after_batch = None
    query = start()
    try:
        process_all_available(query)
    finally:
        query.stop()
    assert recorder.batch_ids == [0, 1, 1]
    assert recorder.batches[1].rows == recorder.batches[2].rows
    assert upsert.balances() == {"alice": 11, "bob": 5, "carol": 7}
