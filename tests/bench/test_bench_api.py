"""The Python API: ``streamtest.bench.run(...)``."""

from __future__ import annotations

import pytest

import streamtest
from streamtest.ops.errors import BrokerUnreachableError, InvalidInputError


def test_run_returns_the_result_and_calls_back_per_interval(bootstrap, topic_name):
    seen = []
    notes = []
    result = streamtest.bench.run(
        "e2e",
        bootstrap_servers=bootstrap,
        topic=topic_name,
        records=2000,
        record_size=50,
        producers=2,
        interval_s=0.5,
        on_interval=lambda role, stats: seen.append((role, stats)),
        on_status=notes.append,
    )
    assert result.records == 2000 and result.produced == 2000 and result.errors == 0
    assert result.latency["p99"] is not None and result.latency["p99"] >= result.latency["p50"]
    assert result.histogram.get_total_count() == 2000
    assert {role for role, _ in seen} == {"produce", "consume"}
    assert sum(s.records_per_s for role, s in seen if role == "consume") > 0
    assert any("running" in n for n in notes)
    assert not result.interrupted


def test_unknown_setting_and_unreachable_cluster_are_clear_errors():
    with pytest.raises(InvalidInputError, match="unknown bench setting.*recrods"):
        streamtest.bench.run("produce", recrods=5)
    with pytest.raises(BrokerUnreachableError, match="cannot connect"):
        streamtest.bench.run("produce", bootstrap_servers="127.0.0.1:1", records=5)
