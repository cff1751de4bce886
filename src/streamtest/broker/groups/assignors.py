"""Server-side partition assignors for KIP-848 consumer groups.

With the consumer group protocol the coordinator, not the group leader,
computes the *target assignment* whenever the group epoch moves (KIP-848,
"Assignment"). A member names the assignor it wants in ``server_assignor``;
Kafka ships two, and so do we:

* ``uniform`` (the default, as ``group.consumer.assignors`` lists it first):
  spreads every subscribed partition over the members subscribed to its topic
  so that member loads differ by at most one where subscriptions allow, while
  keeping as many partitions as possible where they already are (sticky).
* ``range``: per topic, members subscribed to it (sorted by member id) get
  contiguous ranges, the first ``n % m`` one partition more, as the classic
  ``RangeAssignor`` does. Unlike Kafka's server-side range assignor it does not
  try to be sticky; a test that needs stickiness should use ``uniform``.

An assignor is a pure function from subscriptions and topic sizes to an
assignment; it knows nothing about epochs or reconciliation (``consumer.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

TopicPartitions = dict[uuid.UUID, set[int]]
#: member id -> topic id -> partitions.
Assignment = dict[str, TopicPartitions]


@dataclass(slots=True)
class MemberSpec:
    """What an assignor knows about one member."""

    subscribed_topic_ids: frozenset[uuid.UUID]
    current: TopicPartitions = field(default_factory=dict)


AssignorFn = Callable[[Mapping[str, MemberSpec], Mapping[uuid.UUID, int]], Assignment]


def range_assign(members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, int]) -> Assignment:
    """Assign each topic's partitions to its subscribers in contiguous ranges.

    Returns:
        The target assignment of every member (possibly empty).
    """
    out: Assignment = {m: {} for m in members}
    for topic_id in sorted(topics, key=str):
        subscribers = sorted(
            m for m, spec in members.items() if topic_id in spec.subscribed_topic_ids
        )
        if not subscribers:
            continue
        n = topics[topic_id]
        per, extra = divmod(n, len(subscribers))
        start = 0
        for i, member in enumerate(subscribers):
            count = per + (1 if i < extra else 0)
            if count:
                out[member][topic_id] = set(range(start, start + count))
            start += count
    return out


def uniform_assign(
    members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, int]
) -> Assignment:
    """Spread partitions evenly over eligible members, keeping current owners where possible.

    Three passes: keep every still-valid current partition (each partition to one
    member only); give each unassigned partition to the least-loaded member
    subscribed to its topic; then move partitions from the most- to the
    least-loaded eligible members until no member has two more than another
    member that could take one of its partitions. Each move lowers the sum of
    squared loads, so the last pass ends.

    Returns:
        The target assignment of every member (possibly empty).
    """
    order = sorted(members)
    owner: dict[tuple[uuid.UUID, int], str] = {}
    load = dict.fromkeys(order, 0)
    # Pass 1: stickiness.
    for m in order:
        spec = members[m]
        for topic_id, parts in spec.current.items():
            if topic_id not in spec.subscribed_topic_ids or topic_id not in topics:
                continue
            for p in sorted(parts):
                if p < topics[topic_id] and (topic_id, p) not in owner:
                    owner[(topic_id, p)] = m
                    load[m] += 1
    # Pass 2: unassigned partitions to the least-loaded eligible member.
    eligible: dict[uuid.UUID, list[str]] = {
        t: [m for m in order if t in members[m].subscribed_topic_ids] for t in topics
    }
    for topic_id in sorted(topics, key=str):
        if not eligible[topic_id]:
            continue
        for p in range(topics[topic_id]):
            if (topic_id, p) in owner:
                continue
            m = min(eligible[topic_id], key=lambda x: (load[x], order.index(x)))
            owner[(topic_id, p)] = m
            load[m] += 1
    # Pass 3: balance.
    moved = True
    while moved:
        moved = False
        for m in sorted(order, key=lambda x: -load[x]):
            mine = sorted(
                (tp for tp, o in owner.items() if o == m), key=lambda tp: (str(tp[0]), -tp[1])
            )
            for tp in mine:
                candidates = [x for x in eligible[tp[0]] if load[x] <= load[m] - 2]
                if not candidates:
                    continue
                target = min(candidates, key=lambda x: (load[x], order.index(x)))
                owner[tp] = target
                load[m] -= 1
                load[target] += 1
                moved = True
                break
            if moved:
                break
    out: Assignment = {m: {} for m in order}
    for (topic_id, p), m in owner.items():
        out[m].setdefault(topic_id, set()).add(p)
    return out


#: The server-side assignors by name; the first is the default (Kafka's order).
ASSIGNORS: dict[str, AssignorFn] = {"uniform": uniform_assign, "range": range_assign}
DEFAULT_ASSIGNOR = "uniform"
