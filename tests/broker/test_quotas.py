"""Client quotas without sockets: rate measurement, throttle time, precedence, the
quota store's validation and persistence, all on a manual clock."""

from __future__ import annotations

import json

import pytest

from streamtest.broker.clock import ManualClock
from streamtest.broker.config import BrokerSettings
from streamtest.broker.quotas import (
    QUOTAS_FILE,
    Alteration,
    ClientQuotaManager,
    ClientQuotaStore,
    NodeQuotas,
    QuotaRequestError,
    QuotaStoreError,
    QuotaType,
    WindowedRate,
    _java_string_hash,
    java_hash_map_order,
    java_map,
    load_quotas,
    open_store,
    save_quotas,
)
from streamtest.protocol.errors import ErrorCode


def _quotas(
    clock: ManualClock, samples: int = 11, window: int = 1, data_dir=None, store=None
) -> NodeQuotas:
    settings = BrokerSettings({"quota.window.num": samples, "quota.window.size.seconds": window})
    return NodeQuotas(store if store is not None else open_store(data_dir), settings, clock)


def _set(quotas: NodeQuotas, entity: dict, **values: float | None) -> None:
    results = quotas.store.alter(
        [Alteration(tuple(entity.items()), tuple(values.items()))], validate_only=False
    )
    assert [r.error_code for r in results] == [ErrorCode.NONE], results


# -- rate ----------------------------------------------------------------------------


def test_rate_of_a_fresh_sensor_counts_samples_minus_one_full_windows():
    # Kafka's Rate: until num - 1 windows have passed, the elapsed time is padded.
    rate = WindowedRate(samples=11, window_ms=1000)
    rate.record(1000, now_ms=0)
    assert rate.window_ms(0) == 10_000
    assert rate.measure(0) == pytest.approx(100.0)


def test_rate_over_a_long_run_is_the_recorded_rate():
    rate = WindowedRate(samples=3, window_ms=1000)
    for t in range(0, 20_000, 100):  # 50 bytes every 100 ms = 500 B/s
        rate.record(50, t)
    assert rate.measure(20_000) == pytest.approx(500, rel=0.1)


def test_samples_idle_for_the_whole_window_are_forgotten():
    rate = WindowedRate(samples=2, window_ms=1000)
    rate.record(1_000_000, 0)
    assert rate.measure(100) > 0
    assert rate.measure(5_000) == 0


# -- throttle time ---------------------------------------------------------------------


def test_no_quota_means_no_recording_and_no_throttle():
    clock = ManualClock()
    q = _quotas(clock)
    assert not q.produce.enabled
    assert q.produce.record("ANONYMOUS", "c", 10**9) == 0


def test_throttle_time_is_kafkas_formula():
    clock = ManualClock()
    q = _quotas(clock, samples=11)
    _set(q, {"client-id": "c"}, producer_byte_rate=1000)
    # 20,000 bytes over the padded 10 s window: 2,000 B/s, twice the quota.
    # X = (O - T) / T * W = (2000 - 1000) / 1000 * 10,000 ms.
    assert q.produce.record("ANONYMOUS", "c", 20_000) == 10_000


def test_usage_within_the_quota_is_not_throttled():
    clock = ManualClock()
    q = _quotas(clock, samples=11)
    _set(q, {"client-id": "c"}, producer_byte_rate=1000)
    assert q.produce.record("ANONYMOUS", "c", 9_000) == 0  # 900 B/s over 10 s


def test_a_client_that_waits_out_its_throttle_gets_the_quota_rate():
    """A KIP-219 client sends, is told to wait, waits, sends again: its long-run
    rate is the quota (within the burst allowed at the start)."""
    clock = ManualClock()
    q = _quotas(clock, samples=11, window=1)
    _set(q, {"user": "ANONYMOUS"}, producer_byte_rate=100_000)
    sent = 0
    while clock.monotonic() < 120:
        throttle = q.produce.record("ANONYMOUS", "any", 50_000)
        sent += 50_000
        clock.advance(max(throttle, 5) / 1000)
    rate = sent / clock.monotonic()
    assert 100_000 <= rate <= 100_000 * 1.12  # 10 s of burst over 120 s


