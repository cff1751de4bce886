"""A session that uses every fixture leaves no thread, socket or process behind.

The inner session runs in this process (``runpytest_inprocess``), so its broker
thread, librdkafka threads and sockets would all show up here if they leaked.
Linux-only: it counts through /proc, which sees native (librdkafka) threads that
``threading.enumerate()`` cannot.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import pytest

from streamtest import eventually

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

EVERY_FIXTURE = """
import pytest
from streamtest import KafkaUtils, eventually

@pytest.mark.kafka_topic(partitions=2)
def test_everything(kafka, kafka_topic, kafka_topic_factory, kafka_producer, kafka_consumer,
                    kafka_admin):
    other = kafka_topic_factory()
    kafka.send(kafka_topic, [("k", "v")])
    kafka_producer.produce(other, b"x")
    kafka_producer.flush(10)
    assert eventually(lambda: kafka.records(other))
    assert kafka.records(kafka_topic, isolation_level="read_committed")
    assert kafka_topic in kafka_admin.list_topics(timeout=10).topics
    kafka_consumer.subscribe([kafka_topic])
    msg = kafka_consumer.poll(15)
    assert msg is not None and msg.error() is None

def test_kafka_utils_too():
    utils = KafkaUtils()
    utils.setup()
    utils.create_topics(["u"])
    utils.send_messages("u", [("a", "1")])
    assert utils.get_all_records(None, "u") == {"a": "1"}
    utils.teardown()
    utils.teardown()
"""


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass  # closed while we looked
    return count


def children() -> int:
    me = str(os.getpid())
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Field 4 is the parent pid; the command (field 2) may contain spaces.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        count += fields[1] == me
    return count


def snapshot() -> tuple[int, int, int]:
    gc.collect()  # client objects dropped by fixtures are destroyed on collection
    return threads(), sockets(), children()


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_session_using_every_fixture_leaks_nothing(pytester: pytest.Pytester, mode):
    pytester.makeconftest(
        f"from streamtest import factories\nkafka = factories.kafka_cluster(mode={mode!r})\n"
    )
    pytester.makepyfile(EVERY_FIXTURE)
    before = snapshot()
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=2)

    # No count is above where it was (destroying clients is synchronous, but give the
    # kernel's bookkeeping of exiting threads a moment). Below is fine: a client of
    # this outer session may drop a connection meanwhile; that is not our leak.
    def settled() -> bool:
        now = snapshot()
        assert all(n <= b for n, b in zip(now, before, strict=True)), (
            f"(threads, sockets, children): before {before}, after {now}"
        )
        return True

    eventually(settled, timeout=10)
