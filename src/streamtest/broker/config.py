"""One table of broker settings, in Kafka's names, with Kafka's defaults and validation.

Every setting the embedded broker reads is declared here once (Kafka's
``KafkaConfig`` / ``ServerConfigs`` / ``GroupCoordinatorConfig`` / ...), with its
type, its default and the rule that validates it. The same table serves:

* ``streamtest broker --setting KEY=VALUE`` (repeatable),
* ``EmbeddedKafka(settings={...})`` and the pytest plugin's ``--kafka-setting``,
* DescribeConfigs on the BROKER resource (name, value, source, read-only,
  sensitive), and the dynamic broker configs that AlterConfigs may change,
* the defaults of topic configs (``log.retention.ms`` is the default of a
  topic's ``retention.ms``; see :data:`TOPIC_DEFAULTS_FROM_BROKER`).

A test broker keeps Kafka's defaults except where a test needs otherwise; each
such value has ``test_default`` set and the reason in ``why`` (the README lists
them). For example ``group.initial.rebalance.delay.ms`` is 3000 in Kafka, which
would add three seconds to every consumer group's first join in a test.

Values are stored as Kafka stores them, as strings, and parsed on read; invalid
values raise :class:`ConfigError` with Kafka's own message text
(``Invalid value X for configuration Y: ...``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1


class ConfigError(ValueError):
    """An unknown setting or an invalid value; the message names the setting."""


class ConfigType(enum.Enum):
    """Kafka's ``ConfigDef.Type`` (DescribeConfigs v3+ reports it as a number)."""

    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9


class Dynamic(enum.Enum):
    """Whether AlterConfigs may change a broker setting at run time (KIP-226)."""

    READ_ONLY = "read-only"
    PER_BROKER = "per-broker"
    CLUSTER_WIDE = "cluster-wide"


Validator = Callable[[Any], str | None]


def at_least(low: float) -> Validator:
    """Return a validator: the value must be ``>= low`` (Kafka's ``Range.atLeast``)."""
    return lambda v: None if v >= low else f"Value must be at least {_num(low)}"


def between(low: float, high: float) -> Validator:
    """Return a validator: ``low <= value <= high`` (Kafka's ``Range.between``)."""
    return lambda v: (
        None
        if low <= v <= high
        else f"Value must be no less than {_num(low)} and no more than {_num(high)}"
    )


def one_of(*choices: str) -> Validator:
    """Return a validator: one of ``choices`` (Kafka's ``ValidString.in``)."""
    return lambda v: None if v in choices else f"String must be one of: {', '.join(choices)}"


def each_of(*choices: str) -> Validator:
    """Return a validator for a list whose every item is one of ``choices``."""

    def check(items: list[str]) -> str | None:
        bad = [i for i in items if i not in choices]
        return f"Invalid value(s) {bad}: must be one of {list(choices)}" if bad else None

    return check


def parse_ip_overrides(text: str) -> dict[str, int]:
    """Return ``max.connections.per.ip.overrides`` (``"ip:count,ip:count"``) as a dict.

    Raises:
        ValueError: an item is not ``address:count`` with a count >= 0.
    """
    out: dict[str, int] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        address, sep, count = item.rpartition(":")
        if not sep or not address or not count.strip().isdigit():
            raise ValueError(f"Invalid override {item!r}: expected address:count")
        out[address.strip()] = int(count)
    return out


def _ip_overrides(text: str) -> str | None:
    try:
        parse_ip_overrides(text)
    except ValueError as exc:
        return str(exc)
    return None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True, slots=True)
class ConfigKey:
    """One broker setting.

    Attributes:
        name: Kafka's name.
        type: Kafka's type.
        default: Kafka's default, as DescribeConfigs shows it (``None``: no value).
        doc: what it does here (one line).
        validator: returns an error message for a bad parsed value, else ``None``.
        dynamic: whether AlterConfigs may change it (KIP-226).
        test_default: the value streamtest uses instead of Kafka's, if any.
        why: why ``test_default`` differs.
        sensitive: hide the value in DescribeConfigs.
    """

    name: str
    type: ConfigType
    default: str | None
    doc: str
    validator: Validator | None = None
    dynamic: Dynamic = Dynamic.READ_ONLY
    test_default: str | None = None
    why: str = ""
    sensitive: bool = False

    @property
    def effective_default(self) -> str | None:
        """Return the default streamtest uses (the test default where there is one)."""
        return self.test_default if self.test_default is not None else self.default


def parse(key: ConfigKey, raw: object) -> Any:
    """Return ``raw`` (a string or a Python value) parsed to ``key``'s type.

    Raises:
        ConfigError: the value has the wrong type or fails the key's validator,
            with Kafka's message text.
    """
    if raw is None:
        return None
    text = _to_text(raw)
    t = key.type

    def bad(reason: str) -> ConfigError:
        return ConfigError(f"Invalid value {text} for configuration {key.name}: {reason}")

    value: Any
    if t is ConfigType.BOOLEAN:
        low = text.strip().lower()
        if low not in ("true", "false"):
            raise bad("Expected value to be either true or false")
        value = low == "true"
    elif t in (ConfigType.INT, ConfigType.SHORT, ConfigType.LONG):
        try:
            value = int(text.strip())
        except ValueError:
            raise bad(f"Not a number of type {t.name}") from None
        limit = {ConfigType.INT: 2**31, ConfigType.SHORT: 2**15, ConfigType.LONG: 2**63}[t]
        if not -limit <= value < limit:
            raise bad(f"Not a number of type {t.name}")
    elif t is ConfigType.DOUBLE:
        try:
            value = float(text.strip())
        except ValueError:
            raise bad("Not a number of type DOUBLE") from None
    elif t is ConfigType.LIST:
        value = [item.strip() for item in text.split(",") if item.strip()]
    else:
        value = text
    if key.validator is not None:
        problem = key.validator(value)
        if problem:
            raise bad(problem)
    return value


def _to_text(raw: object) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, list | tuple):
        return ",".join(str(x) for x in raw)
    return str(raw)


BOOL, STR, INT, LONG, DBL, LST = (
    ConfigType.BOOLEAN,
    ConfigType.STRING,
    ConfigType.INT,
    ConfigType.LONG,
    ConfigType.DOUBLE,
    ConfigType.LIST,
)
SHORT = ConfigType.SHORT
RO, PB, CW = Dynamic.READ_ONLY, Dynamic.PER_BROKER, Dynamic.CLUSTER_WIDE
#: The switch for streamtest's tuned defaults (see its ConfigKey).
_TUNED = "streamtest.tuned.defaults"
_FAST_GROUPS = "a test waits for this on every consumer group; Kafka's value adds seconds"