def test_request_quota_throttle_is_capped_at_one_window():
    clock = ManualClock()
    q = _quotas(clock, samples=11, window=1)
    _set(q, {"client-id": "c"}, request_percentage=1)
    request = ClientQuotaManager(QuotaType.REQUEST, q.store, clock, samples=11, window_seconds=1)
    assert request.record("ANONYMOUS", "c", 10_000) == 1000


def test_unrecord_takes_back_a_throttled_fetch():
    clock = ManualClock()
    q = _quotas(clock)
    _set(q, {"client-id": "c"}, consumer_byte_rate=1000)
    assert q.fetch.record("ANONYMOUS", "c", 50_000) > 0
    q.fetch.unrecord("ANONYMOUS", "c", 50_000)
    assert q.fetch.observed_rate("ANONYMOUS", "c") == pytest.approx(0)


def test_max_value_in_window_caps_fetch_sizes():
    clock = ManualClock()
    q = _quotas(clock, samples=11, window=2)
    assert q.fetch.max_value_in_window("ANONYMOUS", "c") is None
    _set(q, {"client-id": None}, consumer_byte_rate=1000)
    assert q.fetch.max_value_in_window("ANONYMOUS", "c") == 1000 * 10 * 2


# -- precedence ------------------------------------------------------------------------

LEVELS = [
    ({"user": "ANONYMOUS", "client-id": "app"}, 1),
    ({"user": "ANONYMOUS", "client-id": None}, 2),
    ({"user": "ANONYMOUS"}, 3),
    ({"user": None, "client-id": "app"}, 4),
    ({"user": None, "client-id": None}, 5),
    ({"user": None}, 6),
    ({"client-id": "app"}, 7),
    ({"client-id": None}, 8),
]


@pytest.mark.parametrize("most_specific", range(len(LEVELS)))
def test_the_most_specific_matching_quota_applies(most_specific):
    """Kafka's order: (user, client), (user, default client), (user),
    (default user, client), (default user, default client), (default user),
    (client), (default client)."""
    q = _quotas(ManualClock())
    for entity, value in LEVELS[most_specific:]:
        _set(q, entity, producer_byte_rate=value)
    bound, _tags = q.produce.quota("ANONYMOUS", "app")
    assert bound == LEVELS[most_specific][1]


def test_clients_of_a_user_quota_share_one_rate():
    clock = ManualClock()
    q = _quotas(clock)
    _set(q, {"user": "ANONYMOUS"}, producer_byte_rate=1000)
    assert q.produce.record("ANONYMOUS", "a", 6_000) == 0
    # The second client id adds to the same user's rate: 12,000 over 10 s.
    assert q.produce.record("ANONYMOUS", "b", 6_000) > 0


def test_default_client_quota_is_measured_per_client():
    clock = ManualClock()
    q = _quotas(clock)
    _set(q, {"client-id": None}, producer_byte_rate=1000)
    assert q.produce.record("ANONYMOUS", "a", 6_000) == 0
    assert q.produce.record("ANONYMOUS", "b", 6_000) == 0


def test_removing_the_quota_stops_throttling():
    clock = ManualClock()
    q = _quotas(clock)
    _set(q, {"client-id": "c"}, producer_byte_rate=1000)
    assert q.produce.record("ANONYMOUS", "c", 50_000) > 0
    _set(q, {"client-id": "c"}, producer_byte_rate=None)
    assert q.produce.record("ANONYMOUS", "c", 50_000) == 0


# -- AlterClientQuotas validation ---------------------------------------------------------


def _alter(store: ClientQuotaStore, entity, ops, validate_only=False):
    (result,) = store.alter([Alteration(tuple(entity), tuple(ops))], validate_only)
    return result.error_code, result.error_message


