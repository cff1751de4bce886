"""Offsets against a live cluster: ``offsets query`` and ``offsets reset``.

A reset runs in three steps, and only the last writes anything:

1. :func:`prepare_reset` validates the scope (unknown topics and partitions are
   errors), checks that the group is inactive, gathers each partition's log range,
   committed offset and timestamp lookup, and computes a :class:`ResetPlan`.
2. The caller shows the plan (``--dry-run``) or exports it (``--export``).
3. :func:`execute_reset` commits the plan, re-checking that the group is still
   inactive, since a consumer may have joined in between.

So bad input, an unknown name or an active group never changes an offset.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import OffsetSpec

from .client import ClientConfig, check_reachable, list_topic_partitions, resolve_partitions
from .errors import InvalidInputError, OpsError
from .groups import (
    assert_inactive,
    committed_offsets,
    describe_group_raw,
    list_offsets,
    wait_group_request,
)
from .plan import TP, PartitionState, ResetPlan, ResetSpec, TopicSelection, plan_reset
from .timeparse import TimeSpec


@dataclass(frozen=True)
class QueriedOffset:
    """One line of ``offsets query``: ``offset`` is ``None`` when no record matches."""

    tp: TP
    offset: int | None
    timestamp: int | None = None

    def line(self) -> str:
        """Return ``topic:partition:offset`` (empty offset when there is none), the
        format of Kafka's ``kafka-get-offsets.sh``."""
        return f"{self.tp.topic}:{self.tp.partition}:{'' if self.offset is None else self.offset}"


def _offset_spec(spec: TimeSpec) -> OffsetSpec:
    if spec.kind == "earliest":
        return OffsetSpec.earliest()
    if spec.kind == "latest":
        return OffsetSpec.latest()
    if spec.kind == "max-timestamp":
        return OffsetSpec.max_timestamp()
    assert spec.timestamp_ms is not None
    return OffsetSpec.for_timestamp(spec.timestamp_ms)


def query_offsets(
    config: ClientConfig, topic: str, partitions: list[int] | None, spec: TimeSpec
) -> list[QueriedOffset]:
    """Resolve ``spec`` to an offset on each selected partition of ``topic``.

    Raises:
        UnknownTopicError, UnknownPartitionError: the selection names nothing real.
        OpsError: the cluster could not be reached or refused.
    """
    check_reachable(config)
    admin = config.admin()
    parts = resolve_partitions(list_topic_partitions(admin, config), topic, partitions)
    res = list_offsets(admin, config, {TP(topic, p): _offset_spec(spec) for p in parts})
    out = []
    for tp in sorted(res):
        off, ts = res[tp]
        out.append(QueriedOffset(tp, off if off >= 0 else None, ts if ts >= 0 else None))
    return out


def partition_states(
    config: ClientConfig,
    tps: Iterable[TP],
    *,
    committed: dict[TP, int] | None = None,
    timestamp_ms: int | None = None,
) -> dict[TP, PartitionState]:
    """Gather log start/end offsets (and optionally a timestamp lookup) of ``tps``.

    Raises:
        OpsError: a request failed.
    """
    admin = config.admin()
    tps = sorted(set(tps))
    starts = list_offsets(admin, config, {tp: OffsetSpec.earliest() for tp in tps})
    ends = list_offsets(admin, config, {tp: OffsetSpec.latest() for tp in tps})
    by_time: dict[TP, tuple[int, int]] = {}
    if timestamp_ms is not None:
        by_time = list_offsets(admin, config, {tp: OffsetSpec.for_timestamp(timestamp_ms)
                                               for tp in tps})
    committed = committed or {}
    out = {}
    for tp in tps:
        found = by_time.get(tp, (-1, -1))[0]
        out[tp] = PartitionState(
            starts[tp][0], ends[tp][0], committed.get(tp), found if found >= 0 else None
        )
    return out


