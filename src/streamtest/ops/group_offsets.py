"""Deleting some of a group's committed offsets (``groups delete-offsets``)."""

from __future__ import annotations

from collections.abc import Iterable

from ..protocol.errors import error_name
from .client import ClientConfig, check_reachable, list_topic_partitions, resolve_partitions
from .errors import OpsError, UnknownGroupError
from .plan import TP, TopicSelection
from .wire import offset_delete

_GROUP_ID_NOT_FOUND = 69
_GROUP_SUBSCRIBED_TO_TOPIC = 86


def delete_offsets(
    config: ClientConfig, group: str, selections: Iterable[TopicSelection]
) -> list[tuple[TP, str]]:
    """Delete ``group``'s committed offsets on the selected partitions (a topic without
    partitions means all of its partitions).

    Returns:
        ``(TP, status)`` per partition: ``Successful`` or Kafka's error name.

    Raises:
        UnknownTopicError, UnknownPartitionError: the selection names nothing real.
        UnknownGroupError: the group does not exist.
        OpsError: the group is still subscribed to a topic, or a request failed.
    """
    check_reachable(config)
    known = list_topic_partitions(config.admin(), config)
    wanted: dict[str, list[int]] = {}
    for sel in selections:
        parts = resolve_partitions(
            known, sel.topic, list(sel.partitions) if sel.partitions is not None else None
        )
        wanted.setdefault(sel.topic, [])
        wanted[sel.topic] = sorted(set(wanted[sel.topic]) | set(parts))
    code, results = offset_delete(config, group, wanted)
    if code == _GROUP_ID_NOT_FOUND:
        raise UnknownGroupError(f"Consumer group '{group}' does not exist.")
    if code:
        raise OpsError(f"cannot delete offsets of group '{group}': {error_name(code)}")
    out = []
    for topic, parts in sorted(wanted.items()):
        for p in parts:
            err = results.get((topic, p), 0)
            out.append((TP(topic, p), "Successful" if err == 0 else error_name(err)))
    return out
