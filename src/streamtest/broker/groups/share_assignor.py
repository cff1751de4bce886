"""The ``simple`` assignor of share groups (KIP-932), Kafka's only share assignor.

In a share group a partition may be assigned to several members at once: the
share partition hands each record to one of them. Kafka's ``SimpleAssignor``
follows two principles, balance first and stickiness second:

* each partition of a topic is shared by ``ceil(subscribers / partitions)``
  members, so that when a topic has more subscribers than partitions every
  member still gets one (four consumers on one partition all read it);
* the assignments of a topic are spread so that its subscribers' counts differ
  by at most one, and a partition stays with the members that already have it
  where balance allows.

This is our own greedy construction of those principles (not Kafka's builder,
step for step); it handles members subscribed to different topics by balancing
each topic over its own subscribers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from .assignors import Assignment, MemberSpec


def simple_assign(members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, int]) -> Assignment:
    """Assign every partition of the subscribed topics to one or more members.

    Args:
        members: member id -> subscribed topic ids and current assignment.
        topics: topic id -> partition count (existing subscribed topics only).

    Returns:
        The target assignment of every member (possibly empty).
    """
    out: Assignment = {m: {} for m in members}
    load = dict.fromkeys(members, 0)
    for topic_id in sorted(topics, key=str):
        subscribers = sorted(
            m for m, spec in members.items() if topic_id in spec.subscribed_topic_ids
        )
        partitions = topics[topic_id]
        if not subscribers or partitions <= 0:
            continue
        sharing = max(1, -(-len(subscribers) // partitions))
        quota = -(-(partitions * sharing) // len(subscribers))
        in_topic = dict.fromkeys(subscribers, 0)
        for p in range(partitions):
            chosen: list[str] = []
            owners = [m for m in subscribers if p in members[m].current.get(topic_id, ())]
            for m in sorted(owners, key=lambda m: (in_topic[m], load[m], m)):
                if len(chosen) < sharing and in_topic[m] < quota:
                    chosen.append(m)
            for m in sorted(subscribers, key=lambda m: (in_topic[m], load[m], m)):
                if len(chosen) >= sharing:
                    break
                if m not in chosen:
                    chosen.append(m)
            for m in chosen:
                out[m].setdefault(topic_id, set()).add(p)
                in_topic[m] += 1
                load[m] += 1
    return out
