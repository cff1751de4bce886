"""Share groups (KIP-932) in ``streamtest groups`` and ``streamtest offsets reset``,
with ``kafka-share-groups.sh``'s columns (taken from Kafka 4.4's tool)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import ShareConsumer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from streamtest.kit.wait import eventually


def earliest(bootstrap: str, group: str) -> None:
    entry = ConfigEntry(
        "share.auto.offset.reset", "earliest", incremental_operation=AlterConfigOpType.SET
    )
    res = ConfigResource(ResourceType.GROUP, group, incremental_configs=[entry])
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.incremental_alter_configs([res])[res].result()


@pytest.fixture
def share_member(bootstrap: str) -> Iterator[Callable[[str, str, int], ShareConsumer]]:
    """Start a share consumer that takes ``take`` records (implicit mode) and stays."""
    made: list[ShareConsumer] = []

    def start(group: str, topic: str, take: int) -> ShareConsumer:
        earliest(bootstrap, group)
        c = ShareConsumer(
            {"bootstrap.servers": bootstrap, "group.id": group, "client.id": "share-1"}
        )
        made.append(c)
        c.subscribe([topic])
        got: list[int] = []

        def took() -> bool:
            got.extend(m.offset() for m in c.poll(0.2) if m.error() is None)
            return len(got) >= take

        eventually(took, timeout=20)
        c.commit_sync()
        return c

    yield start
    for c in made:
        c.close()


def test_share_groups_are_listed_and_described_like_kafka_share_groups_sh(
    broker, cli, make_topic, group_name, share_member
) -> None:
    topic = make_topic(partitions=2, per_partition=4)
    share_member(group_name, topic, 8)
    names = cli.ok("groups", "list").stdout.splitlines()
    assert group_name in names
    rows = dict(line.split() for line in cli.ok("groups", "list", "--state").stdout.splitlines())
    assert rows[group_name] == "Stable"

    lines = [
        line.split()
        for line in cli.ok("groups", "describe", "--group", group_name).stdout.splitlines()
    ]
    # Kafka persists a share partition's state with the start offset it had before
    # the acknowledgement, so the start offset stays 0 until the next write; the lag
    # counts the acknowledged records as done.
    assert lines == [
        ["GROUP", "TOPIC", "PARTITION", "START-OFFSET", "LAG"],
        [group_name, topic, "0", "0", "0"],
        [group_name, topic, "1", "0", "0"],
    ]
    typed = cli.ok("groups", "list", "--type", "share").stdout.splitlines()
    assert [line.split() for line in typed if group_name in line] == [[group_name, "Share"]]
    members = cli.ok("groups", "describe", "--group", group_name, "--members", "--verbose")
    header, row = [line.split() for line in members.stdout.splitlines()]
    assert header == [
        "GROUP",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS",
        "MEMBER-EPOCH",
        "ASSIGNMENT",
    ]
    assert row[0] == group_name and row[3:5] == ["share-1", "2"] and row[6] == f"{topic}:0,1"

    state = cli.ok("groups", "describe", "--group", group_name, "--state").stdout
    header, row = state.splitlines()
    assert header.split() == ["GROUP", "COORDINATOR", "(ID)", "STATE", "#MEMBERS"]
    assert row.split()[0] == group_name and row.split()[-2:] == ["Stable", "1"]
    as_json = cli.ok("groups", "describe", "--group", group_name, "--format", "json").stdout
    assert '"start_offset": 0' in as_json and '"lag": 0' in as_json


def test_offsets_reset_moves_a_share_groups_start_offsets(
    broker, cli, make_topic, group_name, share_member
) -> None:
    topic = make_topic(partitions=1, per_partition=6)
    member = share_member(group_name, topic, 6)
    res = cli(
        "offsets", "reset", "--group", group_name, "--topic", topic, "--to-earliest", "--execute"
    )
    assert res.exit_code == 1
    assert f"Share group '{group_name}' is not empty" in res.stderr
    member.close()
    eventually(lambda: group_name in cli.ok("groups", "list", "--state", "Empty").stdout)

    plan = cli.ok("offsets", "reset", "--group", group_name, "--topic", topic, "--to-offset", "2")
    assert "No action will be performed as the --execute option is missing" in plan.stderr
    assert [line.split() for line in plan.stdout.splitlines()] == [
        ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
        [group_name, topic, "0", "2"],
    ]
    rows = cli.ok("groups", "describe", "--group", group_name).stdout.splitlines()
    assert rows[1].split()[3:] == ["0", "0"]  # a dry run changes nothing

    cli.ok(
        "offsets", "reset", "--group", group_name, "--topic", topic, "--to-offset", "2", "--execute"
    )
    rows = cli.ok("groups", "describe", "--group", group_name).stdout.splitlines()
    assert rows[1].split()[3:] == ["2", "4"]
    shifted = cli.ok(
        "offsets", "reset", "--group", group_name, "--all-topics", "--shift-by", "-1", "--dry-run"
    )
    assert shifted.stdout.splitlines()[1].split()[3] == "1"
