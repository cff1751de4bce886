"""Client quotas: byte-rate and request-time limits per user and client id, with no I/O.

What Kafka does (KIP-13, KIP-55, KIP-124, KIP-219, KIP-546), and so this module:

* **Quota configs** are set on an *entity*: a user, a client id, both, or the
  default of either (a name of ``None``), plus IP entities for
  ``connection_creation_rate`` (KIP-612). :class:`ClientQuotaStore` holds them and
  implements AlterClientQuotas and DescribeClientQuotas with the validation and
  messages of Kafka's ``ClientQuotaControlManager`` and ``ClientQuotasImage``.
* **Which quota applies** to a request follows Kafka's precedence, most specific
  first: ``(user, client-id)``, ``(user, default client-id)``, ``(user)``,
  ``(default user, client-id)``, ``(default user, default client-id)``,
  ``(default user)``, ``(client-id)``, ``(default client-id)``. Clients matched at
  a user-only level share one rate; the others are measured per client id.
* **Rates** are measured as Kafka's ``Rate`` over a ``WindowedSum``:
  ``quota.window.num`` samples of ``quota.window.size.seconds`` each. Until that
  many windows have passed, the elapsed time counts as ``num - 1`` full windows,
  so a fresh client may burst that much before it is throttled.
* **Throttle time** is Kafka's ``QuotaUtils.throttleTime``: with observed rate O,
  quota T and the window W the rate was measured over, ``(O - T) / T * W`` ms,
  the delay that brings the average back to the quota if nothing more is
  recorded. Request-time quotas cap it at one window (``ClientRequestQuotaManager``).

Enforced: ``producer_byte_rate`` (Produce), ``consumer_byte_rate`` (Fetch) and
``connection_creation_rate``. ``request_percentage`` and ``controller_mutation_rate``
are validated, stored and described, as Kafka's tools expect, but not enforced.

The unauthenticated principal is ``ANONYMOUS``, as in Kafka, so a quota on
``user=ANONYMOUS`` (or the default user) applies to every plaintext client.

Where things live: the configs are the cluster's (one :class:`ClientQuotaStore`
on the ``Cluster``, as Kafka keeps them in its metadata log), the rates are each
node's (one :class:`NodeQuotas` per node, as each Kafka broker measures and
throttles the clients it serves).

Everything here is driven by a :class:`~streamtest.broker.clock.Clock` and is
tested without sockets or sleeping; the server and the Produce and Fetch handlers
call :class:`ClientQuotaManager` and mute connections for the time it returns.
Persistence is one function pair, :func:`save_quotas` / :func:`load_quotas` (a
JSON file in the cluster's metadata directory), so it can move with the storage
layer (into a metadata log, where Kafka keeps ``ClientQuotaRecord``).
"""

from __future__ import annotations

import enum
import ipaddress
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..protocol.errors import ErrorCode

if TYPE_CHECKING:
    from .clock import Clock
    from .config import BrokerSettings

log = logging.getLogger("streamtest.broker.quotas")

#: The principal of an unauthenticated connection (Kafka's ``KafkaPrincipal.ANONYMOUS``).
ANONYMOUS = "ANONYMOUS"

USER, CLIENT_ID, IP = "user", "client-id", "ip"
ENTITY_TYPES = (USER, CLIENT_ID, IP)

PRODUCER_BYTE_RATE = "producer_byte_rate"
CONSUMER_BYTE_RATE = "consumer_byte_rate"
REQUEST_PERCENTAGE = "request_percentage"
CONTROLLER_MUTATION_RATE = "controller_mutation_rate"
CONNECTION_CREATION_RATE = "connection_creation_rate"

#: DescribeClientQuotas match types (KIP-546).
MATCH_EXACT, MATCH_DEFAULT, MATCH_SPECIFIED = 0, 1, 2

_INT_MAX = 2**31 - 1
_LONG_MAX = 2**63 - 1


class KeyType(enum.Enum):
    """The ``ConfigDef`` type of a quota key, which decides how values are checked."""

    LONG = "LONG"
    INT = "INT"
    DOUBLE = "DOUBLE"