_KEYS: tuple[ConfigKey, ...] = (
    # -- server and network (KafkaConfig, SocketServerConfigs) -----------------------
    # node.id and process.roles have no default in a KRaft broker: each node sets them.
    ConfigKey(
        "node.id", INT, None, "This node's id (each node of the cluster has its own).", at_least(-1)
    ),
    ConfigKey("broker.id", INT, "-1", "The node's id (the ZooKeeper-era name of node.id)."),
    ConfigKey("broker.rack", STR, None, "Rack of the node (rack-aware clients read it)."),
    ConfigKey(
        "process.roles",
        LST,
        None,
        "KRaft roles; every node here is both broker and controller.",
    ),
    # Kafka 4.x reports listeners as per-broker dynamic and advertised.listeners as
    # read-only (DescribeConfigs on Apache Kafka 4.4); streamtest cannot re-bind a
    # listener at run time, so altering listeners is refused with a message saying so.
    ConfigKey(
        "listeners", LST, "PLAINTEXT://:9092", "Set from host/port by streamtest.", dynamic=PB
    ),
    ConfigKey(
        "advertised.listeners",
        LST,
        None,
        "Set from host/port (or --advertised-host) by streamtest.",
    ),
    ConfigKey(
        "num.network.threads",
        INT,
        "3",
        "Kept for tools; one event loop serves all.",
        at_least(1),
        CW,
    ),
    ConfigKey(
        "num.io.threads", INT, "8", "Kept for tools; one event loop serves all.", at_least(1), CW
    ),
    ConfigKey(
        "socket.request.max.bytes",
        INT,
        "104857600",
        "The largest request frame accepted; a larger size prefix closes the connection.",
        at_least(1),
    ),
    ConfigKey("socket.send.buffer.bytes", INT, "102400", "SO_SNDBUF of client sockets (-1: OS)."),
    ConfigKey(
        "socket.receive.buffer.bytes", INT, "102400", "SO_RCVBUF of client sockets (-1: OS)."
    ),
    ConfigKey(
        "queued.max.requests",
        INT,
        "500",
        "Connections of a listener with a request read but not yet processed before "
        "it stops reading (each connection has at most one in Kafka's queue).",
        at_least(1),
    ),
    ConfigKey(
        "queued.max.request.bytes",
        LONG,
        "-1",
        "Bytes a listener received but did not process, partial frames included, "
        "before it stops reading (-1: no bound); at least socket.request.max.bytes.",
        test_default="268435456",
        why="an embedded broker shares the test process's memory; with Kafka's -1, "
        "clients that send the start of large frames grow it without bound (raised to "
        "socket.request.max.bytes when that is set larger)",
    ),
    ConfigKey(
        "connections.max.idle.ms",
        LONG,
        "600000",
        "Close a connection with no traffic for this long (negative: never).",
    ),
    ConfigKey(
        "max.connections",
        INT,
        str(INT_MAX),
        "Connections a node serves at once; later ones wait unread until one closes.",
        at_least(0),
        CW,
    ),
    ConfigKey(
        "max.connections.per.ip",
        INT,
        str(INT_MAX),
        "Connections per client address; the excess is closed.",
        at_least(0),
        CW,
    ),
    ConfigKey(
        "max.connections.per.ip.overrides",
        STR,
        "",
        "Per-address exceptions to max.connections.per.ip, as 'ip:count,ip:count' "
        "(IP literals; host names are not resolved).",
        _ip_overrides,
        CW,
    ),
    ConfigKey(
        "message.max.bytes",
        INT,
        "1048588",
        "Default of topics' max.message.bytes: the largest record batch.",
        at_least(0),
        CW,
    ),
    ConfigKey(
        "fetch.max.bytes", INT, "57671680", "Cap on a Fetch response's max_bytes.", at_least(1024)
    ),
    ConfigKey(
        "max.request.partition.size.limit",
        INT,
        "2000",
        "Most partitions a DescribeTopicPartitions response holds (it pages past them).",
        at_least(1),
    ),
    ConfigKey("delete.topic.enable", BOOL, "true", "Allow DeleteTopics."),
    ConfigKey(
        "auto.create.topics.enable",
        BOOL,
        "true",
        "Create unknown topics on Metadata requests that allow it.",
    ),
    ConfigKey("num.partitions", INT, "1", "Partitions of auto-created topics.", at_least(1)),
    ConfigKey(
        "default.replication.factor",
        INT,
        "1",
        "Replication factor of auto-created topics (capped at the live nodes).",
        at_least(1),
    ),
    ConfigKey(
        "min.insync.replicas",
        INT,
        "1",
        "Default of topics' min.insync.replicas (acks=all).",
        at_least(1),
        CW,
    ),
    ConfigKey(
        "unclean.leader.election.enable",
        BOOL,
        "false",
        "Default of topics' unclean.leader.election.enable.",
        dynamic=CW,
    ),
    ConfigKey(
        "compression.type",
        STR,
        "producer",
        "Default of topics' compression.type.",
        one_of("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
        CW,
    ),
    ConfigKey(
        "replica.lag.time.max.ms",
        LONG,
        "30000",
        "A follower that has not caught up for this long leaves the ISR.",
        at_least(0),
    ),
    ConfigKey(
        "broker.session.timeout.ms",
        INT,
        "9000",
        "A node that crashed (kill_node) stays registered this long: Metadata still "
        "lists it, as KRaft fences a broker only once its session expires.",
        at_least(1),
    ),
    ConfigKey(
        "replica.fetch.max.bytes", INT, "1048576", "Bytes a follower copies per round.", at_least(0)
    ),
    ConfigKey(
        "controlled.shutdown.enable", BOOL, "true", "A stopping node hands leadership over first."
    ),
    # -- log (LogConfig's server defaults, CleanerConfig) ---------------------------
    ConfigKey("log.dirs", LST, None, "Set from data_dir by streamtest (memory if none)."),
    ConfigKey("log.dir", LST, "/tmp/kafka-logs", "Set from data_dir by streamtest."),
    ConfigKey(
        "log.segment.bytes",
        INT,
        "1073741824",
        "Default of topics' segment.bytes.",
        at_least(14),
        CW,
    ),
    ConfigKey(
        "log.roll.ms", LONG, None, "Default of topics' segment.ms (overrides hours).", dynamic=CW
    ),
    ConfigKey(
        "log.roll.hours", INT, "168", "Default of topics' segment.ms, in hours.", at_least(1)
    ),
    ConfigKey(
        "log.roll.jitter.ms", LONG, None, "Default of topics' segment.jitter.ms.", dynamic=CW
    ),
    ConfigKey(
        "log.roll.jitter.hours", INT, "0", "Default of topics' segment.jitter.ms (h).", at_least(0)
    ),
    ConfigKey(
        "log.retention.ms",
        LONG,
        None,
        "Default of topics' retention.ms (overrides minutes and hours; -1: forever).",
        dynamic=CW,
    ),
    ConfigKey("log.retention.minutes", INT, None, "Default of topics' retention.ms, minutes."),
    ConfigKey("log.retention.hours", INT, "168", "Default of topics' retention.ms, hours."),
    ConfigKey("log.retention.bytes", LONG, "-1", "Default of topics' retention.bytes.", dynamic=CW),
    ConfigKey(
        "log.retention.check.interval.ms",
        LONG,
        "300000",
        "How often retention is applied.",
        at_least(1),
    ),
    ConfigKey(
        "log.segment.delete.delay.ms",
        LONG,
        "60000",
        "Default of topics' file.delete.delay.ms.",
        at_least(0),
        CW,
    ),
    ConfigKey(
        "log.cleanup.policy",
        LST,
        "delete",
        "Default of topics' cleanup.policy.",
        each_of("compact", "delete"),
        CW,
    ),
    ConfigKey(
        "log.index.size.max.bytes",
        INT,
        "10485760",
        "Default of topics' segment.index.bytes.",
        at_least(4),
        CW,
    ),
    ConfigKey(
        "log.index.interval.bytes",
        INT,
        "4096",
        "Default of topics' index.interval.bytes.",
        at_least(0),
        CW,
    ),
    ConfigKey(
        "log.flush.interval.messages",
        LONG,
        str(LONG_MAX),
        "Default of topics' flush.messages: fsync after this many messages.",
        at_least(1),
        CW,
    ),
    ConfigKey("log.flush.interval.ms", LONG, None, "Default of topics' flush.ms.", dynamic=CW),
    ConfigKey(
        "log.flush.scheduler.interval.ms",
        LONG,
        str(LONG_MAX),
        "How often logs are checked for a time-based flush.",
    ),
    ConfigKey(
        "log.flush.offset.checkpoint.interval.ms",
        INT,
        "60000",
        "How often the recovery point is checkpointed.",
        at_least(0),
    ),
    ConfigKey(
        "log.flush.start.offset.checkpoint.interval.ms",
        INT,
        "60000",
        "How often log start offsets are checkpointed.",
        at_least(0),
    ),
    ConfigKey("log.preallocate", BOOL, "false", "Default of topics' preallocate.", dynamic=CW),
    ConfigKey(
        "log.message.timestamp.type",
        STR,
        "CreateTime",
        "Default of topics' message.timestamp.type.",
        one_of("CreateTime", "LogAppendTime"),
        CW,
    ),
    ConfigKey(
        "log.message.timestamp.before.max.ms",
        LONG,
        str(LONG_MAX),
        "Default of topics' message.timestamp.before.max.ms.",
        at_least(0),
        CW,
    ),
    ConfigKey(
        "log.message.timestamp.after.max.ms",
        LONG,
        "3600000",
        "Default of topics' message.timestamp.after.max.ms.",
        at_least(0),
        CW,
    ),
    ConfigKey("log.cleaner.enable", BOOL, "true", "Run the log cleaner (compaction)."),
    ConfigKey("log.cleaner.threads", INT, "1", "Cleaner threads.", at_least(0), CW),
    ConfigKey(
        "log.cleaner.backoff.ms",
        LONG,
        "15000",
        "Sleep of the cleaner when no log is cleanable.",
        at_least(0),
        CW,
    ),
    ConfigKey(
        "log.cleaner.min.cleanable.ratio",
        DBL,
        "0.5",
        "Default of topics' min.cleanable.dirty.ratio.",
        between(0, 1),
        CW,
    ),
    ConfigKey(
        "log.cleaner.min.compaction.lag.ms",
        LONG,
        "0",
        "Default of topics' min.compaction.lag.ms.",
        at_least(0),
        CW,
    ),
    ConfigKey(
        "log.cleaner.max.compaction.lag.ms",
        LONG,
        str(LONG_MAX),
        "Default of topics' max.compaction.lag.ms.",
        at_least(1),
        CW,
    ),
    ConfigKey(
        "log.cleaner.delete.retention.ms",
        LONG,
        "86400000",
        "Default of topics' delete.retention.ms (tombstones).",
        at_least(0),
        CW,
    ),
    ConfigKey(
        "log.cleaner.dedupe.buffer.size",
        LONG,
        "134217728",
        "Memory for the cleaner's key map; a larger dirty section takes passes.",
        dynamic=CW,
    ),
    ConfigKey(
        "log.cleaner.io.buffer.load.factor",
        DBL,
        "0.9",
        "How full the cleaner's key map may get before a pass stops taking segments.",
        dynamic=CW,
    ),
    ConfigKey(
        "replica.high.watermark.checkpoint.interval.ms",
        LONG,
        "5000",
        "How often each node writes its replicas' high watermarks to disk.",
        at_least(1),
    ),
    ConfigKey(
        "log.cleaner.io.buffer.size", INT, "524288", "Cleaner read/write buffer.", at_least(0), CW
    ),
    # -- consumer groups (GroupCoordinatorConfig) ------------------------------------
    ConfigKey(
        "offsets.topic.num.partitions", INT, "50", "Partitions of __consumer_offsets.", at_least(1)
    ),
    ConfigKey(
        "offsets.topic.replication.factor",
        SHORT,
        "3",
        "Replication factor of __consumer_offsets (capped at the live nodes here, "
        "where Kafka refuses to create it).",
        at_least(1),
    ),
    ConfigKey(
        "offsets.topic.segment.bytes",
        INT,
        "104857600",
        "segment.bytes of __consumer_offsets.",
        at_least(1),
    ),
    ConfigKey(
        "offsets.retention.minutes",
        INT,
        "10080",
        "Committed offsets of an empty group expire after this (KIP-211).",
        at_least(1),
    ),
    ConfigKey(
        "offsets.retention.check.interval.ms",
        LONG,
        "600000",
        "How often expired offsets are removed.",
        at_least(1),
    ),
    ConfigKey(
        "offsets.commit.timeout.ms",
        INT,
        "5000",
        "How long an offset commit waits for the offsets topic's replicas.",
        at_least(1),
    ),
    ConfigKey(
        "offset.metadata.max.bytes",
        INT,
        "4096",
        "The largest metadata string of a committed offset.",
    ),
    ConfigKey(
        "group.min.session.timeout.ms",
        INT,
        "6000",
        "Smallest session timeout a classic member may ask for.",
    ),
    ConfigKey(
        "group.max.session.timeout.ms",
        INT,
        "1800000",
        "Largest session timeout a classic member may ask for.",
    ),
    ConfigKey(
        "group.initial.rebalance.delay.ms",
        INT,
        "3000",
        "Wait for more members before the first rebalance of an empty group.",
        test_default="0",
        why=_FAST_GROUPS,
    ),
    ConfigKey("group.max.size", INT, str(INT_MAX), "Most members of a classic group.", at_least(1)),
    ConfigKey(
        "group.coordinator.rebalance.protocols",
        LST,
        "classic,consumer",
        "Group protocols the coordinator serves.",
        each_of("classic", "consumer", "share", "streams"),
    ),
    ConfigKey(
        "group.consumer.session.timeout.ms",
        INT,
        "45000",
        "Session timeout of KIP-848 members.",
        at_least(1),
    ),
    ConfigKey(
        "group.consumer.min.session.timeout.ms",
        INT,
        "45000",
        "Smallest KIP-848 session timeout a group config may set.",
        at_least(1),
    ),
    ConfigKey(
        "group.consumer.max.session.timeout.ms",
        INT,
        "60000",
        "Largest KIP-848 session timeout a group config may set.",
        at_least(1),
    ),
    ConfigKey(
        "group.consumer.heartbeat.interval.ms",
        INT,
        "5000",
        "Heartbeat interval the coordinator gives KIP-848 members.",
        at_least(1),
        test_default="1000",
        why=_FAST_GROUPS,
    ),
    ConfigKey(
        "group.consumer.min.heartbeat.interval.ms",
        INT,
        "5000",
        "Smallest KIP-848 heartbeat interval a group config may set.",
        at_least(1),
        test_default="1000",
        why="must not exceed the tuned heartbeat interval",
    ),
    ConfigKey(
        "group.consumer.max.heartbeat.interval.ms",
        INT,
        "15000",
        "Largest KIP-848 heartbeat interval a group config may set.",
        at_least(1),
    ),
    ConfigKey(
        "group.consumer.max.size",
        INT,
        str(INT_MAX),
        "Most members of a KIP-848 group.",
        at_least(1),
    ),
    ConfigKey(
        "group.consumer.assignors",
        LST,
        "uniform,range",
        "Server-side assignors of KIP-848 groups (the first is the default).",
    ),
    ConfigKey(
        "group.consumer.migration.policy",
        STR,
        "bidirectional",
        "Online migration between classic and consumer groups (KIP-848).",
        one_of("disabled", "downgrade", "upgrade", "bidirectional"),
    ),
    # -- share groups (KIP-932: GroupCoordinatorConfig, ShareGroupConfig) ------------
    ConfigKey(
        "group.share.session.timeout.ms",
        INT,
        "45000",
        "Session timeout of share group members.",
        at_least(1),
    ),
    ConfigKey(
        "group.share.min.session.timeout.ms",
        INT,
        "45000",
        "Smallest share session timeout a group config may set.",
        at_least(1),
    ),
    ConfigKey(
        "group.share.max.session.timeout.ms",
        INT,
        "60000",
        "Largest share session timeout a group config may set.",
        at_least(1),
    ),
    ConfigKey(
        "group.share.heartbeat.interval.ms",
        INT,
        "5000",
        "Heartbeat interval the coordinator gives share group members.",
        at_least(1),
        test_default="1000",
        why=_FAST_GROUPS,
    ),
    ConfigKey(
        "group.share.min.heartbeat.interval.ms",
        INT,
        "5000",
        "Smallest share heartbeat interval a group config may set.",
        at_least(1),
        test_default="1000",
        why="must not exceed the tuned heartbeat interval",
    ),
    ConfigKey(
        "group.share.max.heartbeat.interval.ms",
        INT,
        "15000",
        "Largest share heartbeat interval a group config may set.",
        at_least(1),
    ),
    ConfigKey(
        "group.share.record.lock.duration.ms",
        INT,
        "30000",
        "How long a share consumer holds the records it acquired before they are "
        "released (the acquisition lock).",
        at_least(1000),
    ),
    ConfigKey(
        "group.share.min.record.lock.duration.ms",
        INT,
        "15000",
        "Smallest acquisition lock duration a group config may set.",
        at_least(1000),
    ),
    ConfigKey(
        "group.share.max.record.lock.duration.ms",
        INT,
        "60000",
        "Largest acquisition lock duration a group config may set.",
        at_least(1000),
    ),
    ConfigKey(
        "group.share.delivery.count.limit",
        INT,
        "5",
        "Deliveries of a record to a share group before it is archived.",
        between(2, 10),
    ),
    ConfigKey(
        "group.share.min.delivery.count.limit",
        INT,
        "2",
        "Smallest delivery count limit a group config may set.",
        between(2, 10),
    ),
    ConfigKey(
        "group.share.max.delivery.count.limit",
        INT,
        "10",
        "Largest delivery count limit a group config may set.",
        between(2, 10),
    ),
    ConfigKey(
        "group.share.partition.max.record.locks",
        INT,
        "2000",
        "Records in flight (between the share-partition start and end offsets) per "
        "share partition.",
        at_least(100),
    ),
    ConfigKey(
        "group.share.min.partition.max.record.locks",
        INT,
        "100",
        "Smallest record lock limit a group config may set.",
        at_least(100),
    ),
    ConfigKey(
        "group.share.max.partition.max.record.locks",
        INT,
        "4000",
        "Largest record lock limit a group config may set.",
        at_least(100),
    ),
    ConfigKey(
        "group.share.max.size",
        INT,
        "200",
        "Most members of a share group.",
        between(1, 1000),
    ),
    ConfigKey(
        "group.share.max.share.sessions",
        INT,
        "2000",
        "Share sessions each node keeps (SHARE_SESSION_LIMIT_REACHED beyond).",
        at_least(1),
    ),
    ConfigKey(
        "group.share.assignors",
        LST,
        "simple",
        "Server-side assignors of share groups.",
        each_of("simple"),
    ),
    ConfigKey(
        "group.share.assignment.interval.ms",
        INT,
        "1000",
        "Shortest time between two target assignments of a share group.",
        at_least(0),
        CW,
        test_default="0",
        why="a new share consumer would wait up to a second for its partitions",
    ),
    ConfigKey(
        "group.share.min.assignment.interval.ms",
        INT,
        "0",
        "Smallest assignment interval a group config may set.",
        at_least(0),
    ),
    ConfigKey(
        "group.share.max.assignment.interval.ms",
        INT,
        "15000",
        "Largest assignment interval a group config may set.",
        at_least(0),
    ),
    ConfigKey(
        "share.coordinator.state.topic.num.partitions",
        INT,
        "50",
        "Partitions of __share_group_state.",
        at_least(1),
    ),
    ConfigKey(
        "share.coordinator.state.topic.replication.factor",
        SHORT,
        "3",
        "Replication factor of __share_group_state (capped at the live nodes).",
        at_least(1),
    ),
    ConfigKey(
        "share.coordinator.state.topic.min.isr",
        SHORT,
        "2",
        "min.insync.replicas of __share_group_state (capped at its replicas).",
        at_least(1),
    ),
    ConfigKey(
        "share.coordinator.state.topic.segment.bytes",
        INT,
        "104857600",
        "segment.bytes of __share_group_state.",
        at_least(1),
    ),
    # -- transactions and producers (TransactionStateManagerConfigs, ...) ------------
    ConfigKey(
        "transaction.state.log.num.partitions",
        INT,
        "50",
        "Partitions of __transaction_state.",
        at_least(1),
    ),
    ConfigKey(
        "transaction.state.log.replication.factor",
        SHORT,
        "3",
        "Replication factor of __transaction_state (capped at the live nodes).",
        at_least(1),
    ),
    ConfigKey(
        "transaction.state.log.min.isr",
        INT,
        "2",
        "min.insync.replicas of __transaction_state (capped at its replicas).",
        at_least(1),
    ),
    ConfigKey(
        "transaction.state.log.segment.bytes",
        INT,
        "104857600",
        "segment.bytes of __transaction_state.",
        at_least(1),
    ),
    ConfigKey(
        "transaction.max.timeout.ms",
        INT,
        "900000",
        "The largest transaction.timeout.ms a producer may ask for.",
        at_least(1),
    ),
    ConfigKey(
        "transactional.id.expiration.ms",
        INT,
        "604800000",
        "Forget a transactional id idle this long in a completed state.",
        at_least(1),
    ),
    ConfigKey(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        INT,
        "10000",
        "How often timed-out transactions are looked for.",
        at_least(1),
    ),
    ConfigKey(
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        INT,
        "3600000",
        "How often expired transactional ids are removed.",
        at_least(1),
    ),
    ConfigKey(
        "producer.id.expiration.ms",
        INT,
        "86400000",
        "Forget a partition's idle producer state after this long.",
        at_least(1),
        CW,
    ),
    ConfigKey(
        "producer.id.expiration.check.interval.ms",
        INT,
        "600000",
        "How often idle producer state is looked for.",
        at_least(1),
    ),
    # -- quotas (ClientQuotaManagerConfig) -------------------------------------------
    ConfigKey("quota.window.num", INT, "11", "Samples kept to measure client rates.", at_least(1)),
    ConfigKey("quota.window.size.seconds", INT, "1", "Length of one rate sample.", at_least(1)),
    # -- streamtest's own --------------------------------------------------------------
    ConfigKey(
        "streamtest.controlled.shutdown.drain.ms",
        INT,
        "1000",
        "How long a node stopped with stop_node keeps serving the connections it has "
        "(answering NOT_LEADER_OR_FOLLOWER with the new leader) before it drops them.",
        at_least(0),
    ),
    ConfigKey(
        "streamtest.cluster.id",
        STR,
        "streamtest-cluster-0001",
        "The cluster id reported in Metadata and DescribeCluster.",
    ),
    ConfigKey(
        _TUNED,
        BOOL,
        "true",
        "false: Kafka's own defaults for the settings streamtest tunes for tests "
        "(group.initial.rebalance.delay.ms, heartbeat intervals, ...), reported as "
        "defaults; for suites written against a stock Kafka.",
    ),
    ConfigKey(
        "streamtest.legacy.protocol",
        BOOL,
        "false",
        "Also serve request versions Kafka 4.0 removed that old tools still send "
        "(ListOffsets v0, which Burrow 1.2 hard-codes); off, they close the "
        "connection as on Kafka 4.x.",
    ),
)

#: Every known broker setting, by name.
#: Settings Apache Kafka 4.4 reports in DescribeConfigs on a broker that streamtest
#: reports the same way (name, type, default, whether AlterConfigs may change it)
#: but does not act on: security, listeners and quorum plumbing, metrics, replica
#: fetchers. Tools that read a broker's configs (kafka-configs, UIs, operators) find
#: them; changing one has no effect here.
_REPORTED = "Reported as Kafka reports it; streamtest does not act on it."
_TOPIC_DEFAULT = "Default of the topic config of the same meaning (reported; not acted on)."
_REPORTED_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        "listener.security.protocol.map",
        STR,
        "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT",
        _REPORTED,
        dynamic=PB,
    ),
    ConfigKey("inter.broker.listener.name", STR, None, _REPORTED, dynamic=RO),
    ConfigKey("controller.listener.names", LST, None, _REPORTED, dynamic=RO),
    ConfigKey("security.inter.broker.protocol", STR, "PLAINTEXT", _REPORTED, dynamic=RO),
    ConfigKey("authorizer.class.name", STR, "", _REPORTED, dynamic=RO),
    ConfigKey("sasl.enabled.mechanisms", LST, "GSSAPI", _REPORTED, dynamic=PB),
    ConfigKey("sasl.mechanism.inter.broker.protocol", STR, "GSSAPI", _REPORTED, dynamic=PB),
    ConfigKey("ssl.client.auth", STR, "none", _REPORTED, dynamic=PB),
    ConfigKey(
        "principal.builder.class",
        ConfigType.CLASS,
        "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder",
        _REPORTED,
        dynamic=PB,
    ),
    ConfigKey("request.timeout.ms", INT, "30000", _REPORTED, dynamic=RO),
    ConfigKey("auto.leader.rebalance.enable", BOOL, "true", _REPORTED, dynamic=RO),
    ConfigKey("leader.imbalance.check.interval.seconds", LONG, "300", _REPORTED, dynamic=RO),
    ConfigKey("num.replica.fetchers", INT, "1", _REPORTED, dynamic=CW),
    ConfigKey("num.recovery.threads.per.data.dir", INT, "2", _REPORTED, dynamic=CW),
    ConfigKey("background.threads", INT, "10", _REPORTED, dynamic=CW),
    ConfigKey("replica.fetch.wait.max.ms", INT, "500", _REPORTED, dynamic=RO),
    ConfigKey("replica.socket.timeout.ms", INT, "30000", _REPORTED, dynamic=RO),
    ConfigKey("controller.quorum.voters", LST, "", _REPORTED, dynamic=RO),
    ConfigKey("controller.quorum.bootstrap.servers", LST, "", _REPORTED, dynamic=RO),
    ConfigKey("metadata.log.dir", STR, None, _REPORTED, dynamic=RO),
    ConfigKey("transaction.partition.verification.enable", BOOL, "true", _REPORTED, dynamic=CW),
    ConfigKey("max.connection.creation.rate", INT, "2147483647", _REPORTED, dynamic=CW),
    ConfigKey("broker.heartbeat.interval.ms", INT, "2000", _REPORTED, dynamic=RO),
    ConfigKey(
        "metric.reporters",
        LST,
        "org.apache.kafka.common.metrics.JmxReporter",
        _REPORTED,
        dynamic=CW,
    ),
    ConfigKey("metrics.num.samples", INT, "2", _REPORTED, dynamic=RO),
    ConfigKey("metrics.recording.level", STR, "INFO", _REPORTED, dynamic=RO),
    ConfigKey("metrics.sample.window.ms", LONG, "30000", _REPORTED, dynamic=RO),
    ConfigKey("create.topic.policy.class.name", ConfigType.CLASS, None, _REPORTED, dynamic=RO),
    ConfigKey("alter.config.policy.class.name", ConfigType.CLASS, None, _REPORTED, dynamic=RO),
    ConfigKey("socket.listen.backlog.size", INT, "50", _REPORTED, dynamic=RO),
    ConfigKey("max.incremental.fetch.session.cache.slots", INT, "1000", _REPORTED, dynamic=RO),
    ConfigKey("offsets.load.buffer.size", INT, "5242880", _REPORTED, dynamic=RO),
    ConfigKey("offsets.topic.compression.codec", INT, "0", _REPORTED, dynamic=RO),
    ConfigKey("transaction.state.log.load.buffer.size", INT, "5242880", _REPORTED, dynamic=RO),
    ConfigKey("replica.selector.class", STR, None, _REPORTED, dynamic=RO),
    ConfigKey("remote.log.storage.system.enable", BOOL, "false", _REPORTED, dynamic=RO),
    ConfigKey("compression.gzip.level", INT, "-1", _TOPIC_DEFAULT, dynamic=CW),
    ConfigKey("compression.lz4.level", INT, "9", _TOPIC_DEFAULT, dynamic=CW),
    ConfigKey("compression.zstd.level", INT, "3", _TOPIC_DEFAULT, dynamic=CW),
    ConfigKey("log.local.retention.bytes", LONG, "-2", _TOPIC_DEFAULT, dynamic=CW),
    ConfigKey("log.local.retention.ms", LONG, "-2", _TOPIC_DEFAULT, dynamic=CW),
    ConfigKey("log.remote.copy.lag.bytes", LONG, "-1", _TOPIC_DEFAULT, dynamic=CW),
    ConfigKey("log.remote.copy.lag.ms", LONG, "0", _TOPIC_DEFAULT, dynamic=CW),
    ConfigKey("max.decompressed.message.bytes", INT, "2147483639", _TOPIC_DEFAULT, dynamic=CW),
)

