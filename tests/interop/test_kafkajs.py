"""kafkajs (Node.js) against the embedded broker: a non-Python client too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "kafkajs").exists(),
        reason="kafkajs is not installed (make test runs npm install in tests/interop/node)",
    ),
]


def test_kafkajs_admin_idempotent_gzip_produce_and_group_consume(broker, topic_name):
    proc = subprocess.run(
        [
            NODE or "node",
            str(NODE_DIR / "kafkajs_roundtrip.js"),
            broker.bootstrap_servers,
            topic_name,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "KAFKAJS_NO_PARTITIONER_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert sorted(int(m["n"]) for m in got) == list(range(30))
    assert all(m["value"] == f"v{m['n']}" for m in got)
    for key in {m["key"] for m in got}:
        assert len({m["partition"] for m in got if m["key"] == key}) == 1
    stored = broker.records(topic_name)
    assert len(stored) == 30 and {r.partition for r in stored} <= {0, 1, 2}
    for p in {r.partition for r in stored}:
        offsets = [r.offset for r in stored if r.partition == p]
        assert offsets == list(range(len(offsets)))