#: Quota keys of user and client-id entities (Kafka's ``QuotaConfig``), with types.
USER_CLIENT_KEYS: dict[str, KeyType] = {
    PRODUCER_BYTE_RATE: KeyType.LONG,
    CONSUMER_BYTE_RATE: KeyType.LONG,
    REQUEST_PERCENTAGE: KeyType.DOUBLE,
    CONTROLLER_MUTATION_RATE: KeyType.DOUBLE,
}
#: Quota keys of IP entities.
IP_KEYS: dict[str, KeyType] = {CONNECTION_CREATION_RATE: KeyType.INT}

#: An entity: ``(type, name)`` pairs sorted by type; a name of ``None`` is the default.
Entity = tuple[tuple[str, str | None], ...]


def make_entity(pairs: Iterable[tuple[str, str | None]]) -> Entity:
    """Return the canonical form of an entity (pairs sorted by entity type)."""
    return tuple(sorted(pairs, key=lambda p: p[0]))


def entity_text(entity: Sequence[tuple[str, str | None]]) -> str:
    """Return an entity as Kafka's ``ClientQuotaEntity.toString`` prints it."""
    inner = ", ".join(f"{t}={'null' if n is None else n}" for t, n in entity)
    return f"ClientQuotaEntity(entries={{{inner}}})"


def _java_string_hash(text: str) -> int:
    """Return Java's ``String.hashCode`` of ``text`` as an unsigned 32-bit value."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h


def _entity_hash(entity: Entity) -> int:
    """Return Java's ``ClientQuotaEntity.hashCode`` (``Objects.hash`` of its map)."""
    total = 0
    for entity_type, name in entity:
        total += _java_string_hash(entity_type) ^ (0 if name is None else _java_string_hash(name))
    return (31 + total) & 0xFFFFFFFF


def java_hash_map_order(
    keys: list[Any], hash_of: Callable[[Any], int], capacity: int | None
) -> list[Any]:
    """Return the distinct ``keys`` in the order a ``java.util.HashMap`` iterates
    them after they were put in this order into ``new HashMap<>(capacity)`` (or
    ``new HashMap<>()`` for ``None``).

    Kafka builds its quota answers from hash maps, so their order is that of the
    table: by bucket (the spread hash masked by the table size, which doubles as
    the map fills), insertion order within a bucket. Matching it makes our answers
    the same bytes as Kafka's, not only the same set.
    """
    distinct = list(dict.fromkeys(keys))
    if capacity is None:
        size = 16
    else:
        size = 1
        while size < capacity:
            size *= 2
    threshold = int(size * 0.75)
    for count in range(1, len(distinct) + 1):
        if count > threshold:
            old, size = size, size * 2
            threshold = threshold * 2 if old >= 16 else int(size * 0.75)
    mask = size - 1

    def bucket(key: Any) -> int:
        h = hash_of(key)
        return (h ^ (h >> 16)) & mask

    return sorted(distinct, key=bucket)


def java_map(pairs: Sequence[tuple[str, str | None]]) -> tuple[tuple[str, str | None], ...]:
    """Return an entity's components as Kafka's ``new HashMap<>(n)`` of them holds
    them: a type named twice keeps its last name (at its first place), in the
    map's iteration order."""
    names: dict[str, str | None] = {}
    for entity_type, name in pairs:
        names[entity_type] = name
    order = java_hash_map_order(list(names), _java_string_hash, len(pairs))
    return tuple((t, names[t]) for t in order)


class QuotaRequestError(Exception):
    """A request-level error of DescribeClientQuotas (the whole response fails)."""

    def __init__(self, error_code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True, slots=True)
class Alteration:
    """One entry of an AlterClientQuotas request.

    Attributes:
        entity: ``(entity_type, entity_name)`` pairs as the client sent them.
        ops: ``(key, value)`` pairs; a value of ``None`` removes the key.
    """

    entity: tuple[tuple[str, str | None], ...]
    ops: tuple[tuple[str, float | None], ...]


@dataclass(frozen=True, slots=True)
class AlterResult:
    """The answer for one entity of an AlterClientQuotas request."""

    entity: tuple[tuple[str, str | None], ...]
    error_code: ErrorCode
    error_message: str | None