SETTINGS: dict[str, ConfigKey] = {k.name: k for k in (*_KEYS, *_REPORTED_KEYS)}
# A name in both tables would silently describe an enforced setting as "reported,
# not acted on" (the later entry wins); refuse that at import.
assert len(SETTINGS) == len(_KEYS) + len(_REPORTED_KEYS), "a broker setting is defined twice"

#: The broker setting that gives each topic config its default (Kafka's
#: ``ServerTopicConfigSynonyms``); the first synonym that is set wins.
TOPIC_DEFAULTS_FROM_BROKER: dict[str, tuple[str, ...]] = {
    "cleanup.policy": ("log.cleanup.policy",),
    "compression.gzip.level": ("compression.gzip.level",),
    "compression.lz4.level": ("compression.lz4.level",),
    "compression.type": ("compression.type",),
    "compression.zstd.level": ("compression.zstd.level",),
    "delete.retention.ms": ("log.cleaner.delete.retention.ms",),
    "file.delete.delay.ms": ("log.segment.delete.delay.ms",),
    "flush.messages": ("log.flush.interval.messages",),
    "flush.ms": ("log.flush.interval.ms", "log.flush.scheduler.interval.ms"),
    "index.interval.bytes": ("log.index.interval.bytes",),
    "local.retention.bytes": ("log.local.retention.bytes",),
    "local.retention.ms": ("log.local.retention.ms",),
    "max.compaction.lag.ms": ("log.cleaner.max.compaction.lag.ms",),
    "max.decompressed.message.bytes": ("max.decompressed.message.bytes",),
    "max.message.bytes": ("message.max.bytes",),
    "message.timestamp.after.max.ms": ("log.message.timestamp.after.max.ms",),
    "message.timestamp.before.max.ms": ("log.message.timestamp.before.max.ms",),
    "message.timestamp.type": ("log.message.timestamp.type",),
    "min.cleanable.dirty.ratio": ("log.cleaner.min.cleanable.ratio",),
    "min.compaction.lag.ms": ("log.cleaner.min.compaction.lag.ms",),
    "min.insync.replicas": ("min.insync.replicas",),
    "preallocate": ("log.preallocate",),
    "remote.copy.lag.bytes": ("log.remote.copy.lag.bytes",),
    "remote.copy.lag.ms": ("log.remote.copy.lag.ms",),
    "retention.bytes": ("log.retention.bytes",),
    "retention.ms": ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
    "segment.bytes": ("log.segment.bytes",),
    "segment.index.bytes": ("log.index.size.max.bytes",),
    "segment.jitter.ms": ("log.roll.jitter.ms", "log.roll.jitter.hours"),
    "segment.ms": ("log.roll.ms", "log.roll.hours"),
    "unclean.leader.election.enable": ("unclean.leader.election.enable",),
}

