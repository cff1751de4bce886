"""Replaying from a point in time: the ops CLI rewinds a consumer group, and a Spark
backfill reads the same records with ``startingOffsetsByTimestamp``.

The story: a ``billing`` service (a consumer group) has processed every payment;
a bug is found in what it did after 00:05. The operator rewinds the group to
00:05 with ``streamtest offsets reset --to-datetime ... --execute`` (as with
``kafka-consumer-groups.sh --reset-offsets``), and a Spark job recomputes the
per-account totals from 00:05 on with ``startingOffsetsByTimestamp``. Both find
their start with a ListOffsets-by-timestamp request, so they must agree record
for record: that is what the test checks.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from streamtest.cli import main
from streamtest.kit.spark import read_kafka

pytestmark = pytest.mark.slow

START = datetime(2026, 1, 1, tzinfo=UTC)
REPLAY_FROM = "2026-01-01T00:05:00Z"


def ms(minute: int) -> int:
    return int(START.timestamp() * 1000) + minute * 60_000


def test_spark_backfill_reads_what_the_rewound_group_rereads(spark, kafka, kafka_topic_factory):
    payments = kafka_topic_factory(partitions=2)
    producer = kafka.producer()
    for minute in range(10):  # one payment a minute, 00:00 to 00:09, on both partitions
        account = f"acct-{minute % 3}"
        producer.produce(
            payments,
            key=account,
            value=str(10 + minute),
            partition=minute % 2,
            timestamp=ms(minute),
        )
    assert producer.flush(10) == 0
    producer.close()

    # The billing service consumed everything and committed.
    billing = kafka.consumer("billing")
    billing.subscribe([payments])
    seen = 0
    while seen < 10:
        msg = billing.poll(10)
        assert msg is not None and not msg.error(), msg and msg.error()
        seen += 1
    billing.commit(asynchronous=False)
    billing.close()

    # The operator rewinds the group to 00:05 (the group must be inactive).
    result = CliRunner().invoke(
        main,
        [
            "offsets", "reset", "--group", "billing", "--topic", payments,
            "--to-datetime", REPLAY_FROM, "--execute",
            "--bootstrap-server", kafka.bootstrap_servers,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    # The backfill: Spark reads from 00:05 on every partition.
    # A partition with nothing after 00:05 starts at its end ("latest") instead of
    # failing the query (Spark's default strategy, "error").
    since = {payments: {"0": ms(5), "1": ms(5)}}
    replay = read_kafka(
        spark,
        kafka,
        payments,
        startingOffsetsByTimestamp=since,
        startingOffsetsByTimestampStrategy="latest",
    )
    spark_rows = replay.selectExpr(
        "partition",
        "offset",
        "CAST(key AS STRING) AS account",
        "CAST(CAST(value AS STRING) AS INT) AS amount",
    ).collect()
    assert sorted(r.amount for r in spark_rows) == [15, 16, 17, 18, 19]
    totals = {
        r.account: r.total
        for r in replay.selectExpr(
            "CAST(key AS STRING) AS account", "CAST(CAST(value AS STRING) AS INT) AS v"
        )
        .groupBy("account")
        .agg({"v": "sum"})
        .withColumnRenamed("sum(v)", "total")
        .collect()
    }
    # 00:05 acct-2 15, 00:06 acct-0 16, 00:07 acct-1 17, 00:08 acct-2 18, 00:09 acct-0 19
    assert totals == {"acct-0": 16 + 19, "acct-1": 17, "acct-2": 15 + 18}

    # The rewound group re-reads exactly the records Spark read.
    billing = kafka.consumer("billing")
    billing.subscribe([payments])
    reread = []
    while len(reread) < len(spark_rows):
        msg = billing.poll(10)
        assert msg is not None and not msg.error(), msg and msg.error()
        reread.append((msg.partition(), msg.offset()))
    billing.close()
    assert sorted(reread) == sorted((r.partition, r.offset) for r in spark_rows)
