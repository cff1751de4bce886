"""The differential fidelity harness: one scenario, two brokers, field-by-field diff.

A scenario is a function of a :class:`Side` (one broker) and, for version sweeps,
a version. It sends requests through ``side.call`` (compared) or ``side.setup``
(not compared, must succeed). The harness runs the same function against Apache
Kafka and against streamtest, so both receive the same bytes, except where a
request carries a value the broker handed out earlier (a member id, a producer
id), and compares the normalised responses.

Normalising takes out what legitimately differs between two clusters: node ids,
hosts, ports, cluster ids, topic ids, producer ids, member ids, timestamps and
throttle times. Each is replaced by a label (``<node>``, ``<uuid-1>``, ...),
assigned in order of appearance on each side, so "the same id twice" is still
checked. Arrays of keyed entries (topics, partitions, configs, groups) are sorted
by their key, as Kafka leaves their order unspecified.

Every difference must be fixed or listed in ``allowlist.txt`` with a reason.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import fnmatch
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamtest.protocol.records import iter_records, parse_header

from .driver import CLOSED, WireClient

ALLOWLIST = Path(__file__).with_name("allowlist.txt")

# -- scenarios -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One differential test: ``fn(side)`` run against both brokers."""

    id: str
    api: int
    fn: Callable[[Side], None]
    doc: str = ""


SCENARIOS: list[Scenario] = []