# -- the quota configs -------------------------------------------------------------


class ClientQuotaStore:
    """The quota configs of the cluster: ``{entity: {key: value}}``.

    Kafka keeps them in the cluster metadata (KRaft's ``ClientQuotaRecord``), so
    one store serves every node: a change made through any node applies to all.

    Args:
        initial: configs to start with (from :func:`load_quotas`).
        persist: called with the configs a change would leave, before it is
            applied (:func:`save_quotas`); if it raises ``OSError`` the change
            is not applied.
    """

    def __init__(
        self,
        initial: dict[Entity, dict[str, float]] | None = None,
        persist: Callable[[dict[Entity, dict[str, float]]], None] | None = None,
    ) -> None:
        self._quotas: dict[Entity, dict[str, float]] = {
            make_entity(e): dict(v) for e, v in (initial or {}).items() if v
        }
        self._persist = persist
        #: Bumped on every change, so quota managers can cache look-ups.
        self.generation = 0
        self._key_counts: dict[str, int] = {}
        self._recount()

    def _recount(self) -> None:
        counts: dict[str, int] = {}
        for values in self._quotas.values():
            for key in values:
                counts[key] = counts.get(key, 0) + 1
        self._key_counts = counts
        self.generation += 1

    def has_key(self, key: str) -> bool:
        """Return whether any entity has a value for ``key`` (Kafka's ``quotasEnabled``)."""
        return self._key_counts.get(key, 0) > 0

    def get(self, entity: Entity, key: str) -> float | None:
        """Return the value of ``key`` on exactly ``entity``, or ``None``."""
        values = self._quotas.get(entity)
        return None if values is None else values.get(key)

    def snapshot(self) -> dict[Entity, dict[str, float]]:
        """Return a copy of every entity's values."""
        return {e: dict(v) for e, v in self._quotas.items()}

    # -- AlterClientQuotas ----------------------------------------------------------

    def alter(self, alterations: Sequence[Alteration], validate_only: bool) -> list[AlterResult]:
        """Validate ``alterations`` and, unless ``validate_only``, apply the valid ones.

        As Kafka does (``AlterClientQuotasRequest.entries`` and the controller's
        ``ClientQuotaControlManager``): an entity's components form a map, so a type
        named twice keeps its last name; a key named twice for one entity gets
        INVALID_REQUEST ("Ignoring duplicate entity ...") and changes nothing of it;
        an entity altered twice in one request gets that error too, though its first
        alteration applies; an entity with an invalid part is left unchanged; the
        others are applied together. Returns one result per distinct entity, in the
        order Kafka's answer has them (its hash maps'); if the configs cannot be
        stored, the valid entities get UNKNOWN_SERVER_ERROR naming the file, and
        nothing changes.
        """
        results: dict[Entity, AlterResult] = {}
        shown: dict[Entity, tuple[tuple[str, str | None], ...]] = {}
        changes: dict[Entity, dict[str, float | None]] = {}
        for alt in alterations:
            components = java_map(alt.entity)
            entity = make_entity(components)
            shown[entity] = components
            ops: dict[str, float | None] = {}
            duplicate_key = False
            for key, value in alt.ops:
                duplicate_key = duplicate_key or key in ops
                ops.setdefault(key, value)
            if entity in results or duplicate_key:
                results[entity] = AlterResult(
                    components,
                    ErrorCode.INVALID_REQUEST,
                    f"Ignoring duplicate entity {entity_text(components)}",
                )
                continue
            problem = _validate_alteration(components, ops)
            if problem is not None:
                results[entity] = AlterResult(components, *problem)
                continue
            results[entity] = AlterResult(components, ErrorCode.NONE, None)
            changes[entity] = ops
        order = java_hash_map_order(list(results), _entity_hash, None)
        answer = [results[e] for e in order]
        if not validate_only and changes:
            updated = self.snapshot()
            for entity, ops in changes.items():
                values = updated.setdefault(entity, {})
                for key, value in ops.items():
                    if value is None:
                        values.pop(key, None)
                    else:
                        values[key] = float(value)
                if not values:
                    del updated[entity]
            if self._persist is not None:
                # Stored first, then applied: a change the data dir did not take is
                # not enforced either, and the client is told.
                try:
                    self._persist(updated)
                except OSError as exc:
                    log.error("%s", exc)
                    return [
                        AlterResult(r.entity, ErrorCode.UNKNOWN_SERVER_ERROR, str(exc))
                        if make_entity(r.entity) in changes and not r.error_code
                        else r
                        for r in answer
                    ]
            self._quotas = updated
            self._recount()
        return answer

    # -- DescribeClientQuotas -------------------------------------------------------

    def describe(
        self, components: Sequence[tuple[str, int, str | None]], strict: bool
    ) -> list[tuple[Entity, dict[str, float]]]:
        """Return the entities matching a DescribeClientQuotas filter, with their values.

        ``components`` are ``(entity_type, match_type, match)``. Without components
        every entity matches unless ``strict``; ``strict`` also drops entities with
        types the filter does not name (Kafka's ``ClientQuotasImage.describe``).

        Raises:
            QuotaRequestError: an invalid filter, with Kafka's error code and message.
        """
        exact: dict[str, str | None] = {}
        specified: set[str] = set()
        for entity_type, match_type, match in components:
            if not entity_type:
                raise QuotaRequestError(ErrorCode.INVALID_REQUEST, "Invalid empty entity type.")
            if entity_type in exact or entity_type in specified:
                raise QuotaRequestError(
                    ErrorCode.INVALID_REQUEST,
                    f"Entity type {entity_type} cannot appear more than once in the filter.",
                )
            if entity_type not in ENTITY_TYPES:
                raise QuotaRequestError(
                    ErrorCode.UNSUPPORTED_VERSION, f"Unsupported entity type {entity_type}"
                )
            if match_type == MATCH_EXACT:
                if match is None:
                    raise QuotaRequestError(
                        ErrorCode.INVALID_REQUEST,
                        "Request specified MATCH_TYPE_EXACT, but set match string to null.",
                    )
                exact[entity_type] = match
            elif match_type == MATCH_DEFAULT:
                if match is not None:
                    raise QuotaRequestError(
                        ErrorCode.INVALID_REQUEST,
                        "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.",
                    )
                exact[entity_type] = None
            elif match_type == MATCH_SPECIFIED:
                if match is not None:
                    raise QuotaRequestError(
                        ErrorCode.INVALID_REQUEST,
                        "Request specified MATCH_TYPE_SPECIFIED, but also specified a "
                        "match string.",
                    )
                specified.add(entity_type)
            else:
                raise QuotaRequestError(
                    ErrorCode.INVALID_REQUEST, f"Unknown match type {match_type}"
                )
        named = set(exact) | specified
        if IP in named and (USER in named or CLIENT_ID in named):
            raise QuotaRequestError(
                ErrorCode.INVALID_REQUEST,
                "Invalid entity filter component combination. IP filter component should "
                "not be used with user or clientId filter component.",
            )
        if not named and strict:
            return []
        out = []
        for entity, values in sorted(self._quotas.items(), key=lambda kv: _sort_key(kv[0])):
            names = dict(entity)
            if strict and len(names) != len(named):
                continue
            if any(t not in names or names[t] != m for t, m in exact.items()):
                continue
            if any(t not in names for t in specified):
                continue
            out.append((entity, dict(values)))
        return out


