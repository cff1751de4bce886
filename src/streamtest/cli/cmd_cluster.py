"""``streamtest cluster``: operate a running ``streamtest broker`` through its control
endpoint: node state, leadership and injected faults."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from ._app import main

DEFAULT_CONTROL = "127.0.0.1:19092"


def _call(ctx: click.Context, op: str, **args: Any) -> Any:
    from ..kit.control import ControlClient, ControlError

    try:
        return ControlClient(ctx.obj["control"]).call(op, **args)
    except ControlError as exc:
        hint = ""
        if str(exc).startswith("cannot reach"):
            hint = " (is `streamtest broker` running? it prints its endpoint on start)"
        raise click.ClickException(f"{exc}{hint}") from None


@main.group()
@click.option("--control", default=lambda: os.environ.get("STREAMTEST_CONTROL", DEFAULT_CONTROL),
              show_default=DEFAULT_CONTROL, metavar="HOST:PORT",
              help="Control endpoint of the broker (also STREAMTEST_CONTROL).")
@click.pass_context
def cluster(ctx: click.Context, control: str) -> None:
    """Operate a running `streamtest broker`: stop, start, kill or isolate nodes,
    move leaders, inject faults."""
    ctx.ensure_object(dict)
    ctx.obj["control"] = control


@cluster.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format (json keys: cluster_id, controller, "
              "nodes[id,address,state,isolated], topics{name: [partition, leader, "
              "leader_epoch, replicas, isr]}).")
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """Show the nodes and every partition's leader, replicas and ISR."""
    data = _call(ctx, "status")
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    nodes = Table(title=f"cluster {data['cluster_id']} (controller {data['controller']})")
    for col in ("node", "address", "state"):
        nodes.add_column(col)
    for n in data["nodes"]:
        state = n["state"] + (" (isolated)" if n["isolated"] else "")
        nodes.add_row(str(n["id"]), n["address"], state)
    console.print(nodes)
    parts = Table(title="partitions")
    for col in ("topic", "partition", "leader", "epoch", "replicas", "isr"):
        parts.add_column(col)
    for name, rows in sorted(data["topics"].items()):
        for p in rows:
            parts.add_row(name, str(p["partition"]), str(p["leader"]), str(p["leader_epoch"]),
                          ",".join(map(str, p["replicas"])), ",".join(map(str, p["isr"])))
    console.print(parts)


def _node_command(name: str, op: str, doc: str) -> None:
    @cluster.command(name=name, help=doc)
    @click.argument("node_id", type=int)
    @click.pass_context
    def command(ctx: click.Context, node_id: int) -> None:
        _call(ctx, op, node_id=node_id)
        click.echo(f"node {node_id}: {name.replace('-node', '')} done")


_node_command("stop-node", "stop_node", "Shut a node down cleanly (its replicas leave the ISRs).")
_node_command("start-node", "start_node", "Restart a stopped or killed node; it catches up.")
_node_command("kill-node", "kill_node", "Crash a node: it also loses what it had not flushed.")
_node_command("isolate-node", "isolate_node", "Cut a node off from the others.")
_node_command("reconnect-node", "reconnect_node", "Undo isolate-node.")
_node_command("remove-node", "remove_node", "Stop a node and take it out of the cluster.")


@cluster.command(name="add-node")
@click.pass_context
def add_node(ctx: click.Context) -> None:
    """Add a node; print its id."""
    click.echo(_call(ctx, "add_node"))


@cluster.command()
@click.argument("topic")
@click.argument("partition", type=int)
@click.pass_context
def leader(ctx: click.Context, topic: str, partition: int) -> None:
    """Print the node that leads TOPIC PARTITION (-1: none)."""
    click.echo(_call(ctx, "leader", topic=topic, partition=partition))


@cluster.command(name="move-leader")
@click.argument("topic")
@click.argument("partition", type=int)
@click.argument("node_id", type=int)
@click.pass_context
def move_leader(ctx: click.Context, topic: str, partition: int, node_id: int) -> None:
    """Make NODE_ID the leader of TOPIC PARTITION (a live in-sync replica)."""
    _call(ctx, "move_leader", topic=topic, partition=partition, node_id=node_id)
    click.echo(f"{topic}-{partition}: leader is now {node_id}")


@cluster.command(name="shuffle-leaders")
@click.pass_context
def shuffle_leaders(ctx: click.Context) -> None:
    """Move every partition that can move to another in-sync replica."""
    click.echo(f"moved {_call(ctx, 'shuffle_leaders')} partition leader(s)")


@cluster.group()
def fault() -> None:
    """Inject errors into requests (see streamtest.faults)."""


@fault.command(name="add")
@click.option("--api", required=True, help="API name or key, e.g. PRODUCE or 0.")
@click.option("--error", required=True, help="Error name or code, e.g. NOT_LEADER_OR_FOLLOWER.")
@click.option("--topic", default=None, help="Only this topic (partition-level APIs).")
@click.option("--partition", type=int, default=None, help="Only this partition of --topic.")
@click.option("--node", type=int, default=None, help="Only requests reaching this node.")
@click.option("--count", type=click.IntRange(1), default=None, help="How many times "
              "(default: until removed).")
@click.pass_context
def fault_add(ctx: click.Context, api: str, error: str, topic: str | None,
              partition: int | None, node: int | None, count: int | None) -> None:
    """Fail matching requests (or partitions of them) with an error; print its id."""
    spec = _call(ctx, "add_fault", api=api, error=error, topic=topic, partition=partition,
                 node=node, count=count)
    click.echo(spec["id"])


@fault.command(name="list")
@click.pass_context
def fault_list(ctx: click.Context) -> None:
    """List the injected faults as JSON lines."""
    for f in _call(ctx, "list_faults"):
        click.echo(json.dumps(f, sort_keys=True))


@fault.command(name="remove")
@click.argument("fault_id", type=int)
@click.pass_context
def fault_remove(ctx: click.Context, fault_id: int) -> None:
    """Remove one fault."""
    if _call(ctx, "remove_fault", fault_id=fault_id) is None:
        raise click.ClickException(f"no fault {fault_id}")


@fault.command(name="clear")
@click.pass_context
def fault_clear(ctx: click.Context) -> None:
    """Remove every fault."""
    _call(ctx, "clear_faults")