def scenario(
    api: int, name: str, versions: range | list[int] | dict[str, Any] | None = None
) -> Callable[..., Any]:
    """Register the decorated ``fn(side)`` as scenario ``name`` of API ``api``; with
    ``versions``, ``fn(side, v)`` once per version as ``name/vN`` (or, given a dict,
    once per ``label: value`` as ``name/label``)."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        if versions is None:
            SCENARIOS.append(Scenario(name, api, fn, doc))
            return fn
        cases = versions if isinstance(versions, dict) else {f"v{v}": v for v in versions}
        for label, value in cases.items():
            SCENARIOS.append(
                Scenario(f"{name}/{label}", api, lambda side, v=value: fn(side, v), doc)
            )
        return fn

    return register


class SetupFailed(RuntimeError):
    """A setup step did not succeed on one broker: the scenario cannot compare."""


class Side:
    """One broker as a scenario sees it.

    Args:
        name: ``"kafka"`` or ``"streamtest"``.
        bootstrap: the broker's address.
        prefix: prepended to every topic, group and transactional id, unique to
            this run, so scenarios never meet each other's state (the reference
            broker is shared with other tests).
    """

    def __init__(self, name: str, bootstrap: str, prefix: str) -> None:
        self.name = name
        self.bootstrap = bootstrap
        self.prefix = prefix
        #: This broker's node id (set by the corpus when the run opens).
        self.node_id = -1
        self.observations: list[tuple[str, Any]] = []
        #: Every (api_key, version) this side sent, for the coverage check.
        self.sent: set[tuple[int, int]] = set()
        self.scenario_id = ""
        self._client: WireClient | None = None
        self._extra: list[WireClient] = []

    # -- naming --------------------------------------------------------------------------

    def name_of(self, what: str) -> str:
        """Return the run-unique name of ``what`` for the current scenario."""
        slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", self.scenario_id)
        return f"{self.prefix}{slug}-{what}"

    # -- connections ---------------------------------------------------------------------

    @property
    def client(self) -> WireClient:
        """Return the scenario's main connection (opened on first use)."""
        if self._client is None or self._client.sock is None:
            self._client = WireClient(self.bootstrap).connect()
        return self._client

    def new_client(self) -> WireClient:
        """Return another connection, closed when the scenario ends."""
        client = WireClient(self.bootstrap).connect()
        self._extra.append(client)
        return client

    def close(self) -> None:
        """Close every connection of the scenario."""
        for client in [self._client, *self._extra]:
            if client is not None:
                client.close()
        self._client, self._extra = None, []

    # -- requests ------------------------------------------------------------------------

    def call(
        self,
        api_key: int,
        version: int,
        data: dict[str, Any] | None = None,
        *,
        label: str = "",
        client: WireClient | None = None,
    ) -> Any:
        """Send a request, record its normalised response for comparison, and
        return the decoded body (or ``CLOSED``)."""
        self.sent.add((api_key, version))
        body = (client or self.client).call(api_key, version, data)
        self.observe(label or f"{api_key}v{version}", body)
        return body

    def ask(self, api_key: int, version: int, data: dict[str, Any] | None = None) -> Any:
        """Send a request whose response the scenario compares in part (through
        :meth:`observe`, e.g. only its own groups of a shared broker's list);
        return the decoded body. It counts towards version coverage."""
        self.sent.add((api_key, version))
        return self.client.call(api_key, version, data)

    def call_raw(
        self,
        api_key: int,
        version: int,
        body: bytes,
        *,
        label: str = "",
        flexible: bool | None = None,
        client: WireClient | None = None,
    ) -> Any:
        """Send a hand-made body; record and return the response (or ``CLOSED``)."""
        self.sent.add((api_key, version))
        result = (client or self.client).call_raw(api_key, version, body, flexible=flexible)
        self.observe(label or f"{api_key}v{version}-raw", result)
        return result

    def setup(
        self,
        api_key: int,
        version: int,
        data: dict[str, Any] | None = None,
        *,
        ok: Callable[[Any], bool] | None = None,
        client: WireClient | None = None,
    ) -> Any:
        """Send a request that is not compared; it must succeed (``ok``, or no
        error code anywhere in the response).

        Raises:
            SetupFailed: it did not.
        """
        body = (client or self.client).call(api_key, version, data)
        good = ok(body) if ok is not None else (body is not CLOSED and not _errors(body))
        if not good:
            raise SetupFailed(f"{self.name}: setup {api_key}v{version} got {_short(body)}")
        return body

    def observe(self, label: str, value: Any) -> None:
        """Record ``value`` (a response, or anything derived from one) for comparison."""
        self.observations.append((label, value))

    def retry(
        self,
        api_key: int,
        version: int,
        data: dict[str, Any],
        ok: Callable[[Any], bool],
        timeout: float = 60.0,
    ) -> Any:
        """Repeat a request until ``ok(response)``: for state that Kafka sets up
        asynchronously (a new topic's leader, the offsets topic's coordinator).
        Polls with a deadline (``streamtest.eventually``).

        Raises:
            SetupFailed: still not ok after ``timeout`` seconds.
        """
        from streamtest import eventually

        last: list[Any] = [None]

        def attempt() -> Any:
            last[0] = body = self.client.call(api_key, version, data)
            return body if body is not CLOSED and ok(body) else None

        try:
            return eventually(attempt, timeout=timeout, interval=0.01)
        except AssertionError:
            raise SetupFailed(
                f"{self.name}: {api_key}v{version} never became ready: {_short(last[0])}"
            ) from None

    # -- common setup --------------------------------------------------------------------

    def create_topic(self, what: str = "t", partitions: int = 1, **configs: str) -> str:
        """Create topic ``what`` (run-unique name) and return its name once its
        partitions have leaders."""
        name = self.name_of(what)
        self.setup(
            19,
            5,
            {
                "topics": [
                    {
                        "name": name,
                        "num_partitions": partitions,
                        "replication_factor": 1,
                        "assignments": [],
                        "configs": [
                            {"name": k.replace("_", "."), "value": v} for k, v in configs.items()
                        ],
                    }
                ],
                "timeout": 30000,
                "validate_only": False,
            },
        )
        self.wait_topic(name, partitions)
        return name

    def wait_topic(self, name: str, partitions: int) -> None:
        """Return once Metadata shows ``name`` with ``partitions`` led partitions
        and each partition's leader answers ListOffsets (Kafka's metadata cache
        names a leader a moment before its replica manager serves the partition)."""

        def ready(md: Any) -> bool:
            topics = [t for t in md.topics if t.name == name]
            return bool(
                topics
                and topics[0].error_code == 0
                and len(topics[0].partitions) == partitions
                and all(p.leader_id >= 0 and p.error_code == 0 for p in topics[0].partitions)
            )

        self.retry(3, 12, {"topics": [{"name": name}], "allow_auto_topic_creation": False}, ready)
        request = {
            "replica_id": -1,
            "isolation_level": 0,
            "topics": [
                {
                    "name": name,
                    "partitions": [
                        {"partition_index": p, "current_leader_epoch": -1, "timestamp": -1}
                        for p in range(partitions)
                    ],
                }
            ],
        }
        self.retry(2, 7, request, lambda r: not _errors(r))

    def init_producer(self, transactional_id: str | None = None) -> Any:
        """Return an InitProducerId response (setup; retried while Kafka's producer
        id manager or transaction coordinator is loading)."""
        if transactional_id is not None:
            self.coordinator_ready(transactional_id, 1)
        return self.retry(
            22,
            4,
            {
                "transactional_id": transactional_id,
                "transaction_timeout": 60000,
                "producer_id": -1,
                "producer_epoch": -1,
            },
            lambda r: r.error_code == 0,
        )

    def produce(
        self,
        topic: str,
        batches: list[bytes],
        partition: int = 0,
        acks: int = -1,
        transactional_id: str | None = None,
    ) -> Any:
        """Produce record batches (setup, not compared); return the response."""
        return self.setup(
            0,
            9,
            {
                "transactional_id": transactional_id,
                "acks": acks,
                "timeout": 30000,
                "topic_data": [
                    {
                        "name": topic,
                        "partition_data": [{"index": partition, "records": b"".join(batches)}],
                    }
                ],
            },
        )

    def coordinator_ready(self, key: str, key_type: int = 0) -> None:
        """Return once FindCoordinator for ``key`` answers without error."""
        self.retry(
            10,
            4,
            {"key_type": key_type, "coordinator_keys": [key]},
            lambda r: all(c.error_code == 0 for c in r.coordinators),
        )


