"""AlterConfigs (key 33), versions 0-2: replaces a resource's whole dynamic config set.

Kafka's legacy, non-incremental semantics: configs not named are reset to their
defaults.

* TOPIC (2): the topic's configs (``services/configs.py``).
* BROKER (4): the dynamic broker configs of the cluster-wide level (name ``""``)
  or of the receiving node (its id), with Kafka's rules for which keys are
  dynamic (``services/broker_configs.py``).
* GROUP (32): the KIP-848/KIP-932 group configs (``services/group_configs.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...protocol.errors import ErrorCode
from ..dispatch import RequestContext, api
from ..services.broker_configs import BrokerConfigError, ConfigChange, alter_broker_configs
from ..services.configs import validate_topic_config
from ..services.group_configs import GroupConfigError, GroupConfigs
from .k32_describe_configs import BROKER, GROUP, TOPIC


def alter_broker(
    ctx: RequestContext, name: str, changes: list[ConfigChange], incremental: bool,
    validate_only: bool,
) -> dict[str, Any]:
    """Alter the BROKER resource ``name`` (see ``services/broker_configs.py``)."""
    res: dict[str, Any] = {"error_code": ErrorCode.NONE, "error_message": None,
                           "resource_type": BROKER, "resource_name": name}
    try:
        alter_broker_configs(ctx.cluster.settings, name, ctx.node.node_id, changes,
                             incremental, validate_only)
    except BrokerConfigError as exc:
        res["error_code"], res["error_message"] = exc.code, str(exc)
    return res


def alter_topic(
    ctx: RequestContext, resource_type: int, name: str, validate_only: bool, compute: Any
) -> dict[str, Any]:
    """Validate and apply ``compute(current_configs) -> (new_configs | error)``."""
    res: dict[str, Any] = {"error_code": ErrorCode.NONE, "error_message": None,
                           "resource_type": resource_type, "resource_name": name}
    if resource_type != TOPIC:
        res["error_code"] = ErrorCode.INVALID_REQUEST
        res["error_message"] = "Only topic configs can be altered on the embedded broker"
        return res
    topic = ctx.cluster.topics.get(name)
    if topic is None:
        res["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        res["error_message"] = f"Topic '{name}' does not exist."
        return res
    new = compute(dict(topic.configs))
    if isinstance(new, tuple):
        res["error_code"], res["error_message"] = new
        return res
    for key, value in new.items():
        problem = validate_topic_config(key, value)
        if problem is not None:
            res["error_code"], res["error_message"] = ErrorCode.INVALID_CONFIG, problem
            return res
    if not validate_only:
        ctx.cluster.topic_service.set_configs(topic, new)
    return res


def alter_group(
    ctx: RequestContext, name: str, validate_only: bool, change: Callable[[GroupConfigs], None]
) -> dict[str, Any]:
    """Apply ``change(group_configs)`` and answer for the GROUP resource ``name``."""
    res: dict[str, Any] = {"error_code": ErrorCode.NONE, "error_message": None,
                           "resource_type": GROUP, "resource_name": name}
    try:
        change(ctx.cluster.group_configs)
    except GroupConfigError as exc:
        res["error_code"], res["error_message"] = exc.code, str(exc)
    return res


@api(33, "AlterConfigs", 0, 2)
def handle_alter_configs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Replace each topic's or broker level's dynamic configs with the given set."""
    responses = []
    for r in request.resources:
        if r.resource_type == BROKER:
            changes = [ConfigChange(c.name, 0, c.value) for c in r.configs]
            responses.append(alter_broker(ctx, r.resource_name, changes, False,
                                          request.validate_only))
            continue
        given = {c.name: c.value for c in r.configs if c.value is not None}
        if r.resource_type == GROUP:
            responses.append(
                alter_group(ctx, r.resource_name, request.validate_only,
                            lambda configs, r=r, given=given: configs.replace(
                                r.resource_name, given, request.validate_only))
            )
            continue
        responses.append(
            alter_topic(ctx, r.resource_type, r.resource_name, request.validate_only,
                        lambda _current, given=given: given)
        )
    return {"throttle_time": 0, "responses": responses}
