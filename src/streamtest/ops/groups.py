"""Consumer-group administration through confluent-kafka's AdminClient.

The views mirror ``kafka-consumer-groups.sh``: list (optionally with states),
describe offsets / members / state, delete a group, delete some of its offsets.
Group states use Kafka's own names (``Stable``, ``Empty``, ``Dead``, ...).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from .client import ClientConfig, check_reachable, kafka_error_message
from .errors import BrokerUnreachableError, InvalidInputError, OpsError, UnknownGroupError
from .plan import TP

# confluent-kafka's enum names -> the names Kafka prints.
_STATE_NAMES: dict[ConsumerGroupState, str] = {
    ConsumerGroupState.UNKNOWN: "Unknown",
    ConsumerGroupState.PREPARING_REBALANCING: "PreparingRebalance",
    ConsumerGroupState.COMPLETING_REBALANCING: "CompletingRebalance",
    ConsumerGroupState.STABLE: "Stable",
    ConsumerGroupState.DEAD: "Dead",
    ConsumerGroupState.EMPTY: "Empty",
}
_STATE_BY_NAME = {name.lower(): state for state, name in _STATE_NAMES.items()}

#: Group types (KIP-848): ``--type`` names and confluent-kafka's enum.
GROUP_TYPES = ("classic", "consumer", "share")
_TYPE_BY_NAME = {"classic": ConsumerGroupType.CLASSIC, "consumer": ConsumerGroupType.CONSUMER}


def type_name(group_type: Any) -> str:
    """Return Kafka's name (``classic``, ``consumer``) for a confluent-kafka group type."""
    for name, value in _TYPE_BY_NAME.items():
        if group_type == value:
            return name
    return "unknown"


def parse_types(text: str) -> set[str]:
    """Parse a comma-separated, case-insensitive list of group types.

    Raises:
        InvalidInputError: an unknown type.
    """
    out = set()
    for item in text.split(","):
        key = item.strip().lower()
        if not key:
            continue
        if key not in GROUP_TYPES:
            raise InvalidInputError(
                f"unknown group type {item.strip()!r} (known: {', '.join(GROUP_TYPES)})"
            )
        out.add(key)
    return out


#: The states in which a group's offsets may be changed from outside.
INACTIVE_STATES = frozenset({"Empty", "Dead"})


def state_name(state: Any) -> str:
    """Return Kafka's name for a confluent-kafka ``ConsumerGroupState``."""
    return _STATE_NAMES.get(state, str(getattr(state, "name", state)).title())


def parse_states(text: str) -> set[str]:
    """Parse a comma-separated, case-insensitive list of group states.

    Returns:
        Kafka's spelling of each state.

    Raises:
        InvalidInputError: an unknown state name.
    """
    out = set()
    for item in text.split(","):
        key = item.strip().lower()
        if not key:
            continue
        if key not in _STATE_BY_NAME:
            known = ", ".join(sorted(_STATE_NAMES.values()))
            raise InvalidInputError(f"unknown group state {item.strip()!r} (known: {known})")
        out.add(_STATE_NAMES[_STATE_BY_NAME[key]])
    return out


#: Errors of a group request that mean "ask again": the group's coordinator moved,
#: is loading its partition, or is not there yet. Apache Kafka 4.x answers
#: NOT_COORDINATOR now and then (seen by tests/ops against the reference broker).
_COORDINATOR_RETRIABLE = frozenset(
    {
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
    }
)


def wait_group_request(
    submit: Callable[[], Future[Any]], config: ClientConfig, what: str
) -> Any:
    """Return the result of the group request ``submit()`` sends, sending it again
    while the broker answers with a coordinator error that clients retry, until
    ``config.timeout`` has passed; errors are as :func:`wait`'s."""
    deadline = time.monotonic() + config.timeout
    while True:
        future = submit()
        try:
            return future.result(timeout=config.timeout + 5)
        except KafkaException as exc:
            err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if err is None or err.code() not in _COORDINATOR_RETRIABLE:
                return wait(future, config, what)  # raises the one-line error
            if time.monotonic() > deadline:
                raise OpsError(f"{what}: {kafka_error_message(exc)}") from None
            time.sleep(0.1)  # a client's retry backoff, as librdkafka's retry.backoff.ms
        except TimeoutError:
            return wait(future, config, what)


def wait(future: Future[Any], config: ClientConfig, what: str) -> Any:
    """Return ``future``'s result, turning client failures into one-line OpsErrors.

    Raises:
        UnknownGroupError: the broker answered GROUP_ID_NOT_FOUND.
        BrokerUnreachableError: the operation timed out.
        OpsError: any other failure, with Kafka's error name.
    """
    try:
        return future.result(timeout=config.timeout + 5)
    except KafkaException as exc:
        err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        if err is not None and err.code() == KafkaError.GROUP_ID_NOT_FOUND:
            raise UnknownGroupError(f"{what}: group not found") from None
        if err is not None and err.code() in (KafkaError._TIMED_OUT, KafkaError._TRANSPORT):
            raise BrokerUnreachableError(f"{what}: {kafka_error_message(exc)}") from None
        raise OpsError(f"{what}: {kafka_error_message(exc)}") from None
    except TimeoutError:
        raise BrokerUnreachableError(f"{what}: no answer within {config.timeout:g}s") from None