def _errors(body: Any) -> list[int]:
    """Return every non-zero ``error_code`` in ``body``."""
    found: list[int] = []

    def walk(value: Any) -> None:
        if dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                v = getattr(value, f.name)
                if f.name == "error_code" and int(v) != 0:
                    found.append(int(v))
                else:
                    walk(v)
        elif isinstance(value, tuple | list):
            for v in value:
                walk(v)

    walk(body)
    return found


def _short(body: Any) -> str:
    text = repr(body)
    return text if len(text) < 400 else text[:397] + "..."


# -- normalising -----------------------------------------------------------------------

#: Fields whose values are node ids: each side's own node becomes ``<node>``.
_NODE_FIELDS = {
    "node_id",
    "leader_id",
    "controller_id",
    "broker_id",
    "coordinator_id",
    "replica_nodes",
    "isr_nodes",
    "offline_replicas",
    "eligible_leader_replicas",
    "last_known_elr",
    "leader",
}
_DROP = {"throttle_time", "throttle_time_ms"}
_HOST_PORT = {"host", "port"}
_TIMESTAMPS = re.compile(r"(^|_)(timestamp|time_ms|log_append_time_ms|start_time_ms)$|^timestamp$")
_LABELLED = {
    "cluster_id": "cluster",
    "producer_id": "pid",
    "member_id": "member",
    "leader": "member",  # JoinGroup's leader is a member id (a string)
    "assigned_member_id": "member",
    "session_id": "session",
    "transactional_id_hash": "txn",
}
#: Values that mean "none" rather than an id, per labelled field. Producer id 0 is
#: a real id (a fresh Apache Kafka hands it out first); only -1 means no producer.
_UNSET: dict[str, tuple[Any, ...]] = {"producer_id": (None, -1)}
_SORT_KEYS = (
    "name",
    "topic",
    "topic_name",
    "partition_index",
    "index",
    "partition",
    "group_id",
    "api_key",
    "node_id",
    "resource_name",
    "member_id",
    "transactional_id",
    "producer_id",
    "key",
    "config_name",
)


