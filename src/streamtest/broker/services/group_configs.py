"""Group configs: the GROUP config resource (type 32) of DescribeConfigs and
(Incremental)AlterConfigs, with Kafka 4.x's names, defaults and validation.

Kafka 4.x (KIP-848, KIP-932) lets an operator set a few settings per group:
``kafka-configs.sh --entity-type groups --entity-name G --alter --add-config
share.auto.offset.reset=earliest``. A group config overrides the broker setting
Kafka names as its synonym (``share.record.lock.duration.ms`` overrides
``group.share.record.lock.duration.ms``), and must lie within the broker's own
bounds (``group.share.min.record.lock.duration.ms`` ..
``group.share.max.record.lock.duration.ms``); Kafka's ``GroupConfig`` class is
the model for the table, the messages and the checks below.

* Configs may be set before the group exists (clients set
  ``share.auto.offset.reset`` before their first consumer joins) and are kept
  until they are deleted; they persist with a data directory.
* Values are read at use, so a change applies to a live group at its next
  heartbeat, acquisition or fetch. A value that is outside the broker's bounds
  (the bounds changed since it was set) is clamped to them when read, as Kafka
  4.x's ``GroupConfig.evaluate`` does.

Left out: the ``streams.*`` group configs (no KIP-1071 streams groups here),
``consumer.assignment.interval.ms`` (the KIP-848 coordinator assigns at once) and
the share-group dead-letter queue configs (``errors.deadletterqueue.*``,
KIP-1191); they are refused as unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...protocol.errors import ErrorCode
from ..config import (
    BrokerSettings,
    ConfigError,
    ConfigKey,
    ConfigType,
    Source,
    at_least,
    one_of,
    parse,
)

if TYPE_CHECKING:
    from ..storage.metadata import MetaDocuments

#: DescribeConfigs ``config_source`` of a value set on the group (Kafka's
#: ``ConfigSource.GROUP_CONFIG``).
GROUP_CONFIG_SOURCE = 8
#: The meta namespace group configs persist under.
NAMESPACE = "group_configs"

_DURATION = re.compile(
    r"P(?:(?P<d>[-+]?\d+)D)?"
    r"(?:T(?:(?P<h>[-+]?\d+)H)?(?:(?P<m>[-+]?\d+)M)?(?:(?P<s>[-+]?\d+)(?:[.,](?P<f>\d{0,9}))?S)?)?",
    re.IGNORECASE,
)


def parse_iso_duration_ms(text: str) -> int | None:
    """Return an ISO-8601 duration (``PnDTnHnMn.nS``, as Java's ``Duration.parse``
    reads it) in milliseconds, or ``None`` if ``text`` is not one."""
    sign = 1
    if text[:1] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    m = _DURATION.fullmatch(text)
    if m is None or text.upper() in ("P", "PT") or text.upper().endswith("T"):
        return None
    d, h, mi, s = (int(m.group(k) or 0) for k in ("d", "h", "m", "s"))
    frac = m.group("f") or ""
    nanos = int(frac.ljust(9, "0")) if frac else 0
    if s < 0 or (m.group("s") or "").startswith("-"):
        nanos = -nanos
    total_ms = ((d * 24 + h) * 60 + mi) * 60_000 + s * 1000 + nanos // 1_000_000
    return sign * total_ms


def _auto_offset_reset(value: str) -> str | None:
    if value in ("earliest", "latest"):
        return None
    if value.startswith("by_duration:"):
        ms = parse_iso_duration_ms(value[len("by_duration:") :])
        if ms is not None and ms >= 0:
            return None
    return (
        f"Invalid value `{value}` for configuration share.auto.offset.reset. The value must "
        "be either 'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'."
    )


@dataclass(frozen=True, slots=True)
class GroupConfigKey:
    """One group config.

    Attributes:
        key: name, type, Kafka's default (used when there is no broker synonym),
            documentation and the type-level validator.
        synonym: the broker setting that gives its default, or ``None``.
        bounds: the broker settings holding its minimum and maximum, or ``None``.
    """

    key: ConfigKey
    synonym: str | None = None
    bounds: tuple[str, str] | None = None

    @property
    def name(self) -> str:
        """Return the config's name."""
        return self.key.name


def _int(name: str, synonym: str, low: int, doc: str, bounded: bool = True) -> GroupConfigKey:
    prefix, _, what = synonym.partition(".")[2].partition(".")
    bounds = (f"group.{prefix}.min.{what}", f"group.{prefix}.max.{what}") if bounded else None
    return GroupConfigKey(
        ConfigKey(name, ConfigType.INT, None, doc, at_least(low)), synonym, bounds
    )


