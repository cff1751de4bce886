"""``lag`` and the backfill monitor against the embedded broker."""

from __future__ import annotations

import pytest

from streamtest.ops.lag import LagSnapshot, PartitionLag, format_duration, progress_between
from streamtest.ops.plan import TP
from streamtest.replay import monitor_backfill_progress

from .conftest import commit


def snap(at: float, *pairs: tuple[int | None, int]) -> LagSnapshot:
    return LagSnapshot("g", [PartitionLag(TP("t", i), c, e) for i, (c, e) in enumerate(pairs)], at)


def test_progress_rate_and_eta_from_two_snapshots():
    first = snap(0.0, (0, 100), (50, 100))  # lag 150
    now = snap(10.0, (60, 110), (80, 100))  # lag 70: 80 drained in 10 s, 90 committed
    p = progress_between(first, now)
    assert (p.initial_lag, p.lag) == (150, 70)
    assert p.fraction == pytest.approx(80 / 150)
    assert p.consume_rate == pytest.approx(9.0)
    assert p.drain_rate == pytest.approx(8.0)
    assert p.eta_seconds == pytest.approx(70 / 8)


def test_progress_edge_cases():
    assert progress_between(snap(0, (5, 5)), snap(0, (5, 5))).fraction == 1.0
    growing = progress_between(snap(0, (0, 10)), snap(5, (0, 20)))
    assert growing.fraction == 0.0 and growing.eta_seconds is None
    unknown = snap(0, (None, 10))
    assert unknown.total_lag == 0 and unknown.partitions[0].lag is None
    assert format_duration(None) == "-"
    assert format_duration(3725) == "1h02m05s"
    assert format_duration(65) == "1m05s"


def test_lag_table_and_summary(broker, cli, make_topic, group_name):
    topic = make_topic(partitions=2, per_partition=10)
    commit(broker.bootstrap_servers, group_name, {(topic, 0): 4, (topic, 1): 10})
    res = cli.ok("lag", "--group", group_name)
    lines = res.stdout.splitlines()
    assert [x.split() for x in lines[:3]] == [
        ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"],
        [group_name, topic, "0", "4", "10", "6"],
        [group_name, topic, "1", "10", "10", "0"],
    ]
    assert lines[3] == "TOTAL-LAG 6  PROGRESS 0.0% (from 6)  RATE -  ETA -"


def test_lag_with_topic_shows_uncommitted_partitions(broker, cli, make_topic, group_name):
    topic = make_topic(partitions=2, per_partition=3)
    commit(broker.bootstrap_servers, group_name, {(topic, 0): 1})
    lines = cli.ok("lag", "--group", group_name, "--topic", topic).stdout.splitlines()
    assert lines[2].split() == [group_name, topic, "1", "-", "3", "-"]
    assert lines[3].startswith("TOTAL-LAG 2 ")


def test_watch_until_zero_stops_at_once_when_caught_up(broker, cli, make_topic, group_name):
    topic = make_topic(partitions=1, per_partition=3)
    commit(broker.bootstrap_servers, group_name, {(topic, 0): 3})
    res = cli.ok("lag", "--group", group_name, "--until-zero", "--interval", "0")
    assert res.stdout.count("TOTAL-LAG 0") == 1
    assert "PROGRESS 100.0%" in res.stdout and "ETA 0s" in res.stdout


def test_watch_is_bounded_by_max_iterations(broker, cli, make_topic, group_name):
    topic = make_topic(partitions=1, per_partition=3)
    commit(broker.bootstrap_servers, group_name, {(topic, 0): 1})
    res = cli("lag", "--group", group_name, "--watch", "--interval", "0", "--max-iterations", "3")
    assert res.exit_code == 0 and res.stdout.count("TOTAL-LAG 2") == 3
    res = cli("lag", "--group", group_name, "--until-zero", "--interval", "0",
              "--max-iterations", "2")
    assert res.exit_code == 1
    assert res.stderr == f"Error: lag of group '{group_name}' is still 2 after 2 checks\n"


def test_lag_unknown_group(cli, group_name):
    res = cli("lag", "--group", group_name)
    assert res.exit_code == 1
    assert res.stderr == f"Error: Consumer group '{group_name}' does not exist.\n"


def test_monitor_backfill_progress_until_complete(broker, make_topic, group_name):
    """The group commits more after each look; the monitor ends when it reaches the
    log end offsets that existed when monitoring began."""
    bs = broker.bootstrap_servers
    topic = make_topic(partitions=2, per_partition=10)
    commit(bs, group_name, {(topic, 0): 2, (topic, 1): 2})
    steps = iter([{(topic, 0): 6, (topic, 1): 4}, {(topic, 0): 10, (topic, 1): 10}])
    seen: list[tuple[int, int, bool]] = []

    def on_progress(p) -> None:
        seen.append((p.done_offsets, p.total_offsets, p.complete))
        nxt = next(steps, None)
        if nxt:
            commit(bs, group_name, nxt)

    result = monitor_backfill_progress(group_name, topic, bootstrap_servers=bs, interval=0,
                                       timeout=30, on_progress=on_progress)
    assert result.complete and result.iterations == 3
    assert seen == [(0, 16, False), (6, 16, False), (16, 16, True)]
    assert result.fraction == 1.0 and result.eta_seconds == 0.0


def test_monitor_backfill_progress_stops_after_max_iterations(broker, make_topic, group_name):
    topic = make_topic(partitions=1, per_partition=10)
    commit(broker.bootstrap_servers, group_name, {(topic, 0): 5})
    result = monitor_backfill_progress(group_name, topic, config=broker.bootstrap_servers,
                                       target=8, interval=0, max_iterations=2)
    assert not result.complete and result.iterations == 2
    assert (result.done_offsets, result.total_offsets) == (0, 3)
    done = monitor_backfill_progress(group_name, topic, bootstrap_servers=broker.bootstrap_servers,
                                     target={0: 5}, interval=0, max_iterations=1)
    assert done.complete