@dataclass(frozen=True)
class GroupListing:
    """One line of ``groups list``."""

    group_id: str
    state: str
    is_simple: bool = False
    type: str = "unknown"


@dataclass(frozen=True)
class MemberInfo:
    """One member of a group and its assigned partitions."""

    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None = None
    assignment: tuple[TP, ...] = ()


@dataclass(frozen=True)
class GroupInfo:
    """A group's description: state, coordinator, assignor and members."""

    group_id: str
    state: str
    assignor: str = ""
    coordinator: str | None = None
    members: tuple[MemberInfo, ...] = ()

    @property
    def exists(self) -> bool:
        """Return whether the broker knows the group (Kafka reports unknown ones as Dead)."""
        return self.state != "Dead"


@dataclass(frozen=True)
class OffsetRow:
    """One row of ``groups describe --offsets``; ``None`` prints as ``-``."""

    group: str
    topic: str
    partition: int
    current_offset: int | None
    log_end_offset: int | None
    lag: int | None
    consumer_id: str | None = None
    host: str | None = None
    client_id: str | None = None


@dataclass
class GroupOffsets:
    """A group's description with its committed offsets and lag per partition."""

    info: GroupInfo
    rows: list[OffsetRow] = field(default_factory=list)


def list_groups(
    config: ClientConfig,
    states: Iterable[str] | None = None,
    types: Iterable[str] | None = None,
) -> list[GroupListing]:
    """Return the cluster's groups, sorted by id, optionally only those in ``states``
    (Kafka state names, as :func:`parse_states` returns) and of ``types``
    (``classic``, ``consumer``, ``share``; as :func:`parse_types` returns).

    Classic and consumer groups are listed through the AdminClient. librdkafka has
    no share group type, so share groups are listed with ListGroups v5 directly
    (PLAINTEXT listeners only).

    Raises:
        OpsError: the cluster could not be reached or refused the request.
    """
    check_reachable(config)
    admin = config.admin()
    wanted_types = set(types or ())
    out: list[GroupListing] = []
    if not wanted_types or wanted_types - {"share"}:
        kwargs: dict[str, Any] = {"request_timeout": config.timeout}
        if states:
            kwargs["states"] = {_STATE_BY_NAME[s.lower()] for s in states}
        if wanted_types - {"share"}:
            kwargs["types"] = {_TYPE_BY_NAME[t] for t in wanted_types - {"share"}}
        result = wait(admin.list_consumer_groups(**kwargs), config, "cannot list groups")
        if result.errors and not result.valid:
            raise OpsError(f"cannot list groups: {kafka_error_message(result.errors[0])}")
        out += [
            GroupListing(
                g.group_id,
                state_name(g.state),
                bool(g.is_simple_consumer_group),
                type_name(getattr(g, "type", None)),
            )
            for g in result.valid
        ]
    if "share" in wanted_types:
        from .wire import list_groups_of_type

        md = admin.list_topics(timeout=config.timeout)
        brokers = [(b.host, b.port) for b in md.brokers.values()]
        for group, state in list_groups_of_type(config, brokers, "share"):
            if not states or state.lower() in {s.lower() for s in states}:
                out.append(GroupListing(group, state, False, "share"))
    return sorted(out, key=lambda g: g.group_id)


def describe_group_raw(admin: AdminClient, config: ClientConfig, group: str) -> GroupInfo:
    """Return ``group``'s description; a group the broker does not know is ``Dead``.

    Raises:
        OpsError: the request failed.
    """
    try:
        d = wait_group_request(
            lambda: admin.describe_consumer_groups([group], request_timeout=config.timeout)[group],
            config,
            f"cannot describe group '{group}'",
        )
    except UnknownGroupError:
        return GroupInfo(group, "Dead")
    members = tuple(
        MemberInfo(
            m.member_id,
            m.client_id,
            m.host,
            m.group_instance_id,
            tuple(sorted(TP(tp.topic, tp.partition) for tp in
                         (m.assignment.topic_partitions if m.assignment else []))),
        )
        for m in d.members
    )
    coord = d.coordinator
    where = f"{coord.host}:{coord.port} ({coord.id})" if coord is not None else None
    return GroupInfo(group, state_name(d.state), d.partition_assignor or "", where, members)


def describe_group(config: ClientConfig, group: str) -> GroupInfo:
    """Return ``group``'s description.

    Raises:
        UnknownGroupError: the group does not exist.
        OpsError: the request failed.
    """
    check_reachable(config)
    info = describe_group_raw(config.admin(), config, group)
    if not info.exists:
        raise UnknownGroupError(f"Consumer group '{group}' does not exist.")
    return info


