"""``offsets reset`` against the embedded broker: every spec, scope and mode,
clamping, time zones, refusal for active groups, and that bad input changes nothing."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Producer

from .conftest import BASE_TS, commit, committed, delete_records_before

NONE = -1001  # librdkafka's "no committed offset"


@pytest.fixture
def setup(broker, make_topic, group_name):
    """A 3-partition topic with 10 records each (timestamps BASE_TS + i s); the group
    has committed 5 on partitions 0 and 1 and nothing on 2; partition 1's log starts at 2."""
    topic = make_topic(partitions=3, per_partition=10)
    bs = broker.bootstrap_servers
    delete_records_before(bs, topic, 1, 2)
    commit(bs, group_name, {(topic, 0): 5, (topic, 1): 5})
    return topic, group_name


def reset(cli, group, *args):
    return cli("offsets", "reset", "--group", group, *args)


def offsets_of(broker, group, topic, partitions=3):
    return committed(broker.bootstrap_servers, group, topic, partitions)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (["--to-earliest"], {0: 0, 1: 2, 2: 0}),
        (["--to-latest"], {0: 10, 1: 10, 2: 10}),
        (["--to-current"], {0: 5, 1: 5, 2: 10}),  # no commit on 2: log end, as Kafka does
        (["--to-offset", "3"], {0: 3, 1: 3, 2: 3}),
        (["--to-datetime", "2023-11-14T22:13:27Z"], {0: 7, 1: 7, 2: 7}),
        (["--to-datetime", "2023-11-14T22:13:27"], {0: 7, 1: 7, 2: 7}),  # no zone: UTC
        (["--to-datetime", "2023-11-14T23:13:27.000+01:00"], {0: 7, 1: 7, 2: 7}),
        (["--to-datetime", "2023-11-14T17:13:26.500-0500"], {0: 7, 1: 7, 2: 7}),
        (["--to-datetime", "2100-01-01T00:00:00Z"], {0: 10, 1: 10, 2: 10}),  # none: log end
        (["--to-datetime", "2000-01-01T00:00:00Z"], {0: 0, 1: 2, 2: 0}),
    ],
)
def test_specs_execute(broker, cli, setup, spec, expected):
    topic, group = setup
    res = reset(cli, group, "--topic", topic, *spec, "--execute")
    assert res.exit_code == 0, res.stderr
    assert offsets_of(broker, group, topic) == expected
    for p, off in expected.items():
        assert f"{group}  {topic}  {p}          {off}" in res.stdout


def test_to_offset_is_clamped_with_warnings(broker, cli, setup):
    topic, group = setup
    res = reset(cli, group, "--topic", topic, "--to-offset", "1", "--execute")
    assert res.exit_code == 0
    assert offsets_of(broker, group, topic) == {0: 1, 1: 2, 2: 1}
    assert res.stderr == (f"WARN: New offset (1) is lower than earliest offset for topic "
                          f"partition {topic}-1. Value will be set to 2\n")
    res = reset(cli, group, "--topic", topic, "--to-offset", "50", "--execute")
    assert offsets_of(broker, group, topic) == {0: 10, 1: 10, 2: 10}
    assert res.stderr.count("is higher than latest offset") == 3


def test_shift_by_both_ways_with_clamping(broker, cli, setup):
    topic, group = setup
    assert reset(cli, group, "--topic", f"{topic}:0,1", "--shift-by", "-4",
                 "--execute").exit_code == 0
    assert offsets_of(broker, group, topic) == {0: 1, 1: 2, 2: NONE}
    assert reset(cli, group, "--topic", f"{topic}:0,1", "--shift-by", "+3",
                 "--execute").exit_code == 0
    assert offsets_of(broker, group, topic) == {0: 4, 1: 5, 2: NONE}
    assert reset(cli, group, "--topic", f"{topic}:0", "--shift-by", "100",
                 "--execute").exit_code == 0
    assert offsets_of(broker, group, topic) == {0: 10, 1: 5, 2: NONE}


def test_shift_by_without_committed_offset_changes_nothing(broker, cli, setup):
    topic, group = setup
    res = reset(cli, group, "--topic", topic, "--shift-by", "1", "--execute")
    assert res.exit_code == 1
    assert res.stderr == (f"Error: cannot shift offset for partition {topic}-2 since there "
                          "is no current committed offset\n")
    assert offsets_of(broker, group, topic) == {0: 5, 1: 5, 2: NONE}