def _sort_key(entity: Entity) -> tuple[tuple[str, str], ...]:
    return tuple((t, "" if n is None else "\x00" + n) for t, n in entity)


def _validate_alteration(
    entity: Sequence[tuple[str, str | None]], ops: dict[str, float | None]
) -> tuple[ErrorCode, str] | None:
    """Return Kafka's error for an invalid alteration, or ``None``."""
    names: dict[str, str | None] = {}
    if not entity:
        return ErrorCode.INVALID_REQUEST, "Invalid empty client quota entity"
    for entity_type, name in entity:
        if entity_type not in ENTITY_TYPES:
            return ErrorCode.INVALID_REQUEST, f"Unhandled client quota entity type: {entity_type}"
        names[entity_type] = name
        if name is not None and name == "":
            return ErrorCode.INVALID_REQUEST, f"Empty {entity_type} not supported"
    if IP in names:
        if USER in names or CLIENT_ID in names:
            # Kafka's text, missing space included.
            return (
                ErrorCode.INVALID_REQUEST,
                "Invalid quota entity combination, IP entity shouldnot be combined with "
                "User or ClientId",
            )
        ip = names[IP]
        if ip is not None and not _is_ip(ip):
            # Kafka resolves host names here; resolving would block the broker's loop,
            # so only IP literals are accepted.
            return ErrorCode.INVALID_REQUEST, f"{ip} is not a valid IP or resolvable host."
        keys = IP_KEYS
    else:
        keys = USER_CLIENT_KEYS
    for key, value in ops.items():
        key_type = keys.get(key)
        if key_type is None:
            return ErrorCode.INVALID_REQUEST, f"Invalid configuration key {key}"
        if value is None:
            continue
        if not math.isfinite(value):
            # Kafka's checks (ClientQuotaControlManager) let NaN through, since every
            # comparison with it is false; a NaN or infinite rate would then make
            # every throttle time NaN. Refuse it.
            return ErrorCode.INVALID_REQUEST, f"Quota {key} must be a finite number"
        if value <= 0.0:
            return ErrorCode.INVALID_REQUEST, f"Quota {key} must be greater than 0"
        if key_type is KeyType.DOUBLE:
            continue
        limit, article = (_INT_MAX, "an INT") if key_type is KeyType.INT else (_LONG_MAX, "a LONG")
        if value > limit:
            return (
                ErrorCode.INVALID_REQUEST,
                f"Proposed value for {key} is too large for {article}.",
            )
        if abs(value % 1.0) > 1e-6:
            return ErrorCode.INVALID_REQUEST, f"{key} cannot be a fractional value."
    return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -- rate measurement --------------------------------------------------------------


