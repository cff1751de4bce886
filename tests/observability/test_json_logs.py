"""`streamtest broker --log-format json`: every stderr line is one JSON object, and
request lines carry a request id and the client's id."""

from __future__ import annotations

import json
import logging
import signal
import socket
import struct
import subprocess
import sys
import uuid

from confluent_kafka import Producer

from streamtest.broker.observe import JsonFormatter, configure_logging


def _run_broker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "streamtest.cli", "broker", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_json_logs_have_request_id_and_client_id_on_every_line():
    proc = _run_broker("-vv", "--log-format", "json")
    assert proc.stdout is not None and proc.stderr is not None
    address = proc.stdout.readline().strip()
    client_id = f"json-log-{uuid.uuid4().hex[:6]}"
    producer = Producer({"bootstrap.servers": address, "client.id": client_id})
    producer.produce("json-logs", value=b"x", partition=0)
    assert producer.flush(10) == 0
    # A frame that is not a Kafka request: the broker closes the connection and
    # logs why, naming the connection.
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(struct.pack(">i", 4) + b"\xff\xff\xff\xff")
        raw.settimeout(10)
        assert raw.recv(10) == b""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    lines = [line for line in proc.stderr.read().splitlines() if line.strip()]
    proc.stdout.close()
    proc.stderr.close()
    records = [json.loads(line) for line in lines if line != "broker stopped"]
    assert records, lines
    for rec in records:
        assert {"ts", "level", "logger", "message"} <= rec.keys()
        assert rec["ts"].endswith("Z")
    requests = [r for r in records if r["message"] == "request completed"]
    produce = [r for r in requests if r["api"] == "Produce"]
    assert produce, requests
    first = produce[0]
    assert first["client_id"] == client_id
    assert first["logger"] == "streamtest.broker.requests"
    assert first["request_id"] == f"{first['connection_id']}-{first['correlation_id']}"
    assert first["duration_ms"] >= 0 and first["failed"] is False
    assert len({r["request_id"] for r in requests}) == len(requests)
    closed = [r for r in records if r["message"].startswith("closing connection")]
    assert closed and closed[0]["level"] == "WARNING" and "connection_id" in closed[0]


def test_text_logs_stay_the_default():
    proc = _run_broker("-v")
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    text = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert "INFO streamtest.broker: node 0 listening on" in text
    assert not text.lstrip().startswith("{")


def test_bad_log_format_is_a_one_line_usage_error():
    proc = subprocess.run(
        [sys.executable, "-m", "streamtest.cli", "broker", "--log-format", "xml"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "xml" in proc.stderr and "Traceback" not in proc.stderr


def test_formatter_keeps_extra_fields_and_exceptions(capsys):
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom %s", ("now",), None)
    record.request_id = "7-3"
    try:
        raise ValueError("bad")
    except ValueError:
        record.exc_info = sys.exc_info()
    data = json.loads(JsonFormatter().format(record))
    assert data["message"] == "boom now" and data["request_id"] == "7-3"
    assert "ValueError: bad" in data["exception"]


def test_configure_logging_rejects_an_unknown_format():
    import pytest

    with pytest.raises(ValueError, match="log format"):
        configure_logging(logging.INFO, "yaml")
