"""The Grafana dashboard shipped with the package only uses metrics that exist."""

from __future__ import annotations

import json
import re
import urllib.request
from importlib import resources

from confluent_kafka import Producer

from streamtest import EmbeddedKafka
from streamtest.ops.lag_exporter import families

METRIC = re.compile(r"\b((?:kafka|streamtest)_[a-z0-9_]+)\b")


def _dashboard() -> dict:
    text = resources.files("streamtest.broker").joinpath("grafana/streamtest-broker.json")
    return json.loads(text.read_text(encoding="utf-8"))


def _exposed_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            names.add(name)
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
            names.update(name + s for s in suffixes.get(kind, []))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def test_every_dashboard_metric_is_served_by_the_broker_or_the_lag_exporter():
    dash = _dashboard()
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dash["templating"]["list"] if "definition" in v]
    used = {m for e in exprs for m in METRIC.findall(e)}
    assert len(used) >= 15
    with EmbeddedKafka(metrics_port=0) as kafka:
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
        producer.produce("dash", b"x")
        assert producer.flush(10) == 0
        with urllib.request.urlopen(kafka.metrics_url, timeout=10) as resp:
            served = _exposed_names(resp.read().decode())
    for family in families(None, 0, 0):
        served.add(family.name)
        served.add(family.name + "_total")
    missing = sorted(used - served)
    assert not missing, f"the dashboard uses metrics nobody serves: {missing}"


def test_dashboard_is_well_formed():
    dash = _dashboard()
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    assert dash["uid"] == "streamtest-broker"
    for p in dash["panels"]:
        if p["type"] != "row":
            assert p["targets"] and all(t["expr"] for t in p["targets"])
            assert p["datasource"]["uid"] == "${datasource}"