class _Sample:
    __slots__ = ("start_ms", "last_ms", "value")

    def __init__(self, now_ms: int) -> None:
        self.start_ms = now_ms
        self.last_ms = now_ms
        self.value = 0.0

    def reset(self, now_ms: int) -> None:
        self.start_ms = now_ms
        self.last_ms = now_ms
        self.value = 0.0


class WindowedRate:
    """Kafka's ``Rate`` over a ``WindowedSum``: a sum kept in ``samples`` windows.

    A sample is complete once it is ``window_ms`` old; recording then moves to the
    next one, reusing the oldest (``samples + 1`` are kept, as ``SampledStat``
    does). Samples with no event for ``samples * window_ms`` are reset. The rate
    is the sum over the elapsed time since the oldest sample began, counted as
    at least ``samples - 1`` whole windows.

    Args:
        samples: ``quota.window.num``.
        window_ms: ``quota.window.size.seconds`` in milliseconds.
    """

    __slots__ = ("_samples", "_window_ms", "_n", "_current", "last_record_ms")

    def __init__(self, samples: int, window_ms: int) -> None:
        self._n = samples
        self._window_ms = window_ms
        self._samples: list[_Sample] = []
        self._current = 0
        #: When a value was last recorded (for expiring idle sensors).
        self.last_record_ms = 0

    def record(self, value: float, now_ms: int) -> None:
        """Add ``value`` at time ``now_ms``."""
        sample = self._current_sample(now_ms)
        if now_ms - sample.start_ms >= self._window_ms:
            self._current = (self._current + 1) % (self._n + 1)
            if self._current >= len(self._samples):
                sample = _Sample(now_ms)
                self._samples.append(sample)
            else:
                sample = self._samples[self._current]
                sample.reset(now_ms)
        sample.value += value
        sample.last_ms = now_ms
        self.last_record_ms = now_ms

    def _current_sample(self, now_ms: int) -> _Sample:
        if not self._samples:
            self._samples.append(_Sample(now_ms))
        return self._samples[self._current]

    def _purge(self, now_ms: int) -> None:
        expire = self._n * self._window_ms
        for sample in self._samples:
            if now_ms - sample.last_ms >= expire:
                sample.reset(now_ms)

    def window_ms(self, now_ms: int) -> int:
        """Return the time, in ms, the rate at ``now_ms`` is measured over."""
        self._purge(now_ms)
        if not self._samples:
            self._samples.append(_Sample(now_ms))
        oldest = min(s.start_ms for s in self._samples)
        elapsed = now_ms - oldest
        full = elapsed // self._window_ms
        if full < self._n - 1:
            elapsed += (self._n - 1 - full) * self._window_ms
        return elapsed

    def measure(self, now_ms: int) -> float:
        """Return the rate per second at ``now_ms``."""
        window = self.window_ms(now_ms)
        total = sum(s.value for s in self._samples)
        return total / (window / 1000.0) if window > 0 else 0.0


