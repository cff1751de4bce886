"""The share-group fixtures (KIP-932) of the plugin, run through pytester."""

from __future__ import annotations

import confluent_kafka
import pytest

from streamtest.kit.compat import ShareConsumerUnavailable, share_consumer_class

# The client floor (make test-floor: confluent-kafka 2.12) predates ShareConsumer.
needs_share_consumer = pytest.mark.skipif(
    not hasattr(confluent_kafka, "ShareConsumer"),
    reason=f"confluent-kafka {confluent_kafka.__version__} has no ShareConsumer (KIP-932)",
)


@pytest.mark.skipif(
    hasattr(confluent_kafka, "ShareConsumer"), reason="this confluent-kafka has ShareConsumer"
)
def test_an_old_client_gets_one_line_naming_its_version():
    with pytest.raises(ShareConsumerUnavailable) as exc:
        share_consumer_class()
    assert str(exc.value) == (
        f"confluent-kafka {confluent_kafka.__version__} has no ShareConsumer (KIP-932 "
        "share groups); install a newer confluent-kafka (2.16 has it)"
    )


@needs_share_consumer
def test_kafka_share_consumer_reads_what_was_produced_before_it_joined(
    pytester: pytest.Pytester,
):
    pytester.makepyfile(
        """
        import time

        groups = []

        def read(consumer, n):
            got, deadline = [], time.monotonic() + 20
            while len(got) < n:
                assert time.monotonic() < deadline
                got += [m for m in consumer.poll(0.2) if m.error() is None]
            return got

        def test_implicit(kafka, kafka_topic, kafka_share_consumer):
            kafka.send(kafka_topic, ["a", "b", "c"])  # before the consumer joins
            kafka_share_consumer.subscribe([kafka_topic])
            assert [m.value() for m in read(kafka_share_consumer, 3)] == [b"a", b"b", b"c"]
            kafka_share_consumer.commit_sync()
            groups.append(kafka_share_consumer)

        def test_each_test_gets_its_own_consumer(kafka, kafka_topic, kafka_share_consumer):
            assert kafka_share_consumer is not groups[0]
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=2)


@needs_share_consumer
def test_the_marker_chooses_explicit_acknowledgement(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import time
        import pytest
        from confluent_kafka import AcknowledgeType

        @pytest.mark.kafka_share_consumer(mode="explicit")
        def test_explicit(kafka, kafka_topic, kafka_share_consumer):
            kafka.send(kafka_topic, ["poison", "ok"])
            kafka_share_consumer.subscribe([kafka_topic])
            got, deadline = [], time.monotonic() + 20
            while len(got) < 2:
                assert time.monotonic() < deadline
                for m in kafka_share_consumer.poll(0.2):
                    if m.error() is None:
                        got.append(m)
                        kafka_share_consumer.acknowledge(
                            m, AcknowledgeType.REJECT if m.value() == b"poison"
                            else AcknowledgeType.ACCEPT)
            kafka_share_consumer.commit_sync()

        @pytest.mark.kafka_share_consumer(mode="sometimes")
        def test_bad_mode(kafka_share_consumer):
            pass
        """
    )
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*kafka_share_consumer mode must be one of implicit, explicit*"])


@needs_share_consumer
def test_share_group_state_shows_in_flight_records_on_the_embedded_broker(
    pytester: pytest.Pytester,
):
    pytester.makepyfile(
        """
        import time
        import pytest
        from streamtest.kit.share import RecordStatesUnavailable

        def test_state(kafka, kafka_topic, kafka_share_consumer_factory):
            worker = kafka_share_consumer_factory(acknowledgement_mode="explicit")
            other = kafka_share_consumer_factory()
            kafka.send(kafka_topic, ["a", "b"])
            worker.subscribe([kafka_topic])
            got, deadline = [], time.monotonic() + 20
            while len(got) < 2:
                assert time.monotonic() < deadline
                got += [m for m in worker.poll(0.2) if m.error() is None]
            state = kafka.share_group_state(kafka_share_consumer_factory.group_id)
            assert state.state == "Stable" and len(state.members) == 1
            part = state.partition(kafka_topic)
            assert (part.start_offset, part.lag) == (0, 2)
            assert part.acquired == [0, 1] and part.archived == []
            assert part.delivery_count(1) == 1
            assert state.partition("no-such-topic").start_offset is None

        def test_other_backends_say_what_they_cannot_show():
            from streamtest.kit.share import SharePartitionState
            part = SharePartitionState("t", 0, 5, 0)
            with pytest.raises(RecordStatesUnavailable, match="only visible on the embedded"):
                part.acquired
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=2)
