"""The fidelity corpus: every scenario module, and a run of all of them.

:func:`open_run` connects the two brokers' sides (warming up Kafka's internal
topics first, so the first scenario does not meet a coordinator still loading),
and :func:`api_version_table` compares what each broker advertises.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from . import (  # noqa: F401
    scenarios_admin,
    scenarios_cluster,
    scenarios_data,
    scenarios_groups,
    scenarios_quotas,
    scenarios_replication,
    scenarios_share,
    scenarios_txn,
)
from .driver import WireClient
from .harness import SCENARIOS, Runner, Side, load_allowlist

#: API names, for the report.
API_NAMES = {
    0: "Produce",
    1: "Fetch",
    2: "ListOffsets",
    3: "Metadata",
    8: "OffsetCommit",
    9: "OffsetFetch",
    10: "FindCoordinator",
    11: "JoinGroup",
    12: "Heartbeat",
    13: "LeaveGroup",
    14: "SyncGroup",
    15: "DescribeGroups",
    16: "ListGroups",
    18: "ApiVersions",
    19: "CreateTopics",
    20: "DeleteTopics",
    21: "DeleteRecords",
    22: "InitProducerId",
    23: "OffsetForLeaderEpoch",
    24: "AddPartitionsToTxn",
    25: "AddOffsetsToTxn",
    26: "EndTxn",
    28: "TxnOffsetCommit",
    32: "DescribeConfigs",
    33: "AlterConfigs",
    37: "CreatePartitions",
    42: "DeleteGroups",
    43: "ElectLeaders",
    44: "IncrementalAlterConfigs",
    45: "AlterPartitionReassignments",
    46: "ListPartitionReassignments",
    47: "OffsetDelete",
    48: "DescribeClientQuotas",
    49: "AlterClientQuotas",
    60: "DescribeCluster",
    61: "DescribeProducers",
    65: "DescribeTransactions",
    66: "ListTransactions",
    68: "ConsumerGroupHeartbeat",
    69: "ConsumerGroupDescribe",
    76: "ShareGroupHeartbeat",
    77: "ShareGroupDescribe",
    78: "ShareFetch",
    79: "ShareAcknowledge",
    90: "DescribeShareGroupOffsets",
    91: "AlterShareGroupOffsets",
    92: "DeleteShareGroupOffsets",
}


def _node_ids(bootstrap: str) -> set[int]:
    with WireClient(bootstrap) as client:
        md = client.call(3, 12, {"topics": [], "allow_auto_topic_creation": False})
    return {b.node_id for b in md.brokers}


def _warm_up(side: Side) -> None:
    """Make Kafka create and load ``__consumer_offsets`` and ``__transaction_state``."""
    side.scenario_id = "warm-up"
    side.coordinator_ready(side.name_of("group"), 0)
    side.coordinator_ready(side.name_of("txn"), 1)
    side.close()


def open_run(kafka_bootstrap: str, streamtest_bootstrap: str) -> Runner:
    """Return a :class:`Runner` over the two brokers, warmed up."""
    prefix = f"fid{uuid.uuid4().hex[:6]}-"
    kafka = Side("kafka", kafka_bootstrap, prefix)
    ours = Side("streamtest", streamtest_bootstrap, prefix)
    for side in (kafka, ours):
        _warm_up(side)
    kafka.node_id = min(_node_ids(kafka_bootstrap))
    ours.node_id = min(_node_ids(streamtest_bootstrap))
    return Runner(
        kafka, ours, _node_ids(kafka_bootstrap), _node_ids(streamtest_bootstrap), load_allowlist()
    )


@dataclass
class VersionRow:
    """One API's version range on each broker."""

    api_key: int
    name: str
    kafka: tuple[int, int] | None
    streamtest: tuple[int, int] | None


def api_version_table(kafka_bootstrap: str, streamtest_bootstrap: str) -> list[VersionRow]:
    """Return, for every API streamtest advertises, Kafka's range and ours."""

    def ranges(bootstrap: str) -> dict[int, tuple[int, int]]:
        with WireClient(bootstrap) as client:
            r: Any = client.call(
                18, 3, {"client_software_name": "fidelity", "client_software_version": "1"}
            )
        return {int(a.api_key): (int(a.min_version), int(a.max_version)) for a in r.api_keys}

    theirs, ours = ranges(kafka_bootstrap), ranges(streamtest_bootstrap)
    return [
        VersionRow(key, API_NAMES.get(key, str(key)), theirs.get(key), ours[key])
        for key in sorted(ours)
    ]


__all__ = ["API_NAMES", "SCENARIOS", "VersionRow", "api_version_table", "open_run"]