# -- the quota managers ------------------------------------------------------------


class QuotaType(enum.Enum):
    """What a :class:`ClientQuotaManager` measures, and the quota key it enforces."""

    PRODUCE = PRODUCER_BYTE_RATE
    FETCH = CONSUMER_BYTE_RATE
    REQUEST = REQUEST_PERCENTAGE


# Kafka's precedence: for each level, the entity to look up given (user, client_id),
# and whether clients of that level share one rate per user (no client-id tag).
_LEVELS: tuple[tuple[Callable[[str, str], Entity], bool], ...] = (
    (lambda u, c: ((CLIENT_ID, c), (USER, u)), False),
    (lambda u, c: ((CLIENT_ID, None), (USER, u)), False),
    (lambda u, c: ((USER, u),), True),
    (lambda u, c: ((CLIENT_ID, c), (USER, None)), False),
    (lambda u, c: ((CLIENT_ID, None), (USER, None)), False),
    (lambda u, c: ((USER, None),), True),
    (lambda u, c: ((CLIENT_ID, c),), False),
    (lambda u, c: ((CLIENT_ID, None),), False),
)

#: Sensors idle this long are dropped (Kafka's INACTIVE_SENSOR_EXPIRATION_TIME_SECONDS).
_SENSOR_EXPIRY_MS = 3_600_000