#: Unit multipliers of the hour/minute synonyms above, to milliseconds.
_SYNONYM_SCALE = {
    "log.retention.minutes": 60_000,
    "log.retention.hours": 3_600_000,
    "log.roll.hours": 3_600_000,
    "log.roll.jitter.hours": 3_600_000,
}


#: ``(setting, its minimum, its maximum)`` triples Kafka checks against each other.
_BOUNDED: tuple[tuple[str, str, str], ...] = tuple(
    (f"group.{kind}.{what}", f"group.{kind}.min.{what}", f"group.{kind}.max.{what}")
    for kind, what in (
        ("consumer", "session.timeout.ms"),
        ("consumer", "heartbeat.interval.ms"),
        ("share", "session.timeout.ms"),
        ("share", "heartbeat.interval.ms"),
        ("share", "record.lock.duration.ms"),
        ("share", "delivery.count.limit"),
        ("share", "partition.max.record.locks"),
        ("share", "assignment.interval.ms"),
    )
)
#: ``(session timeout, heartbeat interval)`` pairs: the interval must be shorter.
_SESSION_OVER_HEARTBEAT = (
    ("group.consumer.session.timeout.ms", "group.consumer.heartbeat.interval.ms"),
    ("group.share.session.timeout.ms", "group.share.heartbeat.interval.ms"),
)


