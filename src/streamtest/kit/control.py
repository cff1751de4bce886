"""A client of the control endpoint: operate a cluster that another process runs.

``streamtest broker`` and ``EmbeddedKafka(control_port=...)`` open a control
endpoint on loopback (JSON lines; see ``streamtest.broker.control_endpoint``).
:class:`ControlClient` offers the same node, leadership and fault operations as
``EmbeddedKafka`` against it, so a test suite that runs against a cluster it did
not start (as ``streamtest demo`` runs the churn scenarios) can still stop nodes
and move leaders::

    control = ControlClient("127.0.0.1:19092")
    leader = control.leader("orders", 0)
    control.kill_node(leader)
"""

from __future__ import annotations

import json
import socket
from typing import Any


class ControlError(RuntimeError):
    """The endpoint refused a command, or could not be reached (one-line message)."""


class ControlClient:
    """Commands for the control endpoint at ``address`` (``host:port``).

    Args:
        address: the endpoint, as the broker prints it.
        timeout: seconds to wait for each answer.
    """

    def __init__(self, address: str, timeout: float = 60.0) -> None:
        self.address = address
        self.timeout = timeout

    def call(self, op: str, **args: Any) -> Any:
        """Run one command and return its result.

        Raises:
            ControlError: the endpoint is unreachable or refused the command.
        """
        host, _, port = self.address.rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), self.timeout) as sock:
                sock.sendall((json.dumps({"op": op, "args": args}) + "\n").encode())
                line = sock.makefile("rb").readline()
        except (OSError, ValueError) as exc:
            detail = getattr(exc, "strerror", None) or exc
            raise ControlError(
                f"cannot reach the control endpoint {self.address}: {detail}"
            ) from None
        if not line:
            raise ControlError(f"the control endpoint {self.address} closed the connection")
        reply = json.loads(line)
        if "error" in reply:
            raise ControlError(reply["error"])
        return reply["result"]

    # The operations, as on EmbeddedKafka.

    def cluster_status(self) -> dict[str, Any]:
        """Return the nodes and every partition's leader, replicas and ISR."""
        return dict(self.call("status"))

    @property
    def node_ids(self) -> list[int]:
        """Return the node ids."""
        return list(self.call("node_ids"))

    def stop_node(self, node_id: int) -> None:
        """Shut a node down cleanly."""
        self.call("stop_node", node_id=node_id)

    def kill_node(self, node_id: int) -> None:
        """Crash a node (it loses what it had not flushed)."""
        self.call("kill_node", node_id=node_id)

    def start_node(self, node_id: int) -> None:
        """Restart a stopped or killed node."""
        self.call("start_node", node_id=node_id)

    def isolate_node(self, node_id: int) -> None:
        """Cut a node off from the others."""
        self.call("isolate_node", node_id=node_id)

    def reconnect_node(self, node_id: int) -> None:
        """Undo :meth:`isolate_node`."""
        self.call("reconnect_node", node_id=node_id)

    def add_node(self) -> int:
        """Add a node; return its id."""
        return int(self.call("add_node"))

    def remove_node(self, node_id: int) -> None:
        """Stop a node and take it out of the cluster."""
        self.call("remove_node", node_id=node_id)

    def leader(self, topic: str, partition: int) -> int:
        """Return the node that leads ``topic``/``partition`` (-1: none)."""
        return int(self.call("leader", topic=topic, partition=partition))

    def move_leader(self, topic: str, partition: int, node_id: int) -> None:
        """Make ``node_id`` the leader of ``topic``/``partition``."""
        self.call("move_leader", topic=topic, partition=partition, node_id=node_id)

    def shuffle_leaders(self) -> int:
        """Move every partition that can move; return how many moved."""
        return int(self.call("shuffle_leaders"))

    def add_fault(self, api: int | str, error: int | str, **where: Any) -> int:
        """Inject a fault (``topic``, ``partition``, ``node``, ``count`` as for
        ``EmbeddedKafka.faults.add``); return its id."""
        return int(self.call("add_fault", api=api, error=error, **where)["id"])

    def clear_faults(self) -> None:
        """Remove every fault."""
        self.call("clear_faults")
