"""kafka-consumer-groups.sh parity (several --group, --all-groups, exclusive views,
--type) and the machine-readable --format json/csv of groups, lag, offsets query."""

from __future__ import annotations

import csv
import io
import json

import pytest

from .conftest import commit


@pytest.fixture
def two_groups(broker, make_topic, group_name):
    topic = make_topic(partitions=2, per_partition=5)
    a, b = group_name + "-a", group_name + "-b"
    commit(broker.bootstrap_servers, a, {(topic, 0): 1, (topic, 1): 5})
    commit(broker.bootstrap_servers, b, {(topic, 0): 4})
    return topic, a, b


def test_describe_several_groups_describes_each(cli, two_groups):
    topic, a, b = two_groups
    res = cli.ok("groups", "describe", "--group", a, "--group", b)
    rows = [line.split() for line in res.stdout.splitlines()[1:]]
    assert [(r[0], r[2], r[3]) for r in rows] == [(a, "0", "1"), (a, "1", "5"), (b, "0", "4")]
    assert res.stderr.count("has no active members") == 2


def test_all_groups(cli, two_groups):
    _, a, b = two_groups
    doc = json.loads(cli.ok("groups", "describe", "--all-groups", "--format", "json").stdout)
    assert {a, b} <= {row["group"] for row in doc}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--offsets", "--members"], "--offsets and --members are mutually exclusive"),
        (["--members", "--state"], "--members and --state are mutually exclusive"),
        (["--state", "--verbose"], "--verbose only applies to --members"),
        (["--verbose"], "--verbose only applies to --members"),
        (["--all-groups"], "--group and --all-groups are mutually exclusive"),
    ],
)
def test_conflicting_flags_are_usage_errors(cli, two_groups, args, message):
    _, a, _ = two_groups
    res = cli("groups", "describe", "--group", a, *args)
    assert res.exit_code == 2 and message in res.stderr


def test_describe_needs_a_group(cli):
    res = cli("groups", "describe")
    assert res.exit_code == 2 and "give --group GROUP (repeatable) or --all-groups" in res.stderr


def test_describe_formats_have_the_documented_keys(cli, two_groups):
    topic, a, b = two_groups
    doc = json.loads(cli.ok("groups", "describe", "--group", a, "--format", "json").stdout)
    assert doc[0] == {
        "group": a,
        "topic": topic,
        "partition": 0,
        "current_offset": 1,
        "log_end_offset": 5,
        "lag": 4,
        "consumer_id": None,
        "host": None,
        "client_id": None,
    }
    state = json.loads(
        cli.ok("groups", "describe", "--group", a, "--state", "--format", "json").stdout
    )
    assert set(state[0]) == {"group", "coordinator", "assignment_strategy", "state", "members"}
    assert state[0]["state"] == "Empty" and state[0]["members"] == 0
    rows = list(
        csv.DictReader(
            io.StringIO(cli.ok("groups", "describe", "--group", b, "--format", "csv").stdout)
        )
    )
    assert rows == [
        {
            "group": b,
            "topic": topic,
            "partition": "0",
            "current_offset": "4",
            "log_end_offset": "5",
            "lag": "1",
            "consumer_id": "",
            "host": "",
            "client_id": "",
        }
    ]
    help_text = cli.ok("groups", "describe", "--help").stdout
    assert "current_offset" in help_text and "assignment_strategy" in help_text


def test_list_type_and_state_columns_and_formats(cli, two_groups):
    _, a, b = two_groups
    table = cli.ok("groups", "list", "--type", "--state").stdout.splitlines()
    assert table[0].split() == ["GROUP", "TYPE", "STATE"]
    assert [a, "Classic", "Empty"] in [line.split() for line in table[1:]]
    only = cli.ok("groups", "list", "--type", "consumer").stdout.splitlines()
    assert only[0].split() == ["GROUP", "TYPE"] and a not in "".join(only)
    doc = json.loads(cli.ok("groups", "list", "--type", "classic", "--format", "json").stdout)
    assert {"group": a, "type": "Classic", "state": "Empty"} in doc
    bad = cli("groups", "list", "--type", "streams")
    assert bad.exit_code == 1 and "unknown group type 'streams'" in bad.stderr


def test_list_share_groups_asks_the_brokers_directly(cli, two_groups):
    # The embedded broker has no share groups; the request itself must work.
    res = cli.ok("groups", "list", "--type", "share")
    assert res.stdout == "GROUP  TYPE\n"


def test_lag_json_and_csv(cli, two_groups):
    topic, a, _ = two_groups
    doc = json.loads(cli.ok("lag", "--group", a, "--format", "json").stdout)
    assert doc["group"] == a and doc["total_lag"] == 4
    assert doc["partitions"] == [
        {"topic": topic, "partition": 0, "current_offset": 1, "log_end_offset": 5, "lag": 4},
        {"topic": topic, "partition": 1, "current_offset": 5, "log_end_offset": 5, "lag": 0},
    ]
    assert set(doc) == {
        "group",
        "total_lag",
        "initial_lag",
        "fraction_done",
        "consume_rate",
        "drain_rate",
        "eta_seconds",
        "partitions",
    }
    watched = cli.ok(
        "lag",
        "--group",
        a,
        "--format",
        "json",
        "--watch",
        "--interval",
        "0",
        "--max-iterations",
        "2",
    ).stdout.splitlines()
    assert len(watched) == 2 and all(json.loads(line)["total_lag"] == 4 for line in watched)
    rows = list(csv.DictReader(io.StringIO(cli.ok("lag", "--group", a, "--format", "csv").stdout)))
    assert [r["lag"] for r in rows] == ["4", "0"]


def test_offsets_query_json_and_csv(cli, make_topic):
    topic = make_topic(partitions=2, per_partition=3)
    doc = json.loads(cli.ok("offsets", "query", "--topic", topic, "--format", "json").stdout)
    assert doc == [
        {"topic": topic, "partition": 0, "offset": 3, "timestamp": None},
        {"topic": topic, "partition": 1, "offset": 3, "timestamp": None},
    ]
    out = cli.ok(
        "offsets", "query", "--topic", topic, "--time", "2100-01-01T00:00", "--format", "csv"
    ).stdout
    assert out.splitlines() == ["topic,partition,offset,timestamp", f"{topic},0,,", f"{topic},1,,"]


def test_tables_stay_the_default(cli, two_groups):
    _, a, _ = two_groups
    assert cli.ok("groups", "describe", "--group", a).stdout.startswith("GROUP")