def test_by_duration_counts_back_from_now(broker, make_topic, cli, group_name):
    now = int(time.time() * 1000)
    hour = 3_600_000
    # Records stamped 4h, 3h, 2h and 1h ago, then now.
    topic = make_topic(partitions=1, per_partition=5,
                       timestamps=lambda p, i: now - (4 - i) * hour)
    res = reset(cli, group_name, "--topic", topic, "--by-duration", "PT2H30M", "--execute")
    assert res.exit_code == 0, res.stderr
    assert offsets_of(broker, group_name, topic, 1) == {0: 2}
    reset(cli, group_name, "--topic", topic, "--by-duration", "P1D", "--execute")
    assert offsets_of(broker, group_name, topic, 1) == {0: 0}
    reset(cli, group_name, "--topic", topic, "--by-duration", "PT0.5S", "--execute")
    assert offsets_of(broker, group_name, topic, 1) in ({0: 4}, {0: 5})


def test_scopes_partitions_several_topics_and_all_topics(broker, make_topic, cli, setup):
    topic, group = setup
    other = make_topic(partitions=2, per_partition=4)
    untouched = make_topic(partitions=1, per_partition=4)
    commit(broker.bootstrap_servers, group, {(other, 1): 1})

    assert reset(cli, group, "--topic", f"{topic}:2", "--topic", f"{other}:0",
                 "--to-offset", "2", "--execute").exit_code == 0
    assert offsets_of(broker, group, topic) == {0: 5, 1: 5, 2: 2}
    assert offsets_of(broker, group, other, 2) == {0: 2, 1: 1}

    # --all-topics: every partition with a committed offset, and nothing else.
    res = reset(cli, group, "--all-topics", "--to-latest", "--execute")
    assert res.exit_code == 0
    assert offsets_of(broker, group, topic) == {0: 10, 1: 10, 2: 10}
    assert offsets_of(broker, group, other, 2) == {0: 4, 1: 4}
    assert offsets_of(broker, group, untouched, 1) == {0: NONE}


def test_dry_run_and_default_mode_change_nothing(broker, cli, setup):
    topic, group = setup
    res = reset(cli, group, "--topic", topic, "--to-earliest", "--dry-run")
    assert res.exit_code == 0 and res.stderr == ""
    assert res.stdout.splitlines()[0].split() == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
    res = reset(cli, group, "--topic", topic, "--to-earliest")
    assert res.exit_code == 0
    assert "No action will be performed as the --execute option is missing" in res.stderr
    assert offsets_of(broker, group, topic) == {0: 5, 1: 5, 2: NONE}


def test_export_then_from_file_round_trips(broker, cli, setup, tmp_path):
    topic, group = setup
    res = reset(cli, group, "--topic", topic, "--to-datetime", "2023-11-14T22:13:23Z", "--export")
    assert res.exit_code == 0
    assert res.stdout == f"{topic},0,3\n{topic},1,3\n{topic},2,3\n"
    assert offsets_of(broker, group, topic) == {0: 5, 1: 5, 2: NONE}  # export alone: dry run
    path = tmp_path / "plan.csv"
    path.write_text(res.stdout)
    again = reset(cli, group, "--from-file", str(path), "--export")
    assert again.stdout == res.stdout
    assert reset(cli, group, "--from-file", str(path), "--execute").exit_code == 0
    assert offsets_of(broker, group, topic) == {0: 3, 1: 3, 2: 3}
    # --export --execute commits and prints the CSV; a scope narrows the file.
    path.write_text(f"{topic},0,9\n{topic},1,8\n")
    res = reset(cli, group, "--from-file", str(path), "--topic", f"{topic}:1", "--export",
                "--execute")
    assert res.stdout == f"{topic},1,8\n"
    assert offsets_of(broker, group, topic) == {0: 3, 1: 8, 2: 3}


def test_from_file_with_group_column_and_clamping(broker, cli, setup, tmp_path):
    topic, group = setup
    path = tmp_path / "plan.csv"
    path.write_text(f"{group},{topic},0,0\nsomeone-else,{topic},0,9\n{group},{topic},1,0\n")
    res = reset(cli, group, "--from-file", str(path), "--execute")
    assert res.exit_code == 0, res.stderr
    assert "Value will be set to 2" in res.stderr
    assert offsets_of(broker, group, topic) == {0: 0, 1: 2, 2: NONE}