#: Kafka 4.x's group configs that this broker honours, by name.
GROUP_CONFIGS: dict[str, GroupConfigKey] = {
    k.name: k
    for k in (
        _int(
            "consumer.session.timeout.ms",
            "group.consumer.session.timeout.ms",
            1,
            "The timeout to detect client failures when using the consumer group protocol.",
        ),
        _int(
            "consumer.heartbeat.interval.ms",
            "group.consumer.heartbeat.interval.ms",
            1,
            "The heartbeat interval given to the members of a consumer group.",
        ),
        _int(
            "share.session.timeout.ms",
            "group.share.session.timeout.ms",
            1,
            "The timeout to detect client failures when using the share group protocol.",
        ),
        _int(
            "share.heartbeat.interval.ms",
            "group.share.heartbeat.interval.ms",
            1,
            "The heartbeat interval given to the members of a share group.",
        ),
        _int(
            "share.record.lock.duration.ms",
            "group.share.record.lock.duration.ms",
            1000,
            "The record acquisition lock duration in milliseconds for share groups.",
        ),
        _int(
            "share.delivery.count.limit",
            "group.share.delivery.count.limit",
            2,
            "The maximum number of delivery attempts for a record delivered to a share group.",
        ),
        _int(
            "share.partition.max.record.locks",
            "group.share.partition.max.record.locks",
            100,
            "Share-group record lock limit per share-partition.",
        ),
        _int(
            "share.assignment.interval.ms",
            "group.share.assignment.interval.ms",
            0,
            "The interval between assignment updates for a share group.",
        ),
        GroupConfigKey(
            ConfigKey(
                "share.auto.offset.reset",
                ConfigType.STRING,
                "latest",
                "The strategy to initialize the share-partition start offset: earliest, "
                "latest, or by_duration:<duration> (ISO8601, PnDTnHnMn.nS, not negative).",
                _auto_offset_reset,
            )
        ),
        GroupConfigKey(
            ConfigKey(
                "share.isolation.level",
                ConfigType.STRING,
                "read_uncommitted",
                'Controls how to read records written transactionally: "read_committed" '
                'delivers only committed transactional records, "read_uncommitted" all.',
                one_of("read_committed", "read_uncommitted"),
            )
        ),
        GroupConfigKey(
            ConfigKey(
                "share.renew.acknowledge.enable",
                ConfigType.BOOLEAN,
                "true",
                "Whether the renew acknowledge type is enabled for the share group.",
            )
        ),
    )
}


