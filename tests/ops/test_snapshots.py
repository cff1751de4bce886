"""Snapshot tests of the text formats the ops commands print.

They run against a private broker with fixed topic and group names, so the only
volatile values are the broker address and member ids, which are normalised.
Regenerate after an intended change with ``STREAMTEST_UPDATE_SNAPSHOTS=1`` and
review the diff of ``tests/ops/snapshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from streamtest import EmbeddedKafka

from .conftest import BASE_TS, Cli, assert_snapshot, commit, delete_records_before, produce

TOPIC, OTHER, GROUP = "orders", "payments", "backfill"


@pytest.fixture(scope="module")
def kafka() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka() as k:
        k.create_topic(TOPIC, 3)
        k.create_topic(OTHER, 1)
        produce(k.bootstrap_servers, TOPIC, 6, 3)
        produce(k.bootstrap_servers, OTHER, 2, 1)
        delete_records_before(k.bootstrap_servers, TOPIC, 2, 2)
        commit(k.bootstrap_servers, GROUP, {(TOPIC, 0): 3, (TOPIC, 1): 6, (OTHER, 0): 1})
        yield k


@pytest.fixture
def run(kafka: EmbeddedKafka) -> Cli:
    return Cli(kafka.bootstrap_servers)


def both(res) -> str:
    return f"$ exit {res.exit_code}\n--- stdout\n{res.stdout}--- stderr\n{res.stderr}"


def test_snapshot_reset_dry_run_with_clamp_warnings(run):
    res = run("offsets", "reset", "--group", GROUP, "--topic", TOPIC, "--to-offset", "1",
              "--dry-run")
    assert_snapshot("reset_dry_run.txt", both(res))


def test_snapshot_reset_export(run):
    res = run("offsets", "reset", "--group", GROUP, "--all-topics", "--to-datetime",
              "2023-11-14T22:13:22Z", "--export")
    assert_snapshot("reset_export.csv", res.stdout)


def test_snapshot_reset_refused_and_errors(run):
    out = []
    for args in (
        ["offsets", "reset", "--group", GROUP, "--topic", "nope", "--to-earliest"],
        ["offsets", "reset", "--group", GROUP, "--topic", f"{TOPIC}:5", "--to-earliest"],
        ["offsets", "reset", "--group", GROUP, "--topic", TOPIC, "--to-datetime", "01/02/2026"],
        ["offsets", "reset", "--group", GROUP, "--topic", TOPIC, "--by-duration", "1h"],
        ["groups", "describe", "--group", "nobody"],
        ["offsets", "query", "--topic", TOPIC, "--time", "noon"],
    ):
        out.append(both(run(*args)))
    assert_snapshot("errors.txt", "".join(out))


def test_snapshot_groups_describe_offsets_and_state(run):
    assert_snapshot("groups_describe_offsets.txt",
                    both(run("groups", "describe", "--group", GROUP)))
    state = both(run("groups", "describe", "--group", GROUP, "--state"))
    # The broker's port varies in length, which moves the column boundaries.
    assert_snapshot("groups_describe_state.txt", re.sub(r" {2,}", "  ", state))


def test_snapshot_groups_list(run):
    assert_snapshot("groups_list.txt", run("groups", "list").stdout
                    + run("groups", "list", "--state").stdout)


def test_snapshot_lag(run):
    assert_snapshot("lag.txt", run("lag", "--group", GROUP).stdout)


def test_snapshot_offsets_query(run):
    out = "".join(run("offsets", "query", "--topic", TOPIC, "--time", t).stdout
                  for t in ("earliest", "latest", "max-timestamp", str(BASE_TS + 4000),
                            "2023-11-14T23:13:23+01:00"))
    assert_snapshot("offsets_query.txt", out)


def test_snapshot_consume_formats(run):
    text = run("consume", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e",
               "-f", "%t %p %o %T key=%k value=%s headers=%h\\n").stdout
    text += run("consume", "-t", OTHER, "-o", "beginning", "-e", "-J").stdout
    text += run("consume", "-t", OTHER, "-o", "beginning", "-e", "-K", "\\t").stdout
    assert_snapshot("consume.txt", text)


def test_snapshot_replay_jsonl(run):
    res = run("replay", "--topic", TOPIC, "--from-offset", "4", "--to-offset", "6",
              "--partitions", "0,2", "--output", "-")
    # Partitions are read concurrently, so only the order within a partition is fixed.
    assert_snapshot("replay.jsonl", "".join(sorted(res.stdout.splitlines(keepends=True))))
    assert res.stderr == f"Replayed 4 records of {TOPIC} (0:[4,6), 2:[4,6)) to -\n"
