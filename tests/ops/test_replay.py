"""Replay against the embedded broker: exact ranges, all partitions, every sink."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime

import pytest

from streamtest import KafkaRecord
from streamtest.ops.errors import InvalidInputError, UnknownPartitionError, UnknownTopicError
from streamtest.replay import replay_range, time_travel_replay

from .conftest import BASE_TS


def essence(r: KafkaRecord) -> tuple:
    """What must survive a replay: everything but topic and offset."""
    return (r.partition, r.key, r.value, r.headers, r.timestamp)


def test_replay_range_hands_over_exactly_the_range_on_every_partition(broker, make_topic):
    topic = make_topic(partitions=3, per_partition=10)
    seen: list[KafkaRecord] = []
    result = replay_range(topic, 2, 7, seen.append, bootstrap_servers=broker.bootstrap_servers)
    stored = [r for r in broker.records(topic) if 2 <= r.offset < 7]
    assert sorted(seen, key=lambda r: (r.partition, r.offset)) == stored
    assert result.count == 15
    assert {tp.partition: n for tp, n in result.counts.items()} == {0: 5, 1: 5, 2: 5}


def test_replay_preserves_keys_headers_with_repeats_and_nulls_and_timestamps(broker, make_topic):
    topic = make_topic(partitions=1, per_partition=3)
    seen: list[KafkaRecord] = []
    replay_range(topic, 0, 3, seen.append, bootstrap_servers=broker.bootstrap_servers)
    assert seen[1].key == b"k0-1"
    assert seen[1].headers == [("h", b"0:1"), ("h", b"again"), ("null", None)]
    assert seen[1].timestamp == BASE_TS + 1000


def test_replay_range_is_clamped_to_the_log_and_finishes(broker, make_topic):
    topic = make_topic(partitions=2, per_partition=4)
    seen: list[KafkaRecord] = []
    result = replay_range(topic, 3, 1_000_000, seen.append, config=broker.bootstrap_servers)
    assert [(r.partition, r.offset) for r in seen] in ([(0, 3), (1, 3)], [(1, 3), (0, 3)])
    assert [(r.start, r.end) for r in result.ranges] == [(3, 4), (3, 4)]


def test_empty_ranges_return_at_once(broker, make_topic):
    topic = make_topic(partitions=2, per_partition=4)
    result = replay_range(topic, 4, 4, pytest.fail, bootstrap_servers=broker.bootstrap_servers)
    assert result.count == 0
    empty = make_topic(partitions=1, per_partition=0)
    assert replay_range(empty, 0, 10, pytest.fail, config=broker.bootstrap_servers).count == 0


def test_per_partition_ranges_and_partition_selection(broker, make_topic):
    topic = make_topic(partitions=3, per_partition=5)
    seen: list[KafkaRecord] = []
    replay_range(topic, {0: 1, 2: 3}, {0: 2, 2: 5}, seen.append,
                 bootstrap_servers=broker.bootstrap_servers)
    assert sorted((r.partition, r.offset) for r in seen) == [(0, 1), (2, 3), (2, 4)]
    seen.clear()
    replay_range(topic, 0, 2, seen.append, partitions=[1], config=broker.bootstrap_servers)
    assert sorted((r.partition, r.offset) for r in seen) == [(1, 0), (1, 1)]


def test_time_travel_replay_is_start_inclusive_end_exclusive(broker, make_topic):
    topic = make_topic(partitions=2, per_partition=10)
    start = datetime.fromtimestamp((BASE_TS + 3000) / 1000, UTC)
    end = datetime.fromtimestamp((BASE_TS + 6000) / 1000, UTC)
    seen: list[KafkaRecord] = []
    time_travel_replay(topic, start, end, seen.append, bootstrap_servers=broker.bootstrap_servers)
    assert sorted((r.partition, r.offset) for r in seen) == [
        (p, o) for p in (0, 1) for o in (3, 4, 5)
    ]
    assert all(BASE_TS + 3000 <= r.timestamp < BASE_TS + 6000 for r in seen)


def test_time_travel_naive_datetimes_are_utc_and_past_the_end_is_empty(broker, make_topic):
    topic = make_topic(partitions=1, per_partition=5)
    naive = datetime.fromtimestamp((BASE_TS + 4000) / 1000, UTC).replace(tzinfo=None)
    seen: list[KafkaRecord] = []
    time_travel_replay(topic, naive, datetime(2100, 1, 1), seen.append,
                       config={"bootstrap.servers": broker.bootstrap_servers})
    assert [r.offset for r in seen] == [4]
    later: list[KafkaRecord] = []
    time_travel_replay(topic, datetime(2100, 1, 1), datetime(2101, 1, 1), later.append,
                       bootstrap_servers=broker.bootstrap_servers)
    assert later == []


def test_replay_input_errors(broker, make_topic, topic_name):
    bs = broker.bootstrap_servers
    topic = make_topic(partitions=1, per_partition=1)
    with pytest.raises(UnknownTopicError, match="does not exist"):
        replay_range(topic_name + "-missing", 0, 1, print, bootstrap_servers=bs)
    with pytest.raises(UnknownPartitionError, match="no partition 5"):
        replay_range(topic, 0, 1, print, partitions=[5], bootstrap_servers=bs)
    with pytest.raises(InvalidInputError, match="before"):
        replay_range(topic, 5, 1, print, bootstrap_servers=bs)
    with pytest.raises(InvalidInputError):
        time_travel_replay(topic, datetime(2026, 2, 1), datetime(2026, 1, 1), print,
                           bootstrap_servers=bs)


def test_handler_errors_propagate_and_stop_the_replay(broker, make_topic):
    topic = make_topic(partitions=1, per_partition=5)
    calls = []

    def handler(r: KafkaRecord) -> None:
        calls.append(r.offset)
        if r.offset == 1:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        replay_range(topic, 0, 5, handler, bootstrap_servers=broker.bootstrap_servers)
    assert calls == [0, 1]


# -- CLI --------------------------------------------------------------------------------


def test_cli_replay_to_topic_copies_records_exactly(broker, make_topic, cli):
    src = make_topic(partitions=3, per_partition=6)
    dst = make_topic(partitions=3, per_partition=0)
    res = cli.ok("replay", "--topic", src, "--from-offset", "1", "--to-offset", "5",
                 "--to-topic", dst)
    assert f"Replayed 12 records of {src}" in res.stderr
    want = [essence(r) for r in broker.records(src) if 1 <= r.offset < 5]
    assert [essence(r) for r in broker.records(dst)] == want


def test_cli_replay_repartition_needs_no_matching_partition_count(broker, make_topic, cli):
    src = make_topic(partitions=3, per_partition=2)
    dst = make_topic(partitions=1, per_partition=0)
    res = cli("replay", "--topic", src, "--from-offset", "0", "--to-topic", dst)
    assert res.exit_code == 1
    assert "has 1 partitions but the replay needs 3" in res.stderr
    assert f"streamtest topics alter --topic {dst} --partitions 3" in res.stderr
    assert broker.records(dst) == []
    cli.ok("replay", "--topic", src, "--from-offset", "0", "--to-topic", dst, "--repartition")
    got = sorted((r.key, r.value, r.headers, r.timestamp) for r in broker.records(dst))
    assert got == sorted((r.key, r.value, r.headers, r.timestamp) for r in broker.records(src))


def test_readme_replay_example_creates_the_target_like_the_source(broker, make_topic, cli):
    # The README's example: minutes without seconds, and a target that does not exist.
    six_hours = 6 * 3_600_000
    start = 1_795_132_800_000  # 2026-11-20T00:00:00Z
    src = make_topic(partitions=2, per_partition=4,
                     timestamps=lambda p, i: start - 1000 + i * (six_hours // 2))
    cli.ok("topics", "configs", "--topic", src, "--alter", "--add-config", "retention.ms=-1")
    dst = src + ".replay"
    args = ["replay", "--topic", src, "--from-datetime", "2026-11-20T00:00Z",
            "--to-datetime", "2026-11-20T06:00Z", "--to-topic", dst]
    missing = cli(*args)
    assert missing.exit_code == 1
    assert f"topic '{dst}' does not exist: create it with --create-topic" in missing.stderr
    res = cli.ok(*args, "--create-topic")
    assert f"Created topic {dst} like {src}." in res.stderr
    # Records 1 and 2 of each partition (start + 3h - 1s, start + 6h - 1s) are inside.
    want = [essence(r) for r in broker.records(src) if r.offset in (1, 2)]
    assert [essence(r) for r in broker.records(dst)] == want
    (doc,) = json.loads(cli.ok("topics", "describe", "--topic", re.escape(dst), "--format",
                               "json").stdout)
    # min.insync.replicas is the cluster-level dynamic default (KIP-966), not copied.
    assert doc["partition_count"] == 2
    assert doc["configs"] == {"min.insync.replicas": "1", "retention.ms": "-1"}
    # Again with --create-topic: the topic exists now, so it is used as it is.
    again = cli.ok(*args, "--create-topic")
    assert "Created topic" not in again.stderr


def test_cli_replay_into_the_source_topic_warns(broker, make_topic, cli):
    topic = make_topic(partitions=1, per_partition=2)
    res = cli.ok("replay", "--topic", topic, "--from-offset", "0", "--to-topic", topic)
    assert f"WARN: replaying {topic} into itself" in res.stderr
    assert len(broker.records(topic)) == 4


def test_cli_replay_by_datetime_with_zones(broker, make_topic, cli, tmp_path):
    topic = make_topic(partitions=2, per_partition=10)
    out = tmp_path / "r.jsonl"
    # BASE_TS + 2s is 22:13:22Z, written here as 23:13:22+01:00; end is BASE_TS + 4s.
    cli.ok("replay", "--topic", topic, "--from-datetime", "2023-11-14T23:13:22+01:00",
           "--to-datetime", "2023-11-14T22:13:24.000", "--output", str(out))
    records = [KafkaRecord.from_json(json.loads(line)) for line in out.read_text().splitlines()]
    assert sorted((r.partition, r.offset) for r in records) == [(0, 2), (0, 3), (1, 2), (1, 3)]


def test_cli_replay_output_file_round_trips_through_produce(broker, make_topic, cli, tmp_path):
    src = make_topic(partitions=1, per_partition=5)
    dst = make_topic(partitions=1, per_partition=0)
    out = tmp_path / "replay.jsonl"
    cli.ok("replay", "--topic", src, "--from-offset", "0", "--output", str(out))
    first = out.read_text()
    cli.ok("replay", "--topic", src, "--from-offset", "0", "--output", str(out))
    assert out.read_text() == first  # re-running rewrites the same file
    lines = first.splitlines()
    assert [KafkaRecord.from_json(json.loads(x)) for x in lines] == broker.records(src)
    cli.ok("produce", "--topic", dst, "--json", "--base64", input=first)
    assert [essence(r) for r in broker.records(dst)] == [essence(r) for r in broker.records(src)]


def test_cli_replay_exec_pipes_json_lines(broker, make_topic, cli, tmp_path):
    topic = make_topic(partitions=2, per_partition=3)
    out = tmp_path / "piped.txt"
    cmd = f"{sys.executable} -c \"import sys; open(r'{out}', 'w').write(sys.stdin.read())\""
    cli.ok("replay", "--topic", topic, "--from-offset", "1", "--exec", cmd)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["partition"], r["offset"]) for r in rows) == [(0, 1), (0, 2), (1, 1), (1, 2)]


def test_cli_replay_failing_exec_is_an_error(make_topic, cli):
    topic = make_topic(partitions=1, per_partition=2)
    res = cli("replay", "--topic", topic, "--from-offset", "0", "--exec", "exit 3")
    assert res.exit_code == 1
    assert "exited with status 3" in res.stderr or "stopped reading" in res.stderr


def test_cli_replay_progress_bar_renders(make_topic, cli, tmp_path):
    topic = make_topic(partitions=1, per_partition=4)
    res = cli.ok("replay", "--topic", topic, "--from-offset", "0", "--output",
                 str(tmp_path / "x.jsonl"), "--progress")
    assert "4/4" in res.stderr


def test_cli_replay_help_states_rerun_safety(cli):
    res = cli.ok("replay", "--help")
    assert "Re-running is safe" in res.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-offset", "0"], "give exactly one of --to-topic, --output, --exec"),
        (["--output", "x"], "give a range"),
        (["--from-offset", "0", "--from-datetime", "2026-01-01T00:00:00", "--output", "x"],
         "give a range"),
        (["--from-datetime", "2026-01-01", "--output", "x"], "invalid datetime"),
        (["--from-offset", "0", "--partitions", "9", "--output", "x"], "no partition 9"),
    ],
)
def test_cli_replay_usage_errors(make_topic, cli, tmp_path, args, message):
    topic = make_topic(partitions=1, per_partition=1)
    args = [str(tmp_path / "x") if a == "x" else a for a in args]
    res = cli("replay", "--topic", topic, *args)
    assert res.exit_code != 0
    assert message in res.stderr
    assert not (tmp_path / "x").exists()


def _txn_producer(bootstrap: str, topic: str):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"tx-{topic}"})
    p.init_transactions(10)
    return p


def test_replay_finishes_when_the_range_ends_on_transaction_markers(broker, make_topic):
    """Offsets 0-2 committed data, 3 a commit marker, 4-5 aborted data, 6 an abort
    marker: the replay sees 0-2 only and ends although offsets 3-6 never arrive."""
    topic = make_topic(partitions=1, per_partition=0)
    p = _txn_producer(broker.bootstrap_servers, topic)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, value=b"ok%d" % i, partition=0)
    p.commit_transaction(10)
    p.begin_transaction()
    for i in range(2):
        p.produce(topic, value=b"no%d" % i, partition=0)
    p.flush(10)
    p.abort_transaction(10)
    bs = broker.bootstrap_servers
    seen: list[KafkaRecord] = []
    result = replay_range(topic, 0, 100, seen.append, bootstrap_servers=bs, idle_timeout=10)
    assert [r.value for r in seen] == [b"ok0", b"ok1", b"ok2"]
    assert [(r.start, r.end) for r in result.ranges] == [(0, 7)]
    assert replay_range(topic, 3, 7, pytest.fail, bootstrap_servers=bs, idle_timeout=10).count == 0


def test_replay_stops_at_the_last_stable_offset_of_an_open_transaction(broker, make_topic):
    topic = make_topic(partitions=1, per_partition=2)
    p = _txn_producer(broker.bootstrap_servers, topic)
    p.begin_transaction()
    p.produce(topic, value=b"pending", partition=0)
    p.flush(10)
    try:
        seen: list[KafkaRecord] = []
        result = replay_range(topic, 0, 100, seen.append,
                              bootstrap_servers=broker.bootstrap_servers, idle_timeout=10)
        assert [r.offset for r in seen] == [0, 1]
        assert [(r.start, r.end) for r in result.ranges] == [(0, 2)]
    finally:
        p.abort_transaction(10)
