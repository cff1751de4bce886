"""offsets query, consume and produce against the embedded broker, and the errors
every command shares (unknown names, bad input, unreachable broker)."""

from __future__ import annotations

import json
import socket
import time

import pytest
from click.testing import CliRunner

from streamtest.cli import main

from .conftest import BASE_TS, Cli


def test_query_named_positions(broker, make_topic, cli):
    topic = make_topic(partitions=2, per_partition=5)
    assert cli.ok("offsets", "query", "--topic", topic, "--time", "earliest").stdout == (
        f"{topic}:0:0\n{topic}:1:0\n")
    assert cli.ok("offsets", "query", "--topic", topic).stdout == f"{topic}:0:5\n{topic}:1:5\n"
    assert cli.ok("offsets", "query", "--topic", topic, "--time", "-1", "--partitions",
                  "1").stdout == f"{topic}:1:5\n"
    assert cli.ok("offsets", "query", "--topic", topic, "--time", "max-timestamp").stdout == (
        f"{topic}:0:4\n{topic}:1:4\n")


def test_query_by_timestamp_and_datetime_with_zone(make_topic, cli):
    topic = make_topic(partitions=1, per_partition=5)
    ms = cli.ok("offsets", "query", "--topic", topic, "--time", str(BASE_TS + 2500)).stdout
    assert ms == f"{topic}:0:3\n"
    # BASE_TS + 2s is 2023-11-14T22:13:22Z.
    for text in ("2023-11-14T22:13:22Z", "2023-11-14T22:13:22", "2023-11-14T17:13:22-05:00",
                 "2023-11-14T22:13:21.001Z"):
        assert cli.ok("offsets", "query", "--topic", topic, "--time", text).stdout == (
            f"{topic}:0:2\n"), text


def test_query_after_the_last_record_prints_an_empty_offset(make_topic, cli):
    topic = make_topic(partitions=1, per_partition=2)
    res = cli.ok("offsets", "query", "--topic", topic, "--time", "2100-01-01T00:00:00")
    assert res.stdout == f"{topic}:0:\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--topic", "{missing}"], "Error: topic '{missing}' does not exist"),
        (["--topic", "{topic}", "--partitions", "3"], "Error: topic '{topic}' has no partition 3"),
        (["--topic", "{topic}", "--time", "2026-01-01 00:00"], "Error: invalid datetime"),
        (["--topic", "{topic}", "--time", "tomorrow"], "Error: invalid time 'tomorrow'"),
        (["--topic", "{topic}", "--partitions", "x"], "Error: invalid partition 'x'"),
    ],
)
def test_errors_are_one_line(make_topic, cli, topic_name, args, message):
    topic = make_topic(partitions=1, per_partition=1)
    names = {"topic": topic, "missing": topic_name + "-missing"}
    res = cli("offsets", "query", *[a.format(**names) for a in args])
    assert res.exit_code == 1
    assert res.stderr.startswith(message.format(**names))
    assert res.stderr.count("\n") == 1
    assert res.stdout == ""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "args",
    [
        ["offsets", "query", "--topic", "t"],
        ["offsets", "reset", "--group", "g", "--topic", "t", "--to-earliest", "--execute"],
        ["groups", "list"],
        ["groups", "describe", "--group", "g"],
        ["lag", "--group", "g"],
        ["consume", "--topic", "t", "-e"],
        ["replay", "--topic", "t", "--from-offset", "0", "--output", "-"],
    ],
)
def test_unreachable_broker_fails_fast_with_one_line(args):
    port = _closed_port()
    start = time.monotonic()
    res = CliRunner().invoke(main, [*args, "--bootstrap-server", f"127.0.0.1:{port}"])
    assert time.monotonic() - start < 5
    assert res.exit_code == 1
    assert res.stderr == f"Error: cannot connect to 127.0.0.1:{port}: Connection refused\n"