def prepare_reset(
    config: ClientConfig,
    group: str,
    spec: ResetSpec,
    topics: Iterable[TopicSelection] = (),
    *,
    all_topics: bool = False,
    now_ms: int | None = None,
) -> ResetPlan:
    """Compute the new offsets of ``group`` without changing anything.

    The scope is ``topics`` (each topic's selected partitions, or all of them),
    or with ``all_topics`` every partition the group has committed offsets for.
    A ``from-file`` spec supplies its own scope, narrowed by ``topics`` if given.

    Raises:
        InvalidInputError: no scope, or the spec does not fit a partition.
        UnknownTopicError, UnknownPartitionError: the scope names something unknown.
        GroupNotInactiveError: the group has active members.
        OpsError: the cluster could not be reached or refused.
    """
    selections = list(topics)
    if not selections and not all_topics and spec.kind != "from-file":
        raise InvalidInputError("one of --topic or --all-topics is required")
    check_reachable(config)
    admin = config.admin()
    assert_inactive(describe_group_raw(admin, config, group))
    known = list_topic_partitions(admin, config)
    committed = committed_offsets(admin, config, group)

    tps = reset_scope(
        spec, selections, all_topics, known, committed,
        f"nothing to reset: group '{group}' has no committed offsets",
    )

    if spec.kind == "by-duration":
        spec = spec.resolved(now_ms if now_ms is not None else int(time.time() * 1000))
    states = partition_states(
        config,
        tps,
        committed=committed,
        timestamp_ms=spec.timestamp_ms if spec.needs_timestamp_lookup else None,
    )
    return plan_reset(group, spec, states)


def execute_reset(config: ClientConfig, plan: ResetPlan) -> None:
    """Commit ``plan``'s offsets for its group.

    Raises:
        GroupNotInactiveError: a member joined since the plan was made.
        OpsError: the commit failed (for some partition).
    """
    admin = config.admin()
    assert_inactive(describe_group_raw(admin, config, plan.group))
    commit_offsets(config, plan.group, plan.as_dict())


def commit_offsets(config: ClientConfig, group: str, offsets: dict[TP, int]) -> None:
    """Commit ``offsets`` for ``group`` through the AdminClient (AlterConsumerGroupOffsets).

    The broker itself refuses this for a group with active members.

    Raises:
        OpsError: the commit failed (for some partition).
    """
    if not offsets:
        return
    admin = config.admin()
    req = ConsumerGroupTopicPartitions(
        group, [TopicPartition(tp.topic, tp.partition, off) for tp, off in sorted(offsets.items())]
    )
    res = wait_group_request(
        lambda: admin.alter_consumer_group_offsets([req], request_timeout=config.timeout)[group],
        config,
        f"cannot commit offsets of group '{group}'",
    )
    failed = [tp for tp in res.topic_partitions or [] if tp.error is not None]
    if failed:
        tp = failed[0]
        raise OpsError(
            f"cannot commit offset of {tp.topic}-{tp.partition} for group '{group}': "
            f"{tp.error.str()}"
        )


def reset_scope(
    spec: ResetSpec,
    selections: list[TopicSelection],
    all_topics: bool,
    known: dict[str, int],
    current: Iterable[TP],
    nothing_for_all_topics: str,
) -> set[TP]:
    """Return the partitions a reset applies to: a ``from-file`` spec's rows
    (narrowed by ``selections`` if any), else ``current``'s partitions of existing
    topics with ``all_topics``, plus the partitions ``selections`` name.

    Raises:
        UnknownTopicError, UnknownPartitionError: the scope (or any file row, even
            one the selections filter out) names something unknown.
        InvalidInputError: the scope is empty (``nothing_for_all_topics`` with
            ``all_topics``).
    """
    tps: set[TP] = set()
    if spec.kind == "from-file":
        assert spec.file_offsets is not None
        file_tps = set(spec.file_offsets)
        for tp in file_tps:  # validate every row, even ones the scope filters out
            resolve_partitions(known, tp.topic, [tp.partition])
        if selections:
            from .plan import select_tps

            file_tps = set(select_tps(file_tps, selections))
        tps = file_tps
    elif all_topics:
        tps = {tp for tp in current if tp.topic in known}
    for sel in selections if spec.kind != "from-file" else ():
        parts = resolve_partitions(
            known, sel.topic, list(sel.partitions) if sel.partitions is not None else None
        )
        tps.update(TP(sel.topic, p) for p in parts)
    if not tps:
        raise InvalidInputError(
            nothing_for_all_topics
            if all_topics else "nothing to reset: the scope selects no partitions"
        )
    return tps