class Normaliser:
    """Turns a decoded response into plain data with the cluster-specific values
    replaced by labels; one per side and scenario, so labels are consistent
    across the scenario's responses."""

    def __init__(self, node_ids: set[int], prefix: str) -> None:
        self.node_ids = node_ids
        self.prefix = prefix
        self.labels: dict[tuple[str, Any], str] = {}

    def label(self, kind: str, value: Any) -> str:
        key = (kind, value)
        if key not in self.labels:
            n = sum(1 for k in self.labels if k[0] == kind) + 1
            self.labels[key] = f"<{kind}-{n}>"
        return self.labels[key]

    def __call__(self, value: Any, name: str = "") -> Any:
        if value is CLOSED:
            return "CLOSED"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out: dict[str, Any] = {}
            for f in dataclasses.fields(value):
                if f.name in _DROP:
                    continue
                v = getattr(value, f.name)
                if (
                    f.name == "records"
                    and isinstance(v, bytes | bytearray)
                    or (f.name == "records" and v is None)
                ):
                    out[f.name] = self.records(v)
                else:
                    out[f.name] = self(v, f.name)
            return out
        if isinstance(value, tuple | list):
            # Sort before labelling, so labels follow the sorted order on both sides.
            items = [self(v, name) for v in _sorted_raw(list(value))]
            return _sorted(items)
        if isinstance(value, enum.Enum):
            return f"{value.name}({int(value.value)})" if name == "error_code" else int(value.value)
        if isinstance(value, datetime.datetime):
            return "<ts>"
        if isinstance(value, datetime.timedelta):
            ms = int(value.total_seconds() * 1000)
            return ms
        if isinstance(value, uuid.UUID):
            return "0" if value.int == 0 else self.label("uuid", value)
        if isinstance(value, bool):
            return value
        if name in _NODE_FIELDS and isinstance(value, int):
            return "<node>" if value in self.node_ids else value
        if name in _HOST_PORT:
            return f"<{name}>"
        if name == "resource_name" and value in {str(n) for n in self.node_ids}:
            return "<node>"
        if name in _LABELLED and value not in _UNSET.get(name, (None, -1, 0, "")):
            return self.label(_LABELLED[name], value)
        if isinstance(value, int) and _TIMESTAMPS.search(name) and value > 0:
            return "<ts>"
        if isinstance(value, str) and self.prefix in value:
            return value.replace(self.prefix, "")
        return value

    def records(self, data: bytes | None) -> Any:
        """Return record batches as data: the fields a broker sets or keeps."""
        if not data:
            return data
        out: list[Any] = []
        pos = 0
        while pos < len(data):
            try:
                h = parse_header(data, pos)
            except Exception:
                out.append(f"<{len(data) - pos} trailing bytes>")
                break
            if pos + h.size > len(data):
                out.append("<partial batch>")  # Fetch may end mid-batch
                break
            try:
                records = list(iter_records(data[pos : pos + h.size]))
            except Exception as exc:
                records = [f"<undecodable: {type(exc).__name__}>"]
            out.append(
                {
                    "base_offset": h.base_offset,
                    "partition_leader_epoch": h.partition_leader_epoch,
                    "attributes": h.attributes,
                    "last_offset_delta": h.last_offset_delta,
                    "producer_id": self(h.producer_id, "producer_id"),
                    "producer_epoch": h.producer_epoch,
                    "base_sequence": h.base_sequence,
                    "records": [
                        r
                        if isinstance(r, str)
                        else {
                            "offset": r.offset,
                            "timestamp": r.timestamp if not h.log_append_time else "<ts>",
                            "key": r.key,
                            "value": r.value,
                            "headers": list(r.headers),
                        }
                        for r in records
                    ],
                }
            )
            pos += h.size
        return out


def _sorted_raw(items: list[Any]) -> list[Any]:
    """Sort decoded entities by their key field (as :func:`_sorted` sorts data)."""
    if len(items) < 2 or not all(dataclasses.is_dataclass(i) for i in items):
        return items
    for key in _SORT_KEYS:
        if all(hasattr(i, key) for i in items):
            return sorted(items, key=lambda i, key=key: repr(getattr(i, key)))
    return items


def _sorted(items: list[Any]) -> list[Any]:
    if len(items) < 2 or not all(isinstance(i, dict) for i in items):
        return items
    for key in _SORT_KEYS:
        if all(key in i for i in items):
            return sorted(items, key=lambda i, key=key: repr(i[key]))
    return items


# -- comparing -------------------------------------------------------------------------


@dataclass
class Difference:
    """One field that differs: where, and each broker's value."""

    path: str
    kafka: Any
    streamtest: Any
    reason: str | None = None  # the allowlist's, when allowed

    def __str__(self) -> str:
        return f"{self.path}: kafka={_brief(self.kafka)} streamtest={_brief(self.streamtest)}"


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


_MISSING = "<absent>"