def test_refused_for_an_active_group_in_every_mode(broker, cli, setup, active_member):
    topic, group = setup
    active_member(group, topic)
    for mode in ("--execute", "--dry-run", "--export"):
        res = reset(cli, group, "--topic", topic, "--to-earliest", mode)
        assert res.exit_code == 1
        assert res.stderr == (f"Error: Assignments can only be reset if the group '{group}' "
                              "is inactive, but the current state is Stable.\n")
        assert res.stdout == ""
    assert offsets_of(broker, group, topic) == {0: 5, 1: 5, 2: NONE}


def test_a_group_that_does_not_exist_yet_can_be_given_offsets(broker, cli, make_topic,
                                                              group_name):
    topic = make_topic(partitions=2, per_partition=3)
    res = reset(cli, group_name, "--topic", topic, "--to-offset", "2", "--execute")
    assert res.exit_code == 0, res.stderr
    assert offsets_of(broker, group_name, topic, 2) == {0: 2, 1: 2}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--topic", "{topic}", "--to-datetime", "2026-01-01"], "Error: invalid datetime"),
        (["--topic", "{topic}", "--to-datetime", "2026-01-01T00:00:00+25:00"],
         "Error: invalid datetime '2026-01-01T00:00:00+25:00': invalid zone offset"),
        (["--topic", "{topic}", "--by-duration", "1 hour"], "Error: invalid duration"),
        (["--topic", "{topic}:7", "--to-earliest"], "Error: topic '{topic}' has no partition 7"),
        (["--topic", "{topic}", "--topic", "{topic}-nope", "--to-earliest"],
         "Error: topic '{topic}-nope' does not exist"),
        (["--topic", "{topic}:x", "--to-earliest"], "Error: invalid partition 'x'"),
        (["--from-file", "{bad_csv}"], "Error: line 2: expected topic,partition,offset"),
        (["--from-file", "{unknown_csv}"], "Error: topic '{topic}' has no partition 9"),
        (["--from-file", "{tmp}/missing.csv"], "Error: cannot read"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(broker, cli, setup, tmp_path, args, message):
    topic, group = setup
    (tmp_path / "bad.csv").write_text(f"{topic},0,0\n{topic},zero,1\n")
    (tmp_path / "unknown.csv").write_text(f"{topic},0,0\n{topic},9,1\n")
    names = {"topic": topic, "tmp": str(tmp_path), "bad_csv": str(tmp_path / "bad.csv"),
             "unknown_csv": str(tmp_path / "unknown.csv")}
    res = reset(cli, group, *[a.format(**names) for a in args], "--execute")
    assert res.exit_code == 1
    assert res.stderr.startswith(message.format(**names))
    assert res.stderr.count("\n") == 1
    assert offsets_of(broker, group, topic) == {0: 5, 1: 5, 2: NONE}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--topic", "t"], "give exactly one of --to-earliest"),
        (["--topic", "t", "--to-earliest", "--to-latest"], "(got --to-earliest, --to-latest)"),
        (["--to-earliest"], "one of --topic or --all-topics is required"),
        (["--topic", "t", "--all-topics", "--to-earliest"], "mutually exclusive"),
        (["--topic", "t", "--to-earliest", "--dry-run", "--execute"], "mutually exclusive"),
        (["--topic", "t", "--to-offset", "-1"], "must not be negative"),
    ],
)
def test_usage_errors(cli, group_name, args, message):
    res = reset(cli, group_name, *args)
    assert res.exit_code == 2
    assert message in res.stderr


def test_all_topics_for_a_group_without_offsets_is_an_error(cli, group_name):
    res = reset(cli, group_name, "--all-topics", "--to-earliest")
    assert res.exit_code == 1
    assert res.stderr == (
        f"Error: nothing to reset: group '{group_name}' has no committed offsets\n")


def test_produce_after_reset_is_seen_by_to_latest(broker, cli, setup):
    """--to-latest means the log end at planning time, not a sentinel."""
    topic, group = setup
    p = Producer({"bootstrap.servers": broker.bootstrap_servers})
    p.produce(topic, value=b"late", partition=0, timestamp=BASE_TS)
    p.flush(10)
    reset(cli, group, "--topic", f"{topic}:0", "--to-latest", "--execute")
    assert offsets_of(broker, group, topic)[0] == 11