BAD_ALTERATIONS = {
    "empty entity": ([], [("producer_byte_rate", 1.0)], "Invalid empty client quota entity"),
    "unknown entity type": (
        [("group", "g")],
        [("producer_byte_rate", 1.0)],
        "Unhandled client quota entity type: group",
    ),
    "empty user": ([("user", "")], [("producer_byte_rate", 1.0)], "Empty user not supported"),
    "unknown key": (
        [("client-id", "c")],
        [("producer_bytes_rate", 1.0)],
        "Invalid configuration key producer_bytes_rate",
    ),
    "ip key on a client": (
        [("client-id", "c")],
        [("connection_creation_rate", 1.0)],
        "Invalid configuration key connection_creation_rate",
    ),
    "zero": (
        [("client-id", "c")],
        [("producer_byte_rate", 0.0)],
        "Quota producer_byte_rate must be greater than 0",
    ),
    "negative": (
        [("user", None)],
        [("request_percentage", -5.0)],
        "Quota request_percentage must be greater than 0",
    ),
    "not a number": (
        [("client-id", "c")],
        [("producer_byte_rate", float("nan"))],
        "Quota producer_byte_rate must be a finite number",
    ),
    "infinite": (
        [("user", "u")],
        [("request_percentage", float("inf"))],
        "Quota request_percentage must be a finite number",
    ),
    "fraction of a long": (
        [("client-id", "c")],
        [("consumer_byte_rate", 1.5)],
        "consumer_byte_rate cannot be a fractional value.",
    ),
    "too large for an int": (
        [("ip", "10.0.0.1")],
        [("connection_creation_rate", 2.0**31)],
        "Proposed value for connection_creation_rate is too large for an INT.",
    ),
    "ip with user": (
        [("ip", "10.0.0.1"), ("user", "u")],
        [("connection_creation_rate", 1.0)],
        "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId",
    ),
    "not an ip": (
        [("ip", "not an address")],
        [("connection_creation_rate", 1.0)],
        "not an address is not a valid IP or resolvable host.",
    ),
}


@pytest.mark.parametrize("case", BAD_ALTERATIONS)
def test_invalid_alterations_get_kafkas_error_and_change_nothing(case):
    entity, ops, message = BAD_ALTERATIONS[case]
    store = ClientQuotaStore()
    assert _alter(store, entity, ops) == (ErrorCode.INVALID_REQUEST, message)
    assert store.snapshot() == {}


def test_a_fractional_request_percentage_is_fine():
    store = ClientQuotaStore()
    assert _alter(store, [("user", "u")], [("request_percentage", 12.5)]) == (ErrorCode.NONE, None)
    assert store.get((("user", "u"),), "request_percentage") == 12.5


def test_validate_only_changes_nothing():
    store = ClientQuotaStore()
    assert _alter(store, [("client-id", "c")], [("producer_byte_rate", 10.0)], True)[0] == 0
    assert store.snapshot() == {}


def test_a_duplicate_entity_or_key_is_refused_and_the_others_apply():
    """As Kafka's controller: a key named twice leaves its entity unchanged; an
    entity altered twice is answered with an error, though its first alteration
    applies (Kafka 4.4 does so; the fidelity suite checks it)."""
    store = ClientQuotaStore()
    results = store.alter(
        [
            Alteration((("client-id", "a"),), (("producer_byte_rate", 1.0),)),
            Alteration((("client-id", "a"),), (("consumer_byte_rate", 1.0),)),
            Alteration(
                (("client-id", "b"),), (("producer_byte_rate", 1.0), ("producer_byte_rate", 2.0))
            ),
            Alteration((("client-id", "c"),), (("producer_byte_rate", 3.0),)),
        ],
        validate_only=False,
    )
    by_name = {dict(r.entity)["client-id"]: (r.error_code, r.error_message) for r in results}
    assert by_name["a"] == (
        ErrorCode.INVALID_REQUEST,
        "Ignoring duplicate entity ClientQuotaEntity(entries={client-id=a})",
    )
    assert by_name["b"][0] == ErrorCode.INVALID_REQUEST
    assert by_name["c"] == (ErrorCode.NONE, None)
    assert store.snapshot() == {
        (("client-id", "a"),): {"producer_byte_rate": 1.0},
        (("client-id", "c"),): {"producer_byte_rate": 3.0},
    }


