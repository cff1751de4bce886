"""kcat (librdkafka's command-line client) against the embedded broker."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed"),
]


def _kcat(*args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        ["kcat", *args], input=stdin, capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_kcat_version_is_recorded():
    assert "kcat" in _kcat("-V")


def test_kcat_metadata_lists_broker_and_topic(broker, bootstrap, topic_name):
    broker.create_topic(topic_name, partitions=3)
    out = _kcat("-b", bootstrap, "-L", "-t", topic_name)
    assert f"broker 0 at {bootstrap}" in out
    assert f'topic "{topic_name}" with 3 partitions' in out


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_kcat_produce_then_consume_with_keys(broker, bootstrap, topic_name, codec):
    broker.create_topic(topic_name, partitions=2)
    lines = [f"key{i % 3}:value {i}" for i in range(50)]
    _kcat(
        "-b", bootstrap, "-P", "-t", topic_name, "-K:", "-z", codec, stdin="\n".join(lines) + "\n"
    )
    out = _kcat(
        "-b",
        bootstrap,
        "-C",
        "-t",
        topic_name,
        "-o",
        "beginning",
        "-e",
        "-q",
        "-f",
        "%k|%s|%p|%o\\n",
    )
    rows = [line.split("|") for line in out.splitlines()]
    assert sorted(f"{k}:{v}" for k, v, _p, _o in rows) == sorted(lines)
    for key in {k for k, *_ in rows}:
        assert len({p for k, _v, p, _o in rows if k == key}) == 1
    stored = broker.records(topic_name)
    assert sorted((r.key, r.value) for r in stored) == sorted(
        (ln.split(":", 1)[0].encode(), ln.split(":", 1)[1].encode()) for ln in lines
    )


def test_kcat_consumes_with_headers(broker, bootstrap, topic_name):
    _kcat("-b", bootstrap, "-P", "-t", topic_name, "-H", "source=kcat", stdin="hello\n")
    out = _kcat("-b", bootstrap, "-C", "-t", topic_name, "-e", "-q", "-f", "%h %s\\n")
    assert out.strip() == "source=kcat hello"
