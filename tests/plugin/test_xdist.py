"""Under pytest-xdist, every worker gets its own cluster and its own topic names."""

from __future__ import annotations

import pytest


def test_each_xdist_worker_has_its_own_embedded_broker(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.parametrize("i", range(6))
        def test_report(kafka, kafka_topic, i):
            worker = os.environ["PYTEST_XDIST_WORKER"]
            assert worker in kafka_topic          # names say which worker made them
            kafka.send(kafka_topic, [str(i)])
            # Only this test's record is in this test's topic.
            assert [r.value for r in kafka.records(kafka_topic)] == [str(i).encode()]
            with open(f"report-{worker}-{i}", "w") as f:
                f.write(f"{worker} {kafka.bootstrap_servers} {kafka_topic}")
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "xdist", "--dist", "load")
    result.assert_outcomes(passed=6)
    rows = [p.read_text().split() for p in pytester.path.glob("report-*")]
    brokers_by_worker: dict[str, set[str]] = {}
    for worker, servers, _topic in rows:
        brokers_by_worker.setdefault(worker, set()).add(servers)
    # Both workers ran tests (xdist's load scheduler hands each an initial batch),
    # each on one broker, and no broker was shared between workers.
    assert set(brokers_by_worker) == {"gw0", "gw1"}
    assert all(len(servers) == 1 for servers in brokers_by_worker.values())
    all_brokers = [s for servers in brokers_by_worker.values() for s in servers]
    assert len(all_brokers) == len(set(all_brokers))
    assert len({topic for *_, topic in rows}) == 6
