"""`streamtest bench` end to end: real worker processes, real confluent-kafka clients,
the embedded broker on a real socket."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

TOP_KEYS = ["records", "errors", "duration_s", "throughput", "latency_ms", "intervals"]
LATENCY_KEYS = ["p50", "p95", "p99", "p99_9", "max", "mean"]


def bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamtest.cli", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def check_schema(data: dict) -> None:
    assert list(data) == TOP_KEYS
    assert set(data["throughput"]) == {"records_per_s", "mb_per_s"}
    assert list(data["latency_ms"]) == LATENCY_KEYS
    assert isinstance(data["records"], int) and isinstance(data["errors"], int)
    assert data["duration_s"] > 0
    assert data["intervals"], "at least one interval"
    for iv in data["intervals"]:
        assert set(iv) == {"t_s", "records_per_s", "mb_per_s", "p99_ms"}
    ts = [iv["t_s"] for iv in data["intervals"]]
    assert ts == sorted(ts)


@pytest.mark.parametrize("mode", ["produce", "consume", "e2e"])
def test_bench_mode_end_to_end_writes_json_and_html(mode, bootstrap, topic_name, tmp_path):
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    proc = bench(
        mode,
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic_name,
        "--records",
        "3000",
        "--record-size",
        "64",
        "--partitions",
        "2",
        "--json",
        str(out_json),
        "--html",
        str(out_html),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(out_json.read_text())
    check_schema(data)
    assert data["records"] == 3000 and data["errors"] == 0
    for key in LATENCY_KEYS:
        assert data["latency_ms"][key] is not None and data["latency_ms"][key] >= 0
    lat = data["latency_ms"]
    assert lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["p99_9"] <= lat["max"]
    # duration_s is rounded to the millisecond: compare within that rounding.
    rate = data["throughput"]["records_per_s"]
    assert abs(rate * data["duration_s"] - 3000) <= rate * 0.0005 + 1
    page = out_html.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 2
    assert "http" not in page.split("<svg", 1)[0]  # no script or style from the web
    assert "records/s" in proc.stdout and "latency p99 ms" in proc.stdout


def test_e2e_with_two_producers_two_consumers_and_two_groups(bootstrap, topic_name, tmp_path):
    out = tmp_path / "r.json"
    proc = bench(
        "e2e",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic_name,
        "--records",
        "4000",
        "--record-size",
        "32",
        "--partitions",
        "4",
        "--producers",
        "2",
        "--consumers",
        "2",
        "--subscriptions",
        "2",
        "--keys",
        "50",
        "--json",
        str(out),
        "-q",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    # Every record is read once per subscription (consumer group).
    assert data["records"] == 8000 and data["errors"] == 0
    produced = next(ln for ln in proc.stdout.splitlines() if ln.startswith("records produced"))
    assert produced.split()[-1] == "4,000"


def test_rate_limited_duration_run(bootstrap, topic_name, tmp_path):
    out = tmp_path / "r.json"
    proc = bench(
        "produce",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic_name,
        "--duration",
        "1.5",
        "--rate",
        "2000",
        "--record-size",
        "16",
        "--json",
        str(out),
        "-q",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    # At most the rate allows (plus the first record of each slot); at least some.
    assert 0 < data["records"] <= 2000 * 1.5 + 10


def test_workload_file_sets_defaults_and_options_win(bootstrap, topic_name, tmp_path):
    workload = tmp_path / "w.yaml"
    workload.write_text(
        "name: small\n"
        f"topic: {topic_name}\n"
        "topics: 2\n"
        "partitionsPerTopic: 2\n"
        "messageSize: 40\n"
        "producersPerTopic: 1\n"
        "consumerPerSubscription: 1\n"
        "records: 999999\n"
        "keyDistributor: KEY_ROUND_ROBIN\n"
    )
    out = tmp_path / "r.json"
    proc = bench(
        "e2e",
        "--bootstrap-server",
        bootstrap,
        "--workload",
        str(workload),
        "--records",
        "2000",
        "--json",
        str(out),
        "-q",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["records"] == 2000  # the option beat the file's 999999
    assert (
        abs(data["throughput"]["mb_per_s"] * 2**20 / data["throughput"]["records_per_s"] - 40) < 0.5
    )


def test_compare_prints_a_side_by_side_table_with_ratios(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    base = {
        "records": 1000,
        "errors": 0,
        "duration_s": 2.0,
        "throughput": {"records_per_s": 500.0, "mb_per_s": 0.5},
        "latency_ms": {"p50": 1.0, "p95": 2.0, "p99": 4.0, "p99_9": 5.0, "max": 6.0, "mean": 1.5},
        "intervals": [],
    }
    a.write_text(json.dumps(base))
    better = json.loads(json.dumps(base))
    better["throughput"]["records_per_s"] = 1000.0
    better["latency_ms"]["p99"] = 8.0
    b.write_text(json.dumps(better))
    proc = bench("compare", str(a), str(b))
    assert proc.returncode == 0, proc.stderr
    lines = {
        line.split()[0] + " " + line.split()[1]: line
        for line in proc.stdout.splitlines()
        if line.startswith(("records/s", "latency p99 "))
    }
    assert "2.00x" in lines["records/s 500"] and "better" in lines["records/s 500"]
    p99 = next(line for line in proc.stdout.splitlines() if line.startswith("latency p99 ms"))
    assert "2.00x" in p99 and "worse" in p99


@pytest.mark.parametrize(
    "args, message",
    [
        (["produce", "--bootstrap-server", "127.0.0.1:1"], "cannot connect to 127.0.0.1:1"),
        (["produce", "--records", "0"], "records must be at least 1"),
        (["produce", "--records", "5", "--duration", "3"], "records or duration, not both"),
        (["produce", "--compression", "brotli"], "compression must be one of"),
        (["e2e", "--record-size", "4"], "record size must be at least 8"),
        (["produce", "--producer-prop", "novalue"], "--producer-prop must be KEY=VALUE"),
        (["produce", "--producers", "x"], "'x' is not a valid integer"),
        (["compare", "missing-a.json", "missing-b.json"], "cannot read missing-a.json"),
    ],
)
def test_bad_input_gets_one_line_and_a_nonzero_exit(args, message):
    proc = bench(*args, timeout=60)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_workload_files_get_one_line(tmp_path):
    cases = {
        "syntax.yaml": ("topics: [1\n", "is not valid YAML at line"),
        "unknown.yaml": ("color: blue\n", "unknown key 'color'"),
        "type.yaml": ("messageSize: big\n", "messageSize has a bad value"),
        "omb.yaml": ("payloadFile: p.data\n", "payloadFile is not supported"),
        "list.yaml": ("- 1\n- 2\n", "must be a mapping"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        proc = bench("e2e", "--workload", str(path), "--bootstrap-server", "127.0.0.1:1")
        assert proc.returncode == 1, (name, proc.stderr)
        assert message in proc.stderr, (name, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_worker_that_cannot_start_is_one_line(bootstrap, topic_name):
    proc = bench(
        "produce",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic_name,
        "--records",
        "10",
        "--producer-prop",
        "no.such.property=1",
        "-q",
    )
    assert proc.returncode == 1
    assert 'No such configuration property: "no.such.property"' in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("mode", ["produce", "e2e"])
def test_ctrl_c_prints_and_writes_what_was_measured(mode, bootstrap, topic_name, tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamtest.cli",
            "bench",
            mode,
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic_name,
            "--duration",
            "120",
            "--rate",
            "3000",
            "--record-size",
            "32",
            "--interval",
            "0.2",
            "--json",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    # Wait for the first reported interval: records are flowing.
    deadline = time.monotonic() + 60
    seen = ""
    while "records/s" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            seen += os.read(proc.stderr.fileno(), 4096).decode()
    assert "records/s" in seen, seen
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout
    assert "Traceback" not in stderr
    data = json.loads(out.read_text())
    check_schema(data)
    assert data["records"] > 0 and data["errors"] == 0
    assert data["duration_s"] < 120


def test_embedded_runs_against_a_new_broker_process(tmp_path):
    out = tmp_path / "r.json"
    proc = bench(
        "produce", "--embedded", "--records", "500", "--record-size", "20", "--json", str(out), "-q"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["records"] == 500
