"""IncrementalAlterConfigs (key 44), versions 0-1 (KIP-339).

Operations: 0 SET, 1 DELETE (back to default), 2 APPEND and 3 SUBTRACT (for list
configs such as ``cleanup.policy``; subtracting the last value leaves an empty
list, which Kafka 4.x allows).

* TOPIC (2): see ``k33_alter_configs.alter_topic``.
* BROKER (4): dynamic broker configs, see ``services/broker_configs.py``.
* GROUP (32): the group configs of KIP-848 and KIP-932 groups, validated against
  the broker's bounds as Kafka validates them (``services/group_configs.py``).
"""

from __future__ import annotations

from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.broker_configs import ConfigChange
from ..services.configs import TOPIC_CONFIGS
from ..services.group_configs import ConfigOp, GroupConfigs
from .k33_alter_configs import BROKER, GROUP, alter_broker, alter_group, alter_topic

SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def _apply(ops: list[Any]) -> Any:
    def compute(current: dict[str, str]) -> Any:
        for op in ops:
            if op.config_operation == SET:
                if op.value is None:
                    return ErrorCode.INVALID_REQUEST, f"Null value for {op.name}"
                current[op.name] = op.value
            elif op.config_operation == DELETE:
                current.pop(op.name, None)
            elif op.config_operation in (APPEND, SUBTRACT):
                key = TOPIC_CONFIGS.get(op.name)
                base = current.get(op.name, key.default if key and key.default else "")
                items = [x for x in base.split(",") if x]
                for v in (op.value or "").split(","):
                    if op.config_operation == APPEND and v and v not in items:
                        items.append(v)
                    elif op.config_operation == SUBTRACT and v in items:
                        items.remove(v)
                current[op.name] = ",".join(items)
            else:
                return ErrorCode.INVALID_REQUEST, f"Unknown operation {op.config_operation}"
        return current

    return compute


@api(44, "IncrementalAlterConfigs", 0, 1)
def handle_incremental_alter_configs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Apply each resource's config operations."""
    responses = []
    for r in request.resources:
        if r.resource_type == GROUP:
            ops = [ConfigOp(c.name, c.config_operation, c.value) for c in r.configs]
            name, check = r.resource_name, request.validate_only

            def change(configs: GroupConfigs, name: str = name, ops: list[ConfigOp] = ops,
                       check: bool = check) -> None:
                configs.alter(name, ops, check)

            responses.append(alter_group(ctx, name, check, change))
            continue
        if r.resource_type == BROKER:
            changes = [ConfigChange(c.name, c.config_operation, c.value) for c in r.configs]
            responses.append(alter_broker(ctx, r.resource_name, changes, True,
                                          request.validate_only))
            continue
        responses.append(alter_topic(ctx, r.resource_type, r.resource_name,
                                     request.validate_only, _apply(list(r.configs))))
    return {"throttle_time": 0, "responses": responses}