def test_a_type_named_twice_keeps_its_last_name():
    """Kafka reads an entity into a map: the last name of a type wins."""
    store = ClientQuotaStore()
    (result,) = store.alter(
        [Alteration((("user", "a"), ("user", "b")), (("producer_byte_rate", 1.0),))], False
    )
    assert (result.entity, result.error_code) == ((("user", "b"),), ErrorCode.NONE)
    assert store.snapshot() == {(("user", "b"),): {"producer_byte_rate": 1.0}}


def test_answers_come_in_the_order_of_kafkas_hash_maps():
    # new HashMap<>(2) with two puts grows to 4 buckets: client-id (0), user (1), ip (3),
    # whatever order the client sent them in; a default map has 16: ip (7),
    # client-id (12), user (13).
    assert java_map([("user", "u"), ("client-id", "c")]) == (("client-id", "c"), ("user", "u"))
    assert java_map([("ip", "1.2.3.4"), ("user", "u")]) == (("user", "u"), ("ip", "1.2.3.4"))
    assert java_hash_map_order(["user", "client-id", "ip"], _java_string_hash, None) == [
        "ip",
        "client-id",
        "user",
    ]
    store = ClientQuotaStore()
    results = store.alter(
        [Alteration((("user", "u"), ("client-id", "c")), (("producer_byte_rate", 1.0),))], False
    )
    assert results[0].entity == (("client-id", "c"), ("user", "u"))


def test_removing_the_last_key_removes_the_entity():
    store = ClientQuotaStore()
    _alter(store, [("user", "u"), ("client-id", "c")], [("producer_byte_rate", 1.0)])
    _alter(store, [("client-id", "c"), ("user", "u")], [("producer_byte_rate", None)])
    assert store.snapshot() == {}


# -- DescribeClientQuotas filters -----------------------------------------------------------


@pytest.fixture
def populated() -> ClientQuotaStore:
    store = ClientQuotaStore()
    for entity in (
        [("user", "alice")],
        [("user", None)],
        [("user", "alice"), ("client-id", "app")],
        [("client-id", "app")],
        [("client-id", None)],
        [("ip", "10.0.0.1")],
    ):
        key = "connection_creation_rate" if entity[0][0] == "ip" else "producer_byte_rate"
        assert _alter(store, entity, [(key, 100.0)])[0] == 0
    return store


def _names(found) -> list[dict]:
    return sorted((dict(entity) for entity, _values in found), key=repr)


def test_describe_without_components_returns_everything_unless_strict(populated):
    assert len(populated.describe([], strict=False)) == 6
    assert populated.describe([], strict=True) == []


def test_describe_exact_default_and_any(populated):
    assert _names(populated.describe([("user", 0, "alice")], strict=False)) == [
        {"client-id": "app", "user": "alice"},
        {"user": "alice"},
    ]
    assert _names(populated.describe([("user", 0, "alice")], strict=True)) == [{"user": "alice"}]
    assert _names(populated.describe([("client-id", 1, None)], strict=False)) == [
        {"client-id": None}
    ]
    assert _names(populated.describe([("user", 2, None)], strict=True)) == [
        {"user": "alice"},
        {"user": None},
    ]


BAD_FILTERS = {
    "empty type": ([("", 0, "x")], ErrorCode.INVALID_REQUEST, "Invalid empty entity type."),
    "twice": (
        [("user", 0, "a"), ("user", 2, None)],
        ErrorCode.INVALID_REQUEST,
        "Entity type user cannot appear more than once in the filter.",
    ),
    "unknown type": (
        [("group", 0, "g")],
        ErrorCode.UNSUPPORTED_VERSION,
        "Unsupported entity type group",
    ),
    "exact without name": (
        [("user", 0, None)],
        ErrorCode.INVALID_REQUEST,
        "Request specified MATCH_TYPE_EXACT, but set match string to null.",
    ),
    "default with name": (
        [("user", 1, "a")],
        ErrorCode.INVALID_REQUEST,
        "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.",
    ),
    "unknown match type": ([("user", 7, None)], ErrorCode.INVALID_REQUEST, "Unknown match type 7"),
    "ip with user": (
        [("ip", 2, None), ("user", 2, None)],
        ErrorCode.INVALID_REQUEST,
        "Invalid entity filter component combination. IP filter component should not be "
        "used with user or clientId filter component.",
    ),
}