def test_command_config_is_read_and_bad_properties_are_one_line(make_topic, cli, tmp_path):
    topic = make_topic(partitions=1, per_partition=1)
    good = tmp_path / "client.properties"
    good.write_text("# comment\nclient.id = streamtest-test\n\nsocket.keepalive.enable=true\n")
    cli.ok("offsets", "query", "--topic", topic, "--command-config", str(good))
    bad = tmp_path / "bad.properties"
    bad.write_text("no.such.property=1\n")
    res = cli("offsets", "query", "--topic", topic, "--command-config", str(bad))
    assert res.exit_code == 1
    assert res.stderr.startswith("Error:") and "no.such.property" in res.stderr
    assert res.stderr.count("\n") == 1
    res = cli("offsets", "query", "--topic", topic, "--command-config", str(tmp_path / "nope"))
    assert res.exit_code == 1 and "cannot read" in res.stderr


# -- consume ------------------------------------------------------------------------


def test_consume_from_beginning_to_end_in_kcat_format(make_topic, cli):
    topic = make_topic(partitions=2, per_partition=2)
    res = cli.ok("consume", "-t", topic, "-o", "beginning", "-e",
                 "-f", "%t/%p/%o %k=%s (%K,%S) @%T [%h]\\n")
    lines = sorted(res.stdout.splitlines())
    assert lines[0] == f"{topic}/0/0 k0-0=v0-0 (4,4) @{BASE_TS} [h=0:0,h=again,null=]"
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (["beginning"], [0, 1, 2, 3, 4]),
        (["2"], [2, 3, 4]),
        (["-2"], [3, 4]),
        (["end"], []),
        ([f"s@{BASE_TS + 3000}"], [3, 4]),
        ([f"e@{BASE_TS + 2000}"], [0, 1]),
        (["1", f"e@{BASE_TS + 3000}"], [1, 2]),
        (["99"], []),
    ],
)
def test_consume_start_positions(make_topic, cli, offset, expected):
    topic = make_topic(partitions=1, per_partition=5)
    args = [a for o in offset for a in ("-o", o)]
    res = cli.ok("consume", "-t", topic, *args, "-e", "-f", "%o\\n")
    assert [int(x) for x in res.stdout.split()] == expected


def test_consume_count_and_json_envelope(make_topic, cli):
    topic = make_topic(partitions=1, per_partition=5)
    res = cli.ok("consume", "-t", topic, "-o", "beginning", "-c", "2", "-J")
    first = json.loads(res.stdout.splitlines()[0])
    assert len(res.stdout.splitlines()) == 2
    assert first == {
        "topic": topic, "partition": 0, "offset": 0, "tstype": "create", "ts": BASE_TS,
        "headers": ["h", "0:0", "h", "again", "null", None], "key": "k0-0", "payload": "v0-0",
    }


def test_consume_bad_options(make_topic, cli):
    topic = make_topic(partitions=1, per_partition=1)
    for args, message in ((["-o", "later"], "invalid offset 'later'"),
                          (["-o", "1", "-o", "2"], "only one start offset"),
                          (["-f", "%x"], "unknown format token %x"),
                          (["-p", "4"], "no partition 4")):
        res = cli("consume", "-t", topic, "-e", *args)
        assert res.exit_code == 1 and message in res.stderr, res.stderr


# -- produce ------------------------------------------------------------------------


def test_produce_lines_with_keys_and_headers(broker, make_topic, cli):
    topic = make_topic(partitions=1, per_partition=0)
    res = cli.ok("produce", "-t", topic, "-K", ":", "-H", "src=cli", input="a:1\nb:2:x\n\nnokey\n")
    assert res.stderr == f"Produced 3 records to {topic}\n"
    got = [(r.key, r.value, r.headers) for r in broker.records(topic)]
    assert got == [(b"a", b"1", [("src", b"cli")]), (b"b", b"2:x", [("src", b"cli")]),
                   (None, b"nokey", [("src", b"cli")])]


def test_produce_json_lines(broker, make_topic, cli):
    topic = make_topic(partitions=2, per_partition=0)
    lines = [
        {"key": "k", "value": "v", "headers": {"a": "1"}, "partition": 1, "timestamp": 1234},
        {"payload": {"n": 1}, "headers": [["x", None], ["x", "2"]], "partition": 0},
    ]
    cli.ok("produce", "-t", topic, "--json", input="\n".join(json.dumps(x) for x in lines))
    p0, p1 = broker.records(topic, 0), broker.records(topic, 1)
    assert [(r.key, r.value, r.headers, r.timestamp) for r in p1] == [
        (b"k", b"v", [("a", b"1")], 1234)]
    assert [(r.key, r.value, r.headers) for r in p0] == [
        (None, b'{"n":1}', [("x", None), ("x", b"2")])]


