"""`streamtest broker` runs in the foreground and stops cleanly on signals."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from confluent_kafka.admin import AdminClient


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_broker_prints_address_serves_and_stops_on_signal(sig):
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamtest.cli", "broker", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    host, port = address.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    meta = AdminClient({"bootstrap.servers": address}).list_topics(timeout=10)
    assert list(meta.brokers.values())[0].port == int(port)
    proc.send_signal(sig)
    assert proc.wait(10) == 0
    proc.stdout.close()
    if proc.stderr is not None:
        proc.stderr.close()


def test_bad_arguments_get_one_line_errors():
    proc = subprocess.run(
        [sys.executable, "-m", "streamtest.cli", "broker", "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "99999" in proc.stderr and "Traceback" not in proc.stderr


def test_an_invalid_setting_is_one_line_naming_it():
    proc = subprocess.run(
        [sys.executable, "-m", "streamtest.cli", "broker", "--port", "0",
         "--setting", "num.partitions=zero"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "num.partitions" in proc.stderr and "Traceback" not in proc.stderr


def test_a_three_node_cluster_prints_every_node_and_serves_settings():
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamtest.cli", "broker", "--port", "0", "--brokers", "3",
         "--setting", "num.partitions=3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        bootstrap = proc.stdout.readline().strip()
        addresses = bootstrap.split(",")
        assert len(addresses) == 3 and len(set(addresses)) == 3
        admin = AdminClient({"bootstrap.servers": bootstrap})
        meta = admin.list_topics(timeout=10)
        assert sorted(meta.brokers) == [0, 1, 2]
        assert sorted(f"{b.host}:{b.port}" for b in meta.brokers.values()) == sorted(addresses)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()


def test_an_unusable_data_dir_is_one_line_naming_it(tmp_path):
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o500)
    cases = ["/proc/nope"]
    import os

    if os.geteuid() != 0:  # root may write anywhere
        cases.append(str(readonly / "data"))
    for path in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "streamtest.cli", "broker", "--port", "0", "--data-dir", path],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith(f"Error: cannot use data directory {path}")
        assert proc.stderr.count("\n") == 1, proc.stderr
