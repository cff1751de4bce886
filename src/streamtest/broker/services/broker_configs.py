"""Dynamic broker configs: AlterConfigs and IncrementalAlterConfigs on BROKER resources.

Kafka 4.x checks a BROKER resource on the broker that receives it
(``ConfigAdminManager.preprocess``) and then stores it in the metadata log, so it
survives restarts (KIP-226). This module does the same checks, with Kafka's error
codes and messages, and applies the change to :class:`~..config.BrokerSettings`
(which a cluster with a data dir persists):

* the resource name is ``""`` (the cluster-wide default level) or the id of the
  node that received the request: ``Unexpected broker id, expected N, but received
  M`` (INVALID_REQUEST), ``Node id must be an integer, but it is: x``;
* a name given twice (``Error due to duplicate config keys``) and a null value
  outside DELETE (``Null value not supported for : a, b``) are INVALID_REQUEST;
* read-only keys (``Cannot update these configs dynamically: [...]``),
  per-broker keys at the cluster level (``Cannot update these configs at default
  cluster level, broker id must be specified: [...]``) and invalid values are
  INVALID_REQUEST, as Kafka answers them (KAFKA-13609 keeps that code);
* the cluster-level ``min.insync.replicas`` cannot be removed (INVALID_CONFIG):
  Kafka keeps it while eligible leader replicas are on (KIP-966);
* APPEND/SUBTRACT on a key that is not a list is INVALID_CONFIG (``Config value
  append is not allowed for config key: x``);
* names Kafka does not know are stored and have no effect, as in Kafka.

Legacy AlterConfigs replaces the whole level: values not named are removed.
One limit of the embedded broker: ``listeners`` is dynamic in Kafka, but a
listener is not re-bound here, so changing it is refused with a message saying so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ...protocol.errors import ErrorCode
from ..config import CLUSTER_DEFAULT, SETTINGS, BrokerSettings, ConfigError, ConfigType

SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3

#: Dynamic in Kafka, but not something the embedded broker can change while running.
_NOT_RECONFIGURABLE = ("listeners",)


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One operation of IncrementalAlterConfigs (``op``: SET, DELETE, APPEND,
    SUBTRACT), or of AlterConfigs (always SET)."""

    name: str
    op: int
    value: str | None


class BrokerConfigError(Exception):
    """A refused change: ``code`` and Kafka's message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def level_of(resource_name: str, node_id: int) -> str:
    """Return the settings level a BROKER resource addresses on node ``node_id``.

    Raises:
        BrokerConfigError: the name is neither empty nor this node's id.
    """
    if resource_name == CLUSTER_DEFAULT:
        return CLUSTER_DEFAULT
    try:
        target = int(resource_name)
    except ValueError:
        raise BrokerConfigError(
            ErrorCode.INVALID_REQUEST, f"Node id must be an integer, but it is: {resource_name}"
        ) from None
    if target != node_id:
        raise BrokerConfigError(
            ErrorCode.INVALID_REQUEST,
            f"Unexpected broker id, expected {node_id}, but received {resource_name}",
        )
    return str(node_id)


def _check_request(changes: Iterable[ConfigChange]) -> list[ConfigChange]:
    changes = list(changes)
    names = [c.name for c in changes]
    if len(set(names)) != len(names):
        raise BrokerConfigError(ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys")
    nulls = [c.name for c in changes if c.op != DELETE and c.value is None]
    if nulls:
        raise BrokerConfigError(
            ErrorCode.INVALID_REQUEST, "Null value not supported for : " + ", ".join(nulls)
        )
    return changes


def _incremental(current: dict[str, str], changes: list[ConfigChange]) -> dict[str, str]:
    """Apply SET/DELETE/APPEND/SUBTRACT to ``current`` as Kafka's
    ``ConfigAdminManager.prepareIncrementalConfigs`` does; return the new values."""
    out = dict(current)
    for c in changes:
        if c.op == SET:
            out[c.name] = c.value or ""
        elif c.op == DELETE:
            out.pop(c.name, None)
        elif c.op in (APPEND, SUBTRACT):
            key = SETTINGS.get(c.name)
            if key is None:
                raise BrokerConfigError(ErrorCode.INVALID_CONFIG, f"Unknown config name: {c.name}")
            verb = "append" if c.op == APPEND else "subtract"
            if key.type is not ConfigType.LIST:
                raise BrokerConfigError(
                    ErrorCode.INVALID_CONFIG,
                    f"Config value {verb} is not allowed for config key: {c.name}",
                )
            base = out.get(c.name, key.default or "")
            items = [x for x in base.split(",") if x]
            given = (c.value or "").split(",")
            if c.op == APPEND:
                items += [v for v in given if v not in items]
            else:
                items = [v for v in items if v not in given]
            out[c.name] = ",".join(items)
        else:
            raise BrokerConfigError(ErrorCode.INVALID_REQUEST, f"Unknown operations type {c.op}")
    return out


def alter_broker_configs(
    settings: BrokerSettings,
    resource_name: str,
    node_id: int,
    changes: Iterable[ConfigChange],
    incremental: bool,
    validate_only: bool,
) -> None:
    """Check and (unless ``validate_only``) apply a BROKER resource's changes,
    received on node ``node_id``.

    Raises:
        BrokerConfigError: Kafka's refusal, with its code and message.
    """
    level = level_of(resource_name, node_id)
    checked = _check_request(changes)
    current = settings.dynamic_values(level)
    if incremental:
        new = _incremental(current, checked)
    else:
        new = {c.name: c.value or "" for c in checked}
    delta: dict[str, str | None] = {n: v for n, v in new.items() if current.get(n) != v}
    delta.update({n: None for n in current if n not in new})
    _validate(settings, delta, level)
    if not validate_only and delta:
        settings.alter_dynamic(delta, level)


def _validate(settings: BrokerSettings, delta: Mapping[str, str | None], level: str) -> None:
    fixed = [n for n in delta if n in _NOT_RECONFIGURABLE]
    if fixed:
        raise BrokerConfigError(
            ErrorCode.INVALID_REQUEST,
            f"Cannot update these configs dynamically: [{', '.join(fixed)}] (streamtest "
            "does not re-bind a listener while it runs; restart it with the new value)",
        )
    try:
        settings.check_dynamic(delta, level)
    except ConfigError as exc:
        raise BrokerConfigError(ErrorCode.INVALID_REQUEST, str(exc)) from None
    # The controller's own check, after the receiving broker's (KIP-966).
    if level == CLUSTER_DEFAULT and "min.insync.replicas" in delta:
        if delta["min.insync.replicas"] is None:
            raise BrokerConfigError(
                ErrorCode.INVALID_CONFIG,
                "Cluster-level min.insync.replicas cannot be removed while ELR is enabled.",
            )