class ClientQuotaManager:
    """Measures one kind of client usage and says how long to throttle (Kafka's
    ``ClientQuotaManager`` / ``ClientRequestQuotaManager``).

    Args:
        quota_type: what is measured (produce bytes, fetch bytes, request time).
        store: the quota configs.
        clock: the broker's clock (rates are measured on its monotonic time).
        samples: ``quota.window.num``.
        window_seconds: ``quota.window.size.seconds``.
    """

    def __init__(
        self,
        quota_type: QuotaType,
        store: ClientQuotaStore,
        clock: Clock,
        samples: int,
        window_seconds: int,
    ) -> None:
        self.quota_type = quota_type
        self.key = quota_type.value
        self._store = store
        self._clock = clock
        self._samples = samples
        self._window_ms = window_seconds * 1000
        self._rates: dict[tuple[str, str], WindowedRate] = {}
        self._cache: dict[tuple[str, str], tuple[float | None, tuple[str, str]]] = {}
        self._cache_generation = -1
        self._last_expiry_ms = 0
        #: Request-time quotas never throttle longer than one window (KIP-124).
        self.max_throttle_ms = self._window_ms if quota_type is QuotaType.REQUEST else None

    def _now_ms(self) -> int:
        return int(self._clock.monotonic() * 1000)

    @property
    def enabled(self) -> bool:
        """Return whether any entity has a quota of this type."""
        return self._store.has_key(self.key)

    def quota(self, user: str, client_id: str | None) -> tuple[float | None, tuple[str, str]]:
        """Return the quota that applies to ``(user, client_id)`` (``None``: none)
        and the key of the rate it is measured on."""
        client = client_id or ""
        if self._cache_generation != self._store.generation:
            self._cache.clear()
            self._cache_generation = self._store.generation
        found = self._cache.get((user, client))
        if found is not None:
            return found
        result: tuple[float | None, tuple[str, str]] = (None, (user, client))
        for make, per_user in _LEVELS:
            value = self._store.get(make_entity(make(user, client)), self.key)
            if value is not None:
                result = (value, (user, "") if per_user else (user, client))
                break
        self._cache[(user, client)] = result
        return result

    def _rate(self, tags: tuple[str, str], now_ms: int) -> WindowedRate:
        rate = self._rates.get(tags)
        if rate is None:
            if now_ms - self._last_expiry_ms > 60_000:
                self._expire(now_ms)
            rate = self._rates[tags] = WindowedRate(self._samples, self._window_ms)
        return rate

    def _expire(self, now_ms: int) -> None:
        self._last_expiry_ms = now_ms
        stale = [t for t, r in self._rates.items() if now_ms - r.last_record_ms > _SENSOR_EXPIRY_MS]
        for tags in stale:
            del self._rates[tags]

    def record(self, user: str, client_id: str | None, value: float) -> int:
        """Record ``value`` for the client; return the throttle time in ms (0: none).

        Nothing is recorded while no quota of this type exists (as Kafka's
        ``maybeRecordAndGetThrottleTimeMs``).
        """
        if not self.enabled:
            return 0
        bound, tags = self.quota(user, client_id)
        now = self._now_ms()
        rate = self._rate(tags, now)
        rate.record(value, now)
        if bound is None:
            return 0
        observed = rate.measure(now)
        if observed <= bound:
            return 0
        # QuotaUtils.throttleTime: the delay X with O * W / (W + X) = T.
        throttle = round((observed - bound) / bound * rate.window_ms(now))
        if self.max_throttle_ms is not None:
            throttle = min(throttle, self.max_throttle_ms)
        return max(int(throttle), 0)

    def unrecord(self, user: str, client_id: str | None, value: float) -> None:
        """Take back a recorded ``value`` (a throttled Fetch returns no data)."""
        if not self.enabled:
            return
        _bound, tags = self.quota(user, client_id)
        now = self._now_ms()
        self._rate(tags, now).record(-value, now)

    def max_value_in_window(self, user: str, client_id: str | None) -> float | None:
        """Return the most that can be recorded at once without a certain throttle
        (``quota * (num - 1) * window``), or ``None`` without a quota; Fetch caps
        its ``max_bytes`` at it."""
        if not self.enabled:
            return None
        bound, _tags = self.quota(user, client_id)
        if bound is None:
            return None
        return bound * (self._samples - 1) * self._window_ms / 1000.0

    def cap(self, user: str, client_id: str | None, budget: int) -> int:
        """Return ``budget`` (bytes a response may carry) capped at
        :meth:`max_value_in_window`, and at least 1: Fetch and ShareFetch cap
        their ``max_bytes`` so (Kafka's KafkaApis)."""
        window = self.max_value_in_window(user, client_id)
        return budget if window is None else min(budget, max(int(window), 1))

    def observed_rate(self, user: str, client_id: str | None) -> float:
        """Return the client's measured rate per second now (for tests and tools)."""
        _bound, tags = self.quota(user, client_id)
        rate = self._rates.get(tags)
        return 0.0 if rate is None else rate.measure(self._now_ms())


class ConnectionRateQuota:
    """``connection_creation_rate`` per IP (KIP-612): connections accepted per second.

    Args:
        store: the quota configs.
        clock: the broker's clock.
        samples: ``quota.window.num``.
        window_seconds: ``quota.window.size.seconds``.
    """

    def __init__(
        self, store: ClientQuotaStore, clock: Clock, samples: int, window_seconds: int
    ) -> None:
        self._store = store
        self._clock = clock
        self._samples = samples
        self._window_ms = window_seconds * 1000
        self._rates: dict[str, WindowedRate] = {}

    def record(self, ip: str) -> int:
        """Record a new connection from ``ip``; return how long (ms) to hold it before
        closing it unserved, or 0 to accept it."""
        if not self._store.has_key(CONNECTION_CREATION_RATE):
            return 0
        bound = self._store.get(((IP, ip),), CONNECTION_CREATION_RATE)
        if bound is None:
            bound = self._store.get(((IP, None),), CONNECTION_CREATION_RATE)
        if bound is None:
            return 0
        now = int(self._clock.monotonic() * 1000)
        rate = self._rates.get(ip)
        if rate is None:
            rate = self._rates[ip] = WindowedRate(self._samples, self._window_ms)
        rate.record(1.0, now)
        observed = rate.measure(now)
        if observed <= bound:
            return 0
        # A refused connection does not count towards the rate (Kafka unrecords it).
        rate.record(-1.0, now)
        return max(round((observed - bound) / bound * rate.window_ms(now)), 1)