def diff(a: Any, b: Any, path: str = "") -> Iterator[Difference]:
    """Yield the differences between normalised values ``a`` (Kafka) and ``b``."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            yield from diff(
                a.get(key, _MISSING), b.get(key, _MISSING), f"{path}.{key}" if path else key
            )
        return
    if isinstance(a, list) and isinstance(b, list):
        # Keyed lists: match entries by key, so one missing entry is one difference.
        key = _list_key(a, b)
        if key is not None:
            ka = {repr(i[key]): i for i in a}
            kb = {repr(i[key]): i for i in b}
            for k in list(ka) + [k for k in kb if k not in ka]:
                yield from diff(
                    ka.get(k, _MISSING), kb.get(k, _MISSING), f"{path}[{key}={k.strip(chr(39))}]"
                )
            return
        for i in range(max(len(a), len(b))):
            yield from diff(
                a[i] if i < len(a) else _MISSING, b[i] if i < len(b) else _MISSING, f"{path}.{i}"
            )
        return
    if a != b:
        yield Difference(path, a, b)


def _list_key(a: list[Any], b: list[Any]) -> str | None:
    items = a + b
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in (
        "name",
        "topic",
        "group_id",
        "resource_name",
        "config_name",
        "api_key",
        "transactional_id",
    ):
        if (
            all(key in i for i in items)
            and len({repr(i[key]) for i in a}) == len(a)
            and len({repr(i[key]) for i in b}) == len(b)
        ):
            return key
    return None


# -- the allowlist ---------------------------------------------------------------------


@dataclass
class AllowEntry:
    """One allowlist line: scenario glob, field-path glob, reason."""

    scenario: str
    path: str
    reason: str
    line: int
    used: int = 0

    def matches(self, scenario_id: str, path: str) -> bool:
        return fnmatch.fnmatchcase(scenario_id, self.scenario) and fnmatch.fnmatchcase(
            path, self.path
        )


def load_allowlist(path: Path = ALLOWLIST) -> list[AllowEntry]:
    """Return the entries of ``allowlist.txt``: ``SCENARIO | PATH | REASON`` lines
    (globs; ``#`` starts a comment line).

    Raises:
        ValueError: a line is malformed or has no reason.
    """
    entries = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{path.name}:{n}: expected 'SCENARIO | PATH | REASON', got {raw!r}")
        # fnmatch reads [..] as a character class; the paths use [key=value].
        pattern = parts[1].replace("[", "[[]")
        entries.append(AllowEntry(parts[0], pattern, parts[2], n))
    return entries


# -- running ---------------------------------------------------------------------------


@dataclass
class Result:
    """The outcome of one scenario."""

    scenario: Scenario
    differences: list[Difference] = field(default_factory=list)
    allowed: list[Difference] = field(default_factory=list)
    error: str | None = None

    @property
    def status(self) -> str:
        """``match``, ``allowed`` (only allowlisted differences), ``differ`` or ``error``."""
        if self.error:
            return "error"
        if self.differences:
            return "differ"
        return "allowed" if self.allowed else "match"


class Runner:
    """Runs scenarios against both brokers and compares them."""

    def __init__(
        self,
        kafka: Side,
        streamtest: Side,
        kafka_nodes: set[int],
        streamtest_nodes: set[int],
        allowlist: list[AllowEntry],
    ) -> None:
        self.sides = (kafka, streamtest)
        self.nodes = (kafka_nodes, streamtest_nodes)
        self.allowlist = allowlist
        #: Results by scenario id, in the order run.
        self.results: dict[str, Result] = {}

    @property
    def covered(self) -> set[tuple[int, int]]:
        """Return the (api_key, version) pairs sent to both brokers and compared."""
        return self.sides[0].sent & self.sides[1].sent

    def run(self, sc: Scenario) -> Result:
        """Run ``sc`` against both brokers and return how their answers compare."""
        result = self.results[sc.id] = Result(sc)
        observed = []
        for side, nodes in zip(self.sides, self.nodes, strict=True):
            side.scenario_id = sc.id
            side.observations = []
            norm = Normaliser(nodes, side.prefix)
            try:
                sc.fn(side)
            except SetupFailed as exc:
                result.error = str(exc)
                return result
            except Exception as exc:  # the harness must report, not stop
                result.error = f"{side.name}: {type(exc).__name__}: {exc}"
                return result
            finally:
                side.close()
            observed.append([(label, norm(value)) for label, value in side.observations])
        kafka_obs, ours = observed
        if [lbl for lbl, _ in kafka_obs] != [lbl for lbl, _ in ours]:
            result.error = "the scenario took different paths on the two brokers"
            return result
        for (label, a), (_, b) in zip(kafka_obs, ours, strict=True):
            for d in diff(a, b, label):
                entry = next((e for e in self.allowlist if e.matches(sc.id, d.path)), None)
                if entry is None:
                    result.differences.append(d)
                else:
                    entry.used += 1
                    d.reason = entry.reason
                    result.allowed.append(d)
        return result
