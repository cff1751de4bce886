"""`streamtest cluster` operates a running `streamtest broker` through its control
endpoint, and a real client sees the effect."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic


@pytest.fixture
def running_broker():
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamtest.cli", "broker", "--port", "0", "--brokers", "3",
         "--control-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    bootstrap = proc.stdout.readline().strip()
    line = proc.stderr.readline()
    control = line.split()[2]
    yield bootstrap, control
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    proc.stdout.close()
    proc.stderr.close()


def _cli(control: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "streamtest.cli", "cluster", "--control", control, *args],
        capture_output=True, text=True, timeout=60,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_status_stop_start_and_move_leader(running_broker):
    bootstrap, control = running_broker
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic("cli-t", 1, 3)])["cli-t"].result(15)
    status = json.loads(_cli(control, "status", "--format", "json").stdout)
    assert [n["id"] for n in status["nodes"]] == [0, 1, 2]
    leader = status["topics"]["cli-t"][0]["leader"]
    assert _cli(control, "leader", "cli-t", "0").stdout.strip() == str(leader)
    _cli(control, "stop-node", str(leader))
    new_leader = int(_cli(control, "leader", "cli-t", "0").stdout)
    assert new_leader not in (leader, -1)
    stopped = json.loads(_cli(control, "status", "--format", "json").stdout)
    assert stopped["nodes"][leader]["state"] == "stopped"
    assert leader not in stopped["topics"]["cli-t"][0]["isr"]
    _cli(control, "start-node", str(leader))
    _cli(control, "move-leader", "cli-t", "0", str(leader))
    assert _cli(control, "leader", "cli-t", "0").stdout.strip() == str(leader)
    table = _cli(control, "status").stdout
    assert "cli-t" in table and "running" in table


def test_a_fault_from_the_command_line_reaches_a_client(running_broker):
    bootstrap, control = running_broker
    fault_id = _cli(control, "fault", "add", "--api", "PRODUCE", "--error",
                    "POLICY_VIOLATION", "--topic", "f", "--count", "1").stdout.strip()
    assert json.loads(_cli(control, "fault", "list").stdout)["id"] == int(fault_id)
    errors = []
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce("f", b"x", on_delivery=lambda err, msg: errors.append(err))
    producer.flush(20)
    assert errors[0] is not None and errors[0].code() == KafkaError.POLICY_VIOLATION
    assert _cli(control, "fault", "list").stdout == ""


def test_bad_commands_are_one_line_errors(running_broker):
    _bootstrap, control = running_broker
    bad = _cli(control, "stop-node", "7", check=False)
    assert bad.returncode == 1 and "no node 7" in bad.stderr and "Traceback" not in bad.stderr
    bad = _cli(control, "fault", "add", "--api", "NOPE", "--error", "X", check=False)
    assert bad.returncode == 1 and "unknown API: NOPE" in bad.stderr
    gone = _cli("127.0.0.1:1", "status", check=False)
    assert gone.returncode == 1 and "cannot reach the control endpoint" in gone.stderr
