"""The control plane as named commands: one table for thread mode, process mode and
the ``streamtest cluster`` endpoint.

``EmbeddedKafka`` in thread mode runs :func:`execute` on the cluster's loop; in
process mode it sends ``(op, args)`` to the child, which runs the same function;
a running ``streamtest broker`` answers the JSON commands of ``streamtest
cluster`` with it too. What a test can do therefore cannot differ between them.

Every command returns plain data (or ``None``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from . import inspect as inspection
from .faults import Fault
from .intercept import Interception

if TYPE_CHECKING:
    from .cluster import Cluster

#: Builds the function an intercept hook calls, from its id (process mode: a proxy
#: that asks the parent process; thread mode never uses it).
HookFactory = Callable[[int], Callable[..., Awaitable[Any]]]


def _records(cluster: Cluster, topic: str, partition: int | None = None,
             read_committed: bool = False) -> Any:
    return inspection.records(cluster, topic, partition, read_committed)


def _create_topic(cluster: Cluster, name: str, partitions: int | None = None,
                  config: dict[str, str] | None = None,
                  replication_factor: int | None = None) -> None:
    inspection.create_topic(cluster, name, partitions, config, replication_factor)


def _advance(cluster: Cluster, seconds: float) -> None:
    advance = getattr(cluster.clock, "advance", None)
    if advance is None:
        raise RuntimeError("advance() needs the manual clock (clock='manual')")
    advance(float(seconds))


def _add_fault(cluster: Cluster, **spec: Any) -> dict[str, Any]:
    return cluster.faults.add(Fault(**spec)).describe()


def _remove_fault(cluster: Cluster, fault_id: int) -> dict[str, Any] | None:
    found = cluster.faults.remove(fault_id)
    return None if found is None else found.describe()


def _list_faults(cluster: Cluster) -> list[dict[str, Any]]:
    return [f.describe() for f in cluster.faults.list()]


def _clear_faults(cluster: Cluster) -> None:
    cluster.faults.clear()


#: Commands that need no hook factory, by name.
COMMANDS: dict[str, Callable[..., Any]] = {
    "topics": lambda c: inspection.topic_names(c),
    "records": _records,
    "create_topic": _create_topic,
    "advance": _advance,
    "status": lambda c: c.control.status(),
    "node_ids": lambda c: c.node_ids(),
    "bootstrap_servers": lambda c: c.bootstrap_servers,
    "control_address": lambda c: None
    if c.control_endpoint is None
    else c.control_endpoint.address,
    "stop_node": lambda c, node_id: c.control.stop_node(int(node_id)),
    "start_node": lambda c, node_id: c.control.start_node(int(node_id)),
    "kill_node": lambda c, node_id: c.control.kill_node(int(node_id)),
    "isolate_node": lambda c, node_id: c.control.isolate_node(int(node_id)),
    "reconnect_node": lambda c, node_id: c.control.reconnect_node(int(node_id)),
    "add_node": lambda c: c.control.add_node(),
    "remove_node": lambda c, node_id: c.control.remove_node(int(node_id)),
    "leader": lambda c, topic, partition: c.control.leader(topic, int(partition)),
    "move_leader": lambda c, topic, partition, node_id: c.control.move_leader(
        topic, int(partition), int(node_id)
    ),
    "shuffle_leaders": lambda c: c.control.shuffle_leaders(),
    "share_group_state": lambda c, group: c.shares.snapshot(group),
    "add_fault": _add_fault,
    "remove_fault": _remove_fault,
    "list_faults": _list_faults,
    "clear_faults": _clear_faults,
}


async def execute(
    cluster: Cluster, op: str, args: dict[str, Any], hook_factory: HookFactory | None = None
) -> Any:
    """Run command ``op`` with ``args`` on the cluster's loop; return its result.

    Raises:
        KeyError: an unknown command (or, from a command, an unknown topic).
        ValueError: bad arguments (an unknown node, a bad fault, ...).
    """
    if op == "add_hook":
        if hook_factory is None:
            raise ValueError("intercept hooks need a hook factory here")
        hook = Interception(
            args.get("api"),
            hook_factory(int(args["hook_id"])),
            args.get("when", "before"),
            bool(args.get("keep", False)),
            args.get("node"),
        )
        hook.hook_id = int(args["hook_id"])
        cluster.interceptors.add(hook)
        return hook.hook_id
    if op == "remove_hook":
        found = cluster.interceptors.remove(int(args["hook_id"]))
        return None if found is None else found.calls
    fn = COMMANDS.get(op)
    if fn is None:
        raise KeyError(f"unknown command {op!r}")
    result = fn(cluster, **args)
    if inspect.isawaitable(result):
        result = await result
    return result