def committed_offsets(
    admin: AdminClient, config: ClientConfig, group: str, tps: Iterable[TP] | None = None
) -> dict[TP, int]:
    """Return ``group``'s committed offsets (of ``tps``, or of every partition it has
    committed), leaving out partitions with no committed offset.

    Raises:
        OpsError: the request failed.
    """
    wanted = None if tps is None else [TopicPartition(t.topic, t.partition) for t in tps]
    if wanted == []:
        return {}
    req = [ConsumerGroupTopicPartitions(group, wanted)]
    res = wait_group_request(
        lambda: admin.list_consumer_group_offsets(req, request_timeout=config.timeout)[group],
        config,
        f"cannot fetch offsets of group '{group}'",
    )
    out = {}
    for tp in res.topic_partitions or []:
        if tp.error is not None:
            raise OpsError(f"cannot fetch offset of {tp.topic}-{tp.partition}: {tp.error.str()}")
        if tp.offset >= 0:
            out[TP(tp.topic, tp.partition)] = tp.offset
    return out


def list_offsets(
    admin: AdminClient, config: ClientConfig, requests: Mapping[TP, OffsetSpec]
) -> dict[TP, tuple[int, int]]:
    """Run ListOffsets for several partitions at once.

    Returns:
        ``{TP: (offset, timestamp)}``; offset -1 means "no such record" for a
        timestamp lookup.

    Raises:
        OpsError: the request failed for some partition.
    """
    if not requests:
        return {}
    futures = admin.list_offsets(
        {TopicPartition(tp.topic, tp.partition): spec for tp, spec in requests.items()},
        request_timeout=config.timeout,
    )
    out = {}
    for ctp, fut in futures.items():
        res = wait(fut, config, f"cannot list offsets of {ctp.topic}-{ctp.partition}")
        out[TP(ctp.topic, ctp.partition)] = (res.offset, res.timestamp)
    return out


def log_end_offsets(admin: AdminClient, config: ClientConfig, tps: Iterable[TP]) -> dict[TP, int]:
    """Return the log end offset (high watermark) of each partition.

    Raises:
        OpsError: the request failed.
    """
    res = list_offsets(admin, config, {tp: OffsetSpec.latest() for tp in tps})
    return {tp: off for tp, (off, _) in res.items()}


def describe_offsets(config: ClientConfig, group: str) -> GroupOffsets:
    """Return ``groups describe --offsets``: for every partition the group is assigned
    or has committed, the committed offset, log end offset, lag and owner.

    Raises:
        UnknownGroupError: the group does not exist.
        OpsError: a request failed.
    """
    check_reachable(config)
    admin = config.admin()
    info = describe_group_raw(admin, config, group)
    if not info.exists:
        raise UnknownGroupError(f"Consumer group '{group}' does not exist.")
    owners: dict[TP, MemberInfo] = {}
    for m in info.members:
        for tp in m.assignment:
            owners[tp] = m
    committed = committed_offsets(admin, config, group)
    tps = sorted(set(committed) | set(owners))
    ends = log_end_offsets(admin, config, tps)
    rows = []
    for tp in tps:
        cur, end, owner = committed.get(tp), ends.get(tp), owners.get(tp)
        rows.append(
            OffsetRow(
                group,
                tp.topic,
                tp.partition,
                cur,
                end,
                None if cur is None or end is None else max(0, end - cur),
                owner.member_id if owner else None,
                owner.host if owner else None,
                owner.client_id if owner else None,
            )
        )
    return GroupOffsets(info, rows)


def delete_group(config: ClientConfig, group: str) -> None:
    """Delete ``group`` and its committed offsets.

    Raises:
        UnknownGroupError: the group does not exist.
        OpsError: the group is not empty, or the request failed.
    """
    check_reachable(config)
    admin = config.admin()
    futures = admin.delete_consumer_groups([group], request_timeout=config.timeout)
    try:
        wait(futures[group], config, f"cannot delete group '{group}'")
    except UnknownGroupError:
        raise UnknownGroupError(f"Consumer group '{group}' does not exist.") from None
    except OpsError as exc:
        if "NON_EMPTY_GROUP" in str(exc):
            raise OpsError(
                f"Group '{group}' could not be deleted due to: NON_EMPTY_GROUP "
                "(it has active members)"
            ) from None
        raise


def assert_inactive(info: GroupInfo) -> None:
    """Refuse to touch the offsets of a group with active members.

    Raises:
        GroupNotInactiveError: the group is neither Empty nor Dead.
    """
    from .errors import GroupNotInactiveError

    if info.state not in INACTIVE_STATES:
        raise GroupNotInactiveError(
            f"Assignments can only be reset if the group '{info.group_id}' is inactive, "
            f"but the current state is {info.state}."
        )
