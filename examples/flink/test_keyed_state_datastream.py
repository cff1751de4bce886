"""A PyFlink DataStream job with keyed state, tested end to end against Kafka.

The job reads page views from Kafka, keys them by user, and keeps each user's view
count in Flink keyed state (a ``ValueState``); for every view it emits
``user:count`` to an output topic. Flink partitions state by key, so each user's
counter is independent of the others, however the input topic's partitions mix
them.

The source is bounded (``set_bounded(latest)``), so the job ends once it has
read what was in the topic when it started; ``execute`` waits for that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from streamtest.kit.flink import execute

if TYPE_CHECKING:
    from pyflink.datastream import StreamExecutionEnvironment

pytestmark = pytest.mark.slow


def build_view_counter(
    env: StreamExecutionEnvironment, bootstrap: str, views: str, counts: str
) -> None:
    """The job under test, defined on ``env``."""
    from pyflink.common import Types, WatermarkStrategy
    from pyflink.common.serialization import SimpleStringSchema
    from pyflink.datastream.connectors.kafka import (
        DeliveryGuarantee,
        KafkaOffsetsInitializer,
        KafkaRecordSerializationSchema,
        KafkaSink,
        KafkaSource,
    )
    from pyflink.datastream.functions import KeyedProcessFunction, RuntimeContext
    from pyflink.datastream.state import ValueStateDescriptor

    class CountViews(KeyedProcessFunction):
        def open(self, runtime_context: RuntimeContext) -> None:
            self.count = runtime_context.get_state(ValueStateDescriptor("views", Types.LONG()))

        def process_element(self, value, ctx):
            count = (self.count.value() or 0) + 1
            self.count.update(count)
            yield f"{ctx.get_current_key()}:{count}"

    source = (
        KafkaSource.builder()
        .set_bootstrap_servers(bootstrap)
        .set_topics(views)
        .set_group_id("view-counter")
        .set_starting_offsets(KafkaOffsetsInitializer.earliest())
        .set_bounded(KafkaOffsetsInitializer.latest())
        .set_value_only_deserializer(SimpleStringSchema())
        .build()
    )
    sink = (
        KafkaSink.builder()
        .set_bootstrap_servers(bootstrap)
        .set_record_serializer(
            KafkaRecordSerializationSchema.builder()
            .set_topic(counts)
            .set_value_serialization_schema(SimpleStringSchema())
            .build()
        )
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build()
    )
    (
        env.from_source(source, WatermarkStrategy.no_watermarks(), "views")
        .key_by(lambda user: user, key_type=Types.STRING())
        .process(CountViews(), output_type=Types.STRING())
        .sink_to(sink)
    )


def test_each_user_has_its_own_counter(flink_stream_env, kafka, kafka_topic_factory):
    views, counts = kafka_topic_factory(partitions=3), kafka_topic_factory()
    users = ["ann", "bob", "ann", "cid", "ann", "bob"]
    kafka.send(views, [(user, user) for user in users])

    build_view_counter(flink_stream_env, kafka.bootstrap_servers, views, counts)
    execute(flink_stream_env, "view-counter", timeout=300)

    emitted = [r.value.decode() for r in kafka.records(counts)]
    assert sorted(emitted) == ["ann:1", "ann:2", "ann:3", "bob:1", "bob:2", "cid:1"]
    # Per user, the counts were emitted in order (one key is one Kafka partition,
    # read in order, and one keyed state).
    for user in ("ann", "bob"):
        mine = [e for e in emitted if e.startswith(user + ":")]
        assert mine == sorted(mine)