class NodeQuotas:
    """The rate sensors of one node, enforcing the cluster's quota configs.

    Kafka keeps the configs cluster-wide but each broker measures the clients that
    talk to it, in its own windows: a client connected to two nodes has a rate on
    each, and each node throttles it on what it sees.

    Args:
        store: the cluster's quota configs.
        settings: broker settings (``quota.window.num``, ``quota.window.size.seconds``).
        clock: the cluster's clock.
    """

    def __init__(self, store: ClientQuotaStore, settings: BrokerSettings, clock: Clock) -> None:
        samples = int(settings["quota.window.num"])
        window = int(settings["quota.window.size.seconds"])
        self.store = store
        self.produce = ClientQuotaManager(QuotaType.PRODUCE, store, clock, samples, window)
        self.fetch = ClientQuotaManager(QuotaType.FETCH, store, clock, samples, window)
        # request_percentage (QuotaType.REQUEST) and controller_mutation_rate are
        # stored and described, not enforced: the server does not measure request
        # time per client yet.
        self.connections = ConnectionRateQuota(store, clock, samples, window)


# -- persistence ---------------------------------------------------------------------
#
# One function pair, so that the configs can move into the cluster's metadata log
# when there is one: only these two know where and how they are kept.

#: The file, in the directory given to the pair below (the cluster's ``metadata/``), that
#: holds the quota configs.
QUOTAS_FILE = "client-quotas.json"


class QuotaStoreError(OSError):
    """The persisted quota configs cannot be read or written; ``filename`` is the
    file, ``strerror`` says why."""


def save_quotas(directory: Path, quotas: dict[Entity, dict[str, float]]) -> None:
    """Write ``quotas`` into ``directory`` atomically (a temporary file, fsync,
    rename, fsync of the directory), so a crash leaves the old or the new configs.

    Raises:
        QuotaStoreError: the file cannot be written.
    """
    path = directory / QUOTAS_FILE
    rows: list[dict[str, Any]] = [
        {"entity": [[t, n] for t, n in entity], "values": values}
        for entity, values in sorted(quotas.items(), key=lambda kv: _sort_key(kv[0]))
    ]
    data = json.dumps({"version": 1, "quotas": rows}, indent=1).encode()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".client-quotas.", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise QuotaStoreError(
            exc.errno, f"cannot write client quotas: {exc.strerror or exc}", str(path)
        ) from exc


def load_quotas(directory: Path) -> dict[Entity, dict[str, float]]:
    """Return the quota configs saved in ``directory`` (none if there are none yet).

    Raises:
        QuotaStoreError: the file exists but cannot be read or parsed.
    """
    path = directory / QUOTAS_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise QuotaStoreError(
            exc.errno, f"cannot read client quotas: {exc.strerror or exc}", str(path)
        ) from exc
    try:
        doc = json.loads(raw)
        out: dict[Entity, dict[str, float]] = {}
        for row in doc["quotas"]:
            entity = make_entity((str(t), None if n is None else str(n)) for t, n in row["entity"])
            out[entity] = {str(k): float(v) for k, v in row["values"].items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise QuotaStoreError(None, f"cannot parse client quotas: {exc}", str(path)) from exc
    return out


def open_store(directory: Path | None) -> ClientQuotaStore:
    """Return the cluster's quota store: persisted in ``directory``, or in memory.

    Raises:
        QuotaStoreError: saved configs exist but cannot be read.
    """
    if directory is None:
        return ClientQuotaStore()
    return ClientQuotaStore(load_quotas(directory), lambda quotas: save_quotas(directory, quotas))