class Source(enum.IntEnum):
    """Where a value comes from (DescribeConfigs ``config_source``, KIP-226; the
    numbers are Kafka's ``DescribeConfigsResponse.ConfigSource``)."""

    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5


@dataclass(frozen=True, slots=True)
class SettingView:
    """One row of DescribeConfigs on a BROKER resource."""

    name: str
    value: str | None
    source: Source
    read_only: bool
    sensitive: bool
    type: ConfigType
    doc: str


#: The resource name of the cluster-wide default level of dynamic broker configs
#: (a BROKER resource named "" in AlterConfigs and DescribeConfigs, KIP-226).
CLUSTER_DEFAULT = ""


class DynamicConfigError(ConfigError):
    """A dynamic broker config change Kafka refuses (its message text)."""


class BrokerSettings:
    """The settings of one cluster: Kafka's defaults, overridden at start and at run time.

    Values resolve as Kafka resolves them (KIP-226), highest first: a node's own
    dynamic value (BROKER resource ``"N"``), the cluster-wide dynamic default
    (resource ``""``), the static value given at start, the default.

    The nodes of a cluster share one event loop and run each behaviour once (one
    retention sweep, one group coordinator), so a node's own dynamic value is
    reported for that node and takes effect on the behaviour once every node has
    it (always, in a one-node cluster).

    Args:
        overrides: ``{name: value}`` given at start (``--setting``,
            ``EmbeddedKafka(settings=...)``); values may be strings or Python
            values (``True``, ``3``, ``["compact", "delete"]``).

    Raises:
        ConfigError: an unknown name (with the closest known one) or an invalid value.
    """

    def __init__(self, overrides: Mapping[str, object] | None = None) -> None:
        self._static: dict[str, str] = {}
        #: Dynamic values by level: CLUSTER_DEFAULT or a node id as a string.
        self._dynamic: dict[str, dict[str, str]] = {}
        self._node_ids: Callable[[], Iterable[int]] = tuple
        self._cache: dict[str, Any] = {}
        #: Called with ``(level, values)`` after a level's dynamic values change (the
        #: cluster persists them there with a data dir).
        self.on_dynamic_change: Callable[[str, dict[str, str]], None] | None = None
        for name, value in (overrides or {}).items():
            key = self.key(name)
            parse(key, value)
            self._static[name] = _to_text(value)
        self._check_bounds()

    def _check_bounds(self) -> None:
        """Apply Kafka's rules that involve more than one setting (``KafkaConfig``'s
        ``validateValues``, ``GroupCoordinatorConfig`` and ``ShareGroupConfig``
        ``require`` checks), with its messages.

        Raises:
            ConfigError: the settings contradict each other.
        """
        # Kafka refuses to start when a default lies outside its own min/max.
        for value, low, high in _BOUNDED:
            v, lo, hi = self[value], self[low], self[high]
            if v < lo:
                raise ConfigError(f"{value} must be greater than or equal to {low}")
            if v > hi:
                raise ConfigError(f"{value} must be less than or equal to {high}")
        for session, heartbeat in _SESSION_OVER_HEARTBEAT:
            if self[heartbeat] >= self[session]:
                raise ConfigError(f"{heartbeat} must be less than {session}")
        queued = int(self["queued.max.request.bytes"])
        if self.is_set("queued.max.request.bytes") and 0 < queued < int(
            self["socket.request.max.bytes"]
        ):
            raise ConfigError(
                "queued.max.request.bytes must be larger or equal to socket.request.max.bytes"
            )
        if (
            int(self["max.connections.per.ip"]) == 0
            and not self["max.connections.per.ip.overrides"]
        ):
            raise ConfigError(
                "max.connections.per.ip can be set to zero only if "
                "max.connections.per.ip.overrides property is set."
            )

    @staticmethod
    def key(name: str) -> ConfigKey:
        """Return the declaration of ``name``.

        Raises:
            ConfigError: no such setting (the message suggests the closest name).
        """
        found = SETTINGS.get(name)
        if found is None:
            import difflib  # only for the error message

            close = difflib.get_close_matches(name, SETTINGS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"Unknown broker setting {name}{hint}")
        return found

    def bind_nodes(self, node_ids: Callable[[], Iterable[int]]) -> None:
        """Tell the settings how to list the cluster's nodes (per-node values apply
        to the shared behaviour once every node has one)."""
        self._node_ids = node_ids
        self._cache.clear()

    def _per_node(self, name: str, node_id: int | None) -> str | None:
        if node_id is not None:
            return self._dynamic.get(str(node_id), {}).get(name)
        if not any(name in v for level, v in self._dynamic.items() if level != CLUSTER_DEFAULT):
            return None
        values = {self._dynamic.get(str(i), {}).get(name) for i in self._node_ids()}
        return values.pop() if len(values) == 1 else None

    def raw(self, name: str, node_id: int | None = None) -> str | None:
        """Return the effective value of ``name`` as a string (``None``: unset), for
        node ``node_id`` or, with ``None``, for the cluster's shared behaviour."""
        own = self._per_node(name, node_id)
        if own is not None:
            return own
        default = self._dynamic.get(CLUSTER_DEFAULT, {})
        if name in default:
            return default[name]
        if name in self._static:
            return self._static[name]
        key = self.key(name)
        tuned = self._tuned(key)
        return tuned if tuned is not None else key.default

    def __getitem__(self, name: str) -> Any:
        """Return the effective value of ``name``, parsed to its type."""
        try:
            return self._cache[name]
        except KeyError:
            pass
        value = parse(self.key(name), self.raw(name))
        if not any(name in v for level, v in self._dynamic.items() if level != CLUSTER_DEFAULT):
            # (A value some node overrides depends on the node set, which can change.)
            self._cache[name] = value
        return value

    def source(self, name: str, node_id: int | None = None) -> Source:
        """Return where the effective value of ``name`` comes from."""
        if self._per_node(name, node_id) is not None:
            return Source.DYNAMIC_BROKER_CONFIG
        if name in self._dynamic.get(CLUSTER_DEFAULT, {}):
            return Source.DYNAMIC_DEFAULT_BROKER_CONFIG
        if name in self._static:
            return Source.STATIC_BROKER_CONFIG
        key = self.key(name)
        # A tuned default is, to a client, a value set in the broker's properties.
        return (
            Source.STATIC_BROKER_CONFIG if self._tuned(key) is not None else Source.DEFAULT_CONFIG
        )

    def synonyms(self, name: str, node_id: int | None = None) -> list[tuple[str, str, Source]]:
        """Return every level where ``name`` has a value, highest first, as
        DescribeConfigs' synonyms list them: ``(name, value, source)``."""
        key = self.key(name)
        out: list[tuple[str, str, Source]] = []
        own = self._per_node(name, node_id)
        if own is not None:
            out.append((name, own, Source.DYNAMIC_BROKER_CONFIG))
        default = self._dynamic.get(CLUSTER_DEFAULT, {})
        if name in default:
            out.append((name, default[name], Source.DYNAMIC_DEFAULT_BROKER_CONFIG))
        if name in self._static:
            out.append((name, self._static[name], Source.STATIC_BROKER_CONFIG))
        elif self._tuned(key) is not None:
            out.append((name, str(key.test_default), Source.STATIC_BROKER_CONFIG))
        if key.default is not None:
            out.append((name, key.default, Source.DEFAULT_CONFIG))
        return out

    def _tuned(self, key: ConfigKey) -> str | None:
        # streamtest.tuned.defaults=false: Kafka's own defaults everywhere.
        if key.test_default is None or self._static.get(_TUNED, "true").lower() == "false":
            return None
        return key.test_default

    def tuned(self, name: str) -> str | None:
        """Return streamtest's default for ``name`` where it differs from Kafka's and
        tuned defaults are on (``streamtest.tuned.defaults``), else ``None``."""
        return self._tuned(self.key(name))

    def is_set(self, name: str) -> bool:
        """Return whether ``name`` was set explicitly (statically or dynamically)."""
        return (
            name in self._static
            or name in self._dynamic.get(CLUSTER_DEFAULT, {})
            or self._per_node(name, None) is not None
        )

    def dynamic_values(self, level: str = CLUSTER_DEFAULT) -> dict[str, str]:
        """Return the dynamic values of ``level`` (CLUSTER_DEFAULT or a node id)."""
        return dict(self._dynamic.get(level, {}))

    def check_dynamic(
        self, changes: Mapping[str, str | None], level: str = CLUSTER_DEFAULT
    ) -> None:
        """Check dynamic changes as Kafka's ``DynamicBrokerConfig.validateConfigs``
        does, without applying them: read-only keys first, then per-broker keys
        at the cluster-wide level, then each value.

        Names Kafka does not know are accepted (Kafka stores them, unused).

        Raises:
            DynamicConfigError: with Kafka's message.
            ConfigError: an invalid value (Kafka's ``Invalid value ...`` text).
        """
        names = [n for n in changes if n in SETTINGS]
        read_only = [n for n in names if SETTINGS[n].dynamic is Dynamic.READ_ONLY]
        if read_only:
            raise DynamicConfigError(
                f"Cannot update these configs dynamically: {_name_set(read_only)}"
            )
        if level == CLUSTER_DEFAULT:
            per_broker = [n for n in names if SETTINGS[n].dynamic is Dynamic.PER_BROKER]
            if per_broker:
                raise DynamicConfigError(
                    "Cannot update these configs at default cluster level, broker id must "
                    f"be specified: {_name_set(per_broker)}"
                )
        for name in names:
            value = changes[name]
            if value is not None:
                parse(SETTINGS[name], value)

    def set_dynamic(
        self, name: str, value: object | None, level: str | int = CLUSTER_DEFAULT
    ) -> None:
        """Set (or, with ``None``, delete) one dynamic value, as AlterConfigs does.

        Raises:
            ConfigError: unknown, read-only, per-broker at the cluster level, or invalid.
        """
        self.key(name)
        self.alter_dynamic({name: None if value is None else _to_text(value)}, str(level))

    def alter_dynamic(
        self, changes: Mapping[str, str | None], level: str = CLUSTER_DEFAULT
    ) -> None:
        """Apply dynamic changes to ``level`` (``None`` deletes a value) after
        :meth:`check_dynamic`, then call :attr:`on_dynamic_change`.

        Raises:
            ConfigError: see :meth:`check_dynamic`, or the change contradicts
                another setting (then nothing changes).
        """
        self.check_dynamic(changes, level)
        before = {lvl: dict(v) for lvl, v in self._dynamic.items()}
        values = self._dynamic.setdefault(level, {})
        for name, value in changes.items():
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        if not values:
            del self._dynamic[level]
        self._cache.clear()
        try:
            # Rules over several settings (KafkaConfig.validateValues): a change
            # that contradicts another setting changes nothing.
            self._check_bounds()
        except ConfigError:
            self._dynamic = before
            self._cache.clear()
            raise
        if self.on_dynamic_change is not None:
            self.on_dynamic_change(level, dict(values))

    def load_dynamic(self, levels: Mapping[str, Mapping[str, str]]) -> None:
        """Restore persisted dynamic values (``{level: {name: value}}``); a value
        that no longer parses is dropped with the rest kept, as Kafka drops invalid
        persisted configs (``removeInvalidConfigs``)."""
        for level, values in levels.items():
            kept = {}
            for name, value in values.items():
                key = SETTINGS.get(name)
                try:
                    if key is not None:
                        parse(key, value)
                except ConfigError:
                    continue
                kept[name] = str(value)
            if kept:
                self._dynamic[str(level)] = kept
        self._cache.clear()

    def bootstrap_dynamic_defaults(self) -> None:
        """Record the cluster-wide dynamic defaults a new KRaft cluster records.

        With eligible leader replicas (KIP-966, on by default from Kafka 4.1), the
        controller writes ``min.insync.replicas`` as a cluster-level config when
        there is none, copying the static value, so DescribeConfigs reports it as
        DYNAMIC_DEFAULT_BROKER_CONFIG (as Apache Kafka 4.4 does). Nothing is
        written when the cluster already has one (a restart with a data dir).
        """
        default = self._dynamic.setdefault(CLUSTER_DEFAULT, {})
        if "min.insync.replicas" not in default:
            default["min.insync.replicas"] = str(
                self._static.get("min.insync.replicas", SETTINGS["min.insync.replicas"].default)
            )
            self._cache.clear()
            if self.on_dynamic_change is not None:
                self.on_dynamic_change(CLUSTER_DEFAULT, dict(default))

    def set_static(self, name: str, value: object) -> None:
        """Set a value as if it had been given at start (streamtest sets listeners,
        log dirs and node ids this way).

        Raises:
            ConfigError: unknown or invalid.
        """
        parse(self.key(name), value)
        self._static[name] = _to_text(value)
        self._cache.pop(name, None)

    def overrides(self) -> dict[str, str]:
        """Return every value set at start (to hand to a child process)."""
        return dict(self._static)

    def describe(
        self,
        names: Iterable[str] | None = None,
        node_values: Mapping[str, str] | None = None,
        node_id: int | None = None,
    ) -> list[SettingView]:
        """Return DescribeConfigs rows for ``names`` (all settings if ``None``), for
        node ``node_id`` (``None``: the cluster-wide default level).

        ``node_values`` holds what one node sets for itself (its ``node.id``, its
        listeners), reported as static broker configs.
        """
        node_values = node_values or {}
        out = []
        for name in names if names is not None else SETTINGS:
            key = SETTINGS.get(name)
            if key is None:
                continue
            own = node_values.get(name)
            if own is not None and self._per_node(name, node_id) is None:
                value, source = own, Source.STATIC_BROKER_CONFIG
            else:
                value, source = self.raw(name, node_id), self.source(name, node_id)
            out.append(
                SettingView(
                    name,
                    None if key.sensitive else value,
                    source,
                    key.dynamic is Dynamic.READ_ONLY,
                    key.sensitive,
                    key.type,
                    key.doc,
                )
            )
        return out

    def topic_default(self, topic_config: str) -> str | None:
        """Return the broker-side default of a topic config (``log.retention.hours``
        becomes ``retention.ms``), or ``None`` if the broker has none for it."""
        synonyms = TOPIC_DEFAULTS_FROM_BROKER.get(topic_config)
        if not synonyms:
            return None
        for name in synonyms:
            value = self.raw(name)
            if value is None:
                continue
            scale = _SYNONYM_SCALE.get(name)
            return str(int(value) * scale) if scale and int(value) >= 0 else value
        return None


def _name_set(names: Iterable[str]) -> str:
    """Format names as Kafka 4.x's messages do (a Java ``Set``'s ``toString``)."""
    return f"[{', '.join(names)}]"


def parse_setting_line(line: str) -> tuple[str, str]:
    """Split ``KEY=VALUE`` from the command line.

    Raises:
        ConfigError: no ``=``, an empty key, or an unknown key.
    """
    key, sep, value = line.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--setting expects KEY=VALUE, got {line!r}")
    BrokerSettings.key(key)
    return key, value


def tuned_defaults() -> list[ConfigKey]:
    """Return the settings whose streamtest default differs from Kafka's."""
    return [k for k in _KEYS if k.test_default is not None]