@pytest.mark.parametrize("case", BAD_FILTERS)
def test_invalid_filters_fail_the_request(populated, case):
    components, code, message = BAD_FILTERS[case]
    with pytest.raises(QuotaRequestError) as info:
        populated.describe(components, strict=False)
    assert (info.value.error_code, info.value.message) == (code, message)


# -- persistence ---------------------------------------------------------------------------


def test_quotas_survive_a_restart(tmp_path):
    first = _quotas(ManualClock(), data_dir=tmp_path)
    _set(first, {"user": None, "client-id": "app"}, producer_byte_rate=5000)
    _set(first, {"ip": "127.0.0.1"}, connection_creation_rate=3)
    second = _quotas(ManualClock(), data_dir=tmp_path)
    assert second.store.snapshot() == first.store.snapshot()
    assert second.produce.quota("bob", "app")[0] == 5000


def test_save_and_load_round_trip(tmp_path):
    data = {(("client-id", None), ("user", "u")): {"producer_byte_rate": 10.0}}
    save_quotas(tmp_path, data)
    assert load_quotas(tmp_path) == data
    assert [p.name for p in tmp_path.iterdir()] == [QUOTAS_FILE]  # no temporary file left
    assert load_quotas(tmp_path / "missing") == {}


def test_a_corrupt_quota_file_is_named_in_the_error(tmp_path):
    (tmp_path / QUOTAS_FILE).write_text(json.dumps({"quotas": [{"entity": 5}]}))
    with pytest.raises(QuotaStoreError, match="cannot parse client quotas") as info:
        load_quotas(tmp_path)
    assert info.value.filename == str(tmp_path / QUOTAS_FILE)
    assert isinstance(info.value, OSError)  # the CLI's data-dir error line names it


def test_a_change_the_data_dir_refuses_is_not_applied(tmp_path):
    store = open_store(tmp_path)
    assert _alter(store, [("client-id", "a")], [("producer_byte_rate", 10.0)])[0] == 0
    # The file's place is taken by a directory: the rename onto it fails (even as root).
    (tmp_path / QUOTAS_FILE).unlink()
    (tmp_path / QUOTAS_FILE).mkdir()
    (tmp_path / QUOTAS_FILE / "x").touch()
    code, message = _alter(store, [("client-id", "b")], [("producer_byte_rate", 10.0)])
    assert code == ErrorCode.UNKNOWN_SERVER_ERROR
    assert "cannot write client quotas" in message
    assert store.snapshot() == {(("client-id", "a"),): {"producer_byte_rate": 10.0}}
    assert not [p for p in tmp_path.iterdir() if p.name != QUOTAS_FILE]  # no temporary file


def test_two_nodes_share_the_configs_and_measure_their_own_rates():
    """Kafka keeps quota configs cluster-wide and each broker measures the clients
    it serves: a client's usage on one node does not throttle it on another."""
    clock = ManualClock()
    store = ClientQuotaStore()
    node_a, node_b = _quotas(clock, store=store), _quotas(clock, store=store)
    _set(node_a, {"client-id": "c"}, producer_byte_rate=1000)
    assert node_b.produce.quota("ANONYMOUS", "c")[0] == 1000
    assert node_a.produce.record("ANONYMOUS", "c", 50_000) > 0
    assert node_b.produce.record("ANONYMOUS", "c", 5_000) == 0


# -- connection creation rate --------------------------------------------------------------


def test_connection_creation_rate_refuses_the_excess():
    clock = ManualClock()
    q = _quotas(clock, samples=2, window=1)
    _set(q, {"ip": None}, connection_creation_rate=2)
    accepted = [q.connections.record("10.0.0.9") == 0 for _ in range(5)]
    assert accepted == [True, True, False, False, False]
    clock.advance(2)
    assert q.connections.record("10.0.0.9") == 0
    assert q.connections.record("10.0.0.8") == 0  # another address has its own rate