def test_produce_bad_input_names_the_line(broker, make_topic, cli: Cli):
    topic = make_topic(partitions=1, per_partition=0)
    res = cli("produce", "-t", topic, "--json", input='{"value": "ok"}\n{oops\n')
    assert res.exit_code == 1
    assert res.stderr.startswith("Error: line 2: invalid JSON")
    assert [r.value for r in broker.records(topic)] == [b"ok"]
    res = cli("produce", "-t", topic, "-p", "7", input="x\n")
    assert res.exit_code == 1 and "no partition 7" in res.stderr


# -- byte-exact consume and produce (kcat's -D, -Z, -X) ---------------------------------


BINARY = b"\xff\xfe\x00 not utf-8 \xc3\x28"


def test_consume_writes_keys_and_values_byte_for_byte(broker, make_topic, cli):
    topic = make_topic(partitions=1, per_partition=0)
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": broker.bootstrap_servers})
    p.produce(topic, key=b"\x80key", value=BINARY)
    p.produce(topic, key=None, value=None)
    assert p.flush(10) == 0
    plain = cli.ok("consume", "-t", topic, "-o", "beginning", "-e")
    assert plain.stdout_bytes == BINARY + b"\n" + b"\n"
    fmt = cli.ok("consume", "-t", topic, "-o", "beginning", "-e", "-f", "%k|%s|%S\\n")
    assert fmt.stdout_bytes == b"\x80key|" + BINARY + b"|" + str(len(BINARY)).encode() + b"\n||-1\n"
    nulls = cli.ok("consume", "-t", topic, "-o", "beginning", "-e", "-Z", "-K", "=", "-D", "\\0")
    assert nulls.stdout_bytes == b"\x80key=" + BINARY + b"\0NULL=NULL\0"


def test_produce_sends_input_bytes_unchanged(broker, make_topic, cli):
    topic = make_topic(partitions=1, per_partition=0)
    res = cli.ok("produce", "-t", topic, "-K", ":", input=b"k\xff:" + BINARY + b"\nplain\n")
    assert res.stderr == f"Produced 2 records to {topic}\n"
    got = [(r.key, r.value) for r in broker.records(topic)]
    assert got == [(b"k\xff", BINARY), (None, b"plain")]


def test_produce_record_delimiter_and_empty_as_null(broker, make_topic, cli):
    topic = make_topic(partitions=1, per_partition=0)
    res = cli.ok("produce", "-t", topic, "-D", ";", "-K", "=", "-Z",
                 input=b"a=1\nstill a;b=;c=3")
    assert res.stderr == f"Produced 3 records to {topic}\n"
    got = [(r.key, r.value) for r in broker.records(topic)]
    assert got == [(b"a", b"1\nstill a"), (b"b", None), (b"c", b"3")]
    one = cli.ok("produce", "-t", topic, input=b"x\n")
    assert one.stderr == f"Produced 1 record to {topic}\n"


def test_dash_x_passes_librdkafka_settings(make_topic, cli):
    topic = make_topic(partitions=1, per_partition=1)
    bad = cli("consume", "-t", topic, "-e", "-X", "fetch.wait.max.ms=banana")
    assert bad.exit_code == 1
    assert "fetch.wait.max.ms" in bad.stderr and bad.stderr.count("\n") == 1
    ok = cli.ok("produce", "-t", topic, "-X", "compression.type=zstd", input=b"z\n")
    assert ok.stderr == f"Produced 1 record to {topic}\n"
    malformed = cli("produce", "-t", topic, "-X", "linger.ms", input=b"z\n")
    assert malformed.exit_code == 1
    assert malformed.stderr == "Error: invalid -X 'linger.ms': expected librdkafka KEY=VALUE\n"


def test_produce_json_must_be_utf8_and_names_the_line(make_topic, cli):
    topic = make_topic(partitions=1, per_partition=0)
    res = cli("produce", "-t", topic, "--json", input=b'{"value": "ok"}\n{"value": "\xff"}\n')
    assert res.exit_code == 1
    assert res.stderr == "Error: line 2: JSON must be UTF-8 (bad byte at 11)\n"