class GroupConfigError(Exception):
    """A refused group config change; ``code`` is the Kafka error to answer."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ConfigOp:
    """One config change: ``op`` is 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT (KIP-339)."""

    name: str
    op: int
    value: str | None


SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


class GroupConfigs:
    """Every group's configs: the values set, validated against the broker settings.

    Args:
        settings: the broker settings (synonyms and bounds).
        storage: persists the values (``None``: memory only).
    """

    def __init__(self, settings: BrokerSettings, storage: MetaDocuments | None = None) -> None:
        self.settings = settings
        self.storage = storage
        self._values: dict[str, dict[str, str]] = {}
        #: Called with a group id after its configs changed (the coordinators
        #: re-read timeouts, the share partitions their limits).
        self.listeners: list[Callable[[str], None]] = []
        if storage is not None:
            for group_id, values in storage.load_meta(NAMESPACE).items():
                self._values[group_id] = dict(values)

    # -- reading ----------------------------------------------------------------------

    def overrides(self, group_id: str) -> dict[str, str]:
        """Return the configs set on ``group_id`` (name -> value as set)."""
        return dict(self._values.get(group_id, {}))

    def default_raw(self, name: str) -> str:
        """Return the value a group gets for ``name`` when none is set."""
        spec = GROUP_CONFIGS[name]
        if spec.synonym is not None:
            return str(self.settings.raw(spec.synonym))
        return spec.key.default or ""

    def value(self, group_id: str, name: str) -> Any:
        """Return the effective value of ``name`` for ``group_id``, parsed and clamped
        to the broker's bounds.

        Raises:
            KeyError: not a group config.
        """
        spec = GROUP_CONFIGS[name]
        raw = self._values.get(group_id, {}).get(name)
        if raw is None:
            return parse(spec.key, self.default_raw(name))
        value = parse(spec.key, raw)
        if spec.bounds is not None:
            low, high = (int(self.settings[b]) for b in spec.bounds)
            value = min(max(value, low), high)
        return value

    def groups(self) -> list[str]:
        """Return the ids of the groups that have configs set."""
        return [g for g, v in self._values.items() if v]

    # -- changing --------------------------------------------------------------------

    def alter(self, group_id: str, ops: Iterable[ConfigOp], validate_only: bool = False) -> None:
        """Apply ``ops`` (IncrementalAlterConfigs) to ``group_id``'s configs.

        Raises:
            GroupConfigError: INVALID_REQUEST for an empty group id, a null SET value
                or a repeated name; INVALID_CONFIG for an unknown name, a bad value,
                a value outside the broker's bounds, or APPEND/SUBTRACT (no group
                config is a list).
        """
        ops = list(ops)
        self._check_group_id(group_id)
        names = [op.name for op in ops]
        if len(set(names)) != len(names):
            raise GroupConfigError(ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys")
        new = dict(self._values.get(group_id, {}))
        for op in ops:
            if op.name not in GROUP_CONFIGS:
                raise GroupConfigError(
                    ErrorCode.INVALID_CONFIG, f"Unknown group config name: {op.name}"
                )
            if op.op == SET:
                if op.value is None:
                    raise GroupConfigError(
                        ErrorCode.INVALID_REQUEST, f"Null value not supported for : {op.name}"
                    )
                new[op.name] = op.value
            elif op.op == DELETE:
                new.pop(op.name, None)
            elif op.op in (APPEND, SUBTRACT):
                verb = "APPEND to" if op.op == APPEND else "SUBTRACT from"
                raise GroupConfigError(
                    ErrorCode.INVALID_CONFIG,
                    f"Can't {verb} key {op.name} because its type is not LIST.",
                )
            else:
                raise GroupConfigError(ErrorCode.INVALID_REQUEST, f"Unknown operation type {op.op}")
        self._validate(new)
        if not validate_only:
            self._store(group_id, new)

    def replace(
        self, group_id: str, values: Mapping[str, str], validate_only: bool = False
    ) -> None:
        """Replace ``group_id``'s configs with ``values`` (the legacy AlterConfigs).

        Raises:
            GroupConfigError: as :meth:`alter`.
        """
        self._check_group_id(group_id)
        for name in values:
            if name not in GROUP_CONFIGS:
                raise GroupConfigError(
                    ErrorCode.INVALID_CONFIG, f"Unknown group config name: {name}"
                )
        new = dict(values)
        self._validate(new)
        if not validate_only:
            self._store(group_id, new)

    def delete_group(self, group_id: str) -> None:
        """Forget every config of ``group_id``."""
        if group_id in self._values:
            self._store(group_id, {})

    @staticmethod
    def _check_group_id(group_id: str) -> None:
        if not group_id:
            raise GroupConfigError(
                ErrorCode.INVALID_REQUEST, "Default group resources are not allowed."
            )

    def _validate(self, values: Mapping[str, str]) -> None:
        """Check each value's type and the broker's bounds, then the session timeouts
        against the heartbeat intervals (Kafka's ``GroupConfig.validate``)."""
        parsed: dict[str, Any] = {}
        for name in GROUP_CONFIGS:
            raw = values.get(name)
            try:
                parsed[name] = parse(
                    GROUP_CONFIGS[name].key, raw if raw is not None else self.default_raw(name)
                )
            except ConfigError as exc:
                raise GroupConfigError(ErrorCode.INVALID_CONFIG, str(exc)) from None
        for name in values:
            spec = GROUP_CONFIGS[name]
            if spec.bounds is None:
                continue
            low, high = (int(self.settings[b]) for b in spec.bounds)
            if not low <= parsed[name] <= high:
                raise GroupConfigError(
                    ErrorCode.INVALID_CONFIG,
                    f"{name} must be in the range {low} to {high} inclusive.",
                )
        for kind in ("consumer", "share"):
            session, heartbeat = f"{kind}.session.timeout.ms", f"{kind}.heartbeat.interval.ms"
            if parsed[session] <= parsed[heartbeat]:
                raise GroupConfigError(
                    ErrorCode.INVALID_CONFIG, f"{session} must be greater than {heartbeat}"
                )

    def _store(self, group_id: str, values: dict[str, str]) -> None:
        if values:
            self._values[group_id] = values
        else:
            self._values.pop(group_id, None)
        if self.storage is not None:
            self.storage.put_meta(NAMESPACE, group_id, values or None)
        for fn in self.listeners:
            fn(group_id)

    # -- DescribeConfigs -------------------------------------------------------------------

    def describe(
        self,
        group_id: str,
        keys: Iterable[str] | None = None,
        synonyms: bool = False,
        documentation: bool = False,
    ) -> list[dict[str, Any]]:
        """Return DescribeConfigs rows for ``group_id`` (all configs, or ``keys``).

        Raises:
            GroupConfigError: INVALID_REQUEST for an empty group id.
        """
        if not group_id:
            raise GroupConfigError(ErrorCode.INVALID_REQUEST, "Group name must not be empty")
        wanted = None if keys is None else set(keys)
        values = self._values.get(group_id, {})
        out = []
        for name, spec in GROUP_CONFIGS.items():
            if wanted is not None and name not in wanted:
                continue
            is_set = name in values
            if spec.synonym is not None:
                default_source = self.settings.source(spec.synonym)
            else:
                default_source = Source.DEFAULT_CONFIG
            entry: dict[str, Any] = {
                "name": name,
                "value": values[name] if is_set else self.default_raw(name),
                "read_only": False,
                "is_default": not is_set and default_source == Source.DEFAULT_CONFIG,
                "config_source": GROUP_CONFIG_SOURCE if is_set else int(default_source),
                "is_sensitive": False,
                "synonyms": [],
                "config_type": spec.key.type.value,
                "documentation": spec.key.doc if documentation else None,
            }
            if synonyms:
                rows = entry["synonyms"]
                if is_set:
                    rows.append(
                        {"name": name, "value": values[name], "source": GROUP_CONFIG_SOURCE}
                    )
                rows.append(
                    {
                        "name": spec.synonym or name,
                        "value": self.default_raw(name),
                        "source": int(default_source),
                    }
                )
            out.append(entry)
        return out
