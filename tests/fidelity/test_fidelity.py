"""Differential fidelity: every scenario of the corpus, sent byte for byte to
Apache Kafka (the ``reference_kafka`` fixture) and to streamtest, must get the
same answers, field by field, or a difference listed in ``allowlist.txt``.

``make fidelity`` runs the same corpus and prints a per-API report.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streamtest import EmbeddedKafka
from streamtest.broker.dispatch import REGISTRY

from .corpus import SCENARIOS, api_version_table, open_run
from .harness import Runner, Scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def streamtest_broker() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka() as kafka:
        yield kafka


@pytest.fixture(scope="module")
def runner(reference_kafka, streamtest_broker) -> Runner:
    return open_run(reference_kafka.bootstrap_servers, streamtest_broker.bootstrap_servers)


def test_the_corpus_has_at_least_200_scenarios():
    assert len(SCENARIOS) >= 200
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS), "scenario ids must be unique"


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_scenario_matches_apache_kafka(runner: Runner, sc: Scenario, reference_kafka):
    result = runner.run(sc)
    if result.error:
        detail = ""
        if result.error.startswith("kafka:"):
            # What Kafka logged as a warning or error lately: a scenario that fails
            # on Kafka's side is otherwise hard to explain after the run.
            tail = reference_kafka.log_tail(2000).splitlines()
            noted = [ln for ln in tail if " WARN " in ln or " ERROR " in ln][-15:]
            if noted:
                detail = "\nApache Kafka's last warnings:\n" + "\n".join(noted)
        pytest.fail(f"{sc.id}: {result.error}{detail}", pytrace=False)
    if result.differences:
        lines = "\n".join(f"  {d}" for d in result.differences)
        pytest.fail(
            f"{sc.id} differs from Apache Kafka:\n{lines}\n"
            "Fix streamtest, or list the difference in tests/fidelity/allowlist.txt "
            "with a one-line reason.",
            pytrace=False,
        )


def _all_ran(runner: Runner) -> bool:
    return len(runner.results) == len(SCENARIOS)


def test_every_advertised_api_version_is_compared(runner: Runner):
    if not _all_ran(runner):
        pytest.skip("only part of the corpus ran")
    advertised = {
        (spec.key, v)
        for spec in REGISTRY.values()
        for v in range(spec.min_version, spec.max_version + 1)
    }
    missing = sorted(advertised - runner.covered)
    assert not missing, f"advertised but never compared with Kafka: {missing}"


def test_the_allowlist_has_no_stale_entries(runner: Runner):
    if not _all_ran(runner):
        pytest.skip("only part of the corpus ran")
    stale = [f"line {e.line}: {e.scenario} | {e.path}" for e in runner.allowlist if not e.used]
    assert not stale, "allowlist entries that match no difference (remove them):\n" + "\n".join(
        stale
    )


def test_streamtest_never_advertises_a_version_kafka_lacks(reference_kafka, streamtest_broker):
    rows = api_version_table(reference_kafka.bootstrap_servers, streamtest_broker.bootstrap_servers)
    beyond = [
        f"{r.name} ({r.api_key}): ours {r.streamtest}, Kafka {r.kafka}"
        for r in rows
        if r.kafka is None
        or r.streamtest is None
        or r.streamtest[0] < r.kafka[0]
        or r.streamtest[1] > r.kafka[1]
    ]
    assert not beyond
