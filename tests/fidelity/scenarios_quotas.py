"""Scenarios for client quotas: AlterClientQuotas (49) and DescribeClientQuotas (48)
(see scenarios_data for the conventions).

The reference broker is shared with other tests, so every entity is named after
the scenario (``side.name_of``) and every describe filters on such a name: an
unfiltered describe would list whatever else the shared broker holds. Each bad
alteration is sent on its own, because Kafka answers the entities of one request
in the order of a hash map.
"""

from __future__ import annotations

from typing import Any

from .harness import Side, scenario

EXACT, DEFAULT, ANY = 0, 1, 2  # DescribeClientQuotas match types


def entry(entity: dict[str, str | None], **ops: float | None) -> dict[str, Any]:
    """Return one AlterClientQuotas entry: ``None`` removes a key."""
    return {
        "entity": [{"entity_type": t, "entity_name": n} for t, n in entity.items()],
        "ops": [
            {"key": k, "value": 0.0 if v is None else float(v), "remove": v is None}
            for k, v in ops.items()
        ],
    }


def alter(
    side: Side, v: int, *entries: dict[str, Any], validate_only: bool = False, label: str = ""
):
    return side.call(49, v, {"entries": list(entries), "validate_only": validate_only}, label=label)


def describe(
    side: Side,
    v: int,
    *components: tuple[str, int, str | None],
    strict: bool = False,
    label: str = "",
):
    return side.call(
        48,
        v,
        {
            "components": [
                {"entity_type": t, "match_type": m, "match": n} for t, m, n in components
            ],
            "strict": strict,
        },
        label=label,
    )


def wait_for(
    side: Side,
    v: int,
    component: tuple[str, int, str | None],
    values: dict[str, float] | None,
    label: str,
    strict: bool = False,
) -> None:
    """Describe ``component`` until its one entity has ``values`` (``None``: until
    there is none), and record that answer. Kafka applies an alteration through its
    controller's metadata log, so a describe right after it may still see the old
    configs; streamtest answers at once."""
    t, m, n = component
    data = {"components": [{"entity_type": t, "match_type": m, "match": n}], "strict": strict}

    def settled(body: Any) -> bool:
        found = [{x.key: x.value for x in e.values} for e in (body.entries or ())]
        return found == ([] if values is None else [values])

    side.observe(label, side.retry(48, v, data, settled))


# -- AlterClientQuotas (49) and reading back -------------------------------------------


@scenario(49, "alter_client_quotas/client-id", range(0, 2))
def _alter_client(side: Side, v: int) -> None:
    """Set two rates on a client id, read them back, remove one, then the other:
    the entity is gone once it has no key."""
    app = side.name_of("app")
    alter(
        side,
        v,
        entry({"client-id": app}, producer_byte_rate=1024, consumer_byte_rate=2048),
        label="set",
    )
    wait_for(
        side,
        v,
        ("client-id", EXACT, app),
        {"producer_byte_rate": 1024.0, "consumer_byte_rate": 2048.0},
        label="both",
    )
    alter(side, v, entry({"client-id": app}, consumer_byte_rate=None), label="remove-one")
    wait_for(side, v, ("client-id", EXACT, app), {"producer_byte_rate": 1024.0}, label="one")
    alter(side, v, entry({"client-id": app}, producer_byte_rate=None), label="remove-last")
    wait_for(side, v, ("client-id", EXACT, app), None, label="none")


@scenario(49, "alter_client_quotas/user-and-default-client", range(0, 2))
def _alter_user_default_client(side: Side, v: int) -> None:
    """A user with the default client id, and the user alone: the filters that
    match one, the other or both (strict or not)."""
    user = side.name_of("user")
    alter(
        side,
        v,
        entry({"user": user, "client-id": None}, producer_byte_rate=10, request_percentage=33.5),
        label="user-default-client",
    )
    alter(side, v, entry({"user": user}, consumer_byte_rate=20), label="user")
    # Kafka applies metadata in order: once the second change shows, so does the first.
    wait_for(
        side, v, ("user", EXACT, user), {"consumer_byte_rate": 20.0}, "user-strict", strict=True
    )
    describe(side, v, ("user", EXACT, user), ("client-id", DEFAULT, None), label="default-client")
    describe(side, v, ("user", EXACT, user), ("client-id", ANY, None), label="any-client")
    for entity in ({"user": user, "client-id": None}, {"user": user}):
        keys = (
            ("producer_byte_rate", "request_percentage")
            if len(entity) == 2
            else ("consumer_byte_rate",)
        )
        alter(side, v, entry(entity, **dict.fromkeys(keys)), label=f"clean-{len(entity)}")


@scenario(49, "alter_client_quotas/validate-only")
def _alter_validate_only(side: Side) -> None:
    """validate_only answers as if applied and changes nothing."""
    app = side.name_of("app")
    alter(side, 1, entry({"client-id": app}, producer_byte_rate=5), validate_only=True)
    describe(side, 1, ("client-id", EXACT, app), label="nothing")


@scenario(49, "alter_client_quotas/ip")
def _alter_ip(side: Side) -> None:
    """connection_creation_rate on an IP entity, read back and removed (a fixed
    documentation address: IP entities cannot carry the run's prefix)."""
    ip = "192.0.2.77"
    alter(side, 1, entry({"ip": ip}, connection_creation_rate=5), label="set")
    wait_for(side, 1, ("ip", EXACT, ip), {"connection_creation_rate": 5.0}, label="read")
    alter(side, 1, entry({"ip": ip}, connection_creation_rate=None), label="remove")
    wait_for(side, 1, ("ip", EXACT, ip), None, label="gone")


_BAD: dict[str, tuple[dict[str, str | None], dict[str, float | None]]] = {
    "fractional-long": ({"client-id": "c"}, {"producer_byte_rate": 1.5}),
    "zero": ({"client-id": "c"}, {"consumer_byte_rate": 0.0}),
    "negative-double": ({"user": None}, {"request_percentage": -5.0}),
    "unknown-key": ({"client-id": "c"}, {"producer_bytes_rate": 1.0}),
    "ip-key-on-a-client": ({"client-id": "c"}, {"connection_creation_rate": 1.0}),
    "client-key-on-an-ip": ({"ip": "192.0.2.78"}, {"producer_byte_rate": 1.0}),
    "ip-with-a-user": ({"ip": "192.0.2.78", "user": "u"}, {"connection_creation_rate": 1.0}),
    "empty-user": ({"user": ""}, {"producer_byte_rate": 1.0}),
    "unknown-entity-type": ({"group": "g"}, {"producer_byte_rate": 1.0}),
    "empty-entity": ({}, {"producer_byte_rate": 1.0}),
    "too-large-for-an-int": ({"ip": "192.0.2.78"}, {"connection_creation_rate": 2.0**31}),
}


@scenario(49, "alter_client_quotas/invalid", {k: k for k in _BAD})
def _alter_invalid(side: Side, case: str) -> None:
    """Kafka's per-entity validation: INVALID_REQUEST, nothing applied."""
    entity, ops = _BAD[case]
    named = {t: (side.name_of(n) if n and t != "ip" else n) for t, n in entity.items()}
    alter(side, 1, entry(named, **ops))


@scenario(49, "alter_client_quotas/duplicate-key")
def _alter_duplicate_key(side: Side) -> None:
    """The same key twice for one entity: INVALID_REQUEST, nothing applied."""
    app = side.name_of("app")
    twice = entry({"client-id": app}, producer_byte_rate=1)
    twice["ops"] = twice["ops"] * 2
    alter(side, 1, twice, label="alter")
    describe(side, 1, ("client-id", EXACT, app), label="nothing")


# -- DescribeClientQuotas (48) filters ---------------------------------------------------


@scenario(48, "describe_client_quotas/no-match", range(0, 2))
def _describe_none(side: Side, v: int) -> None:
    """An exact name nobody has: no entries, no error."""
    describe(side, v, ("client-id", EXACT, side.name_of("nobody")))


_BAD_FILTERS: dict[str, list[tuple[str, int, str | None]]] = {
    "exact-without-name": [("user", EXACT, None)],
    "default-with-name": [("user", DEFAULT, "x")],
    "any-with-name": [("user", ANY, "x")],
    "type-twice": [("user", EXACT, "a"), ("user", ANY, None)],
    "unknown-type": [("tenant", ANY, None)],
    "ip-with-user": [("ip", ANY, None), ("user", ANY, None)],
    "unknown-match-type": [("user", 7, None)],
}


@scenario(48, "describe_client_quotas/invalid-filter", {k: k for k in _BAD_FILTERS})
def _describe_invalid(side: Side, case: str) -> None:
    """A bad filter fails the whole request (INVALID_REQUEST, or UNSUPPORTED_VERSION
    for an unknown entity type) with null entries."""
    describe(side, 1, *_BAD_FILTERS[case])


@scenario(49, "alter_client_quotas/several-entities")
def _alter_several(side: Side) -> None:
    """Four entities in one request: Kafka answers them in its hash map's order
    (which the run-unique names change from run to run, on both sides alike)."""
    a, b = side.name_of("a"), side.name_of("b")
    alter(
        side,
        1,
        entry({"user": a, "client-id": a}, producer_byte_rate=7),
        entry({"client-id": b}, producer_byte_rate=7),
        entry({"user": None}, producer_byte_rate=None),
        entry({"ip": "192.0.2.79"}, connection_creation_rate=None),
        label="set",
    )
    alter(
        side,
        1,
        entry({"user": a, "client-id": a}, producer_byte_rate=None),
        entry({"client-id": b}, producer_byte_rate=None),
        label="clean",
    )


@scenario(49, "alter_client_quotas/type-twice")
def _alter_type_twice(side: Side) -> None:
    """A user named twice in one entity: Kafka's map keeps the last name, and the
    alteration applies to that user."""
    a, b = side.name_of("a"), side.name_of("b")
    twice = entry({"user": a}, producer_byte_rate=7)
    twice["entity"].append({"entity_type": "user", "entity_name": b})
    alter(side, 1, twice, label="alter")
    wait_for(side, 1, ("user", EXACT, b), {"producer_byte_rate": 7.0}, label="last-name")
    describe(side, 1, ("user", EXACT, a), label="first-name")
    alter(side, 1, entry({"user": b}, producer_byte_rate=None), label="clean")


@scenario(49, "alter_client_quotas/entity-twice")
def _alter_entity_twice(side: Side) -> None:
    """One entity altered twice in one request: INVALID_REQUEST for it, though
    Kafka applies the first alteration."""
    app = side.name_of("app")
    alter(
        side,
        1,
        entry({"client-id": app}, producer_byte_rate=1),
        entry({"client-id": app}, consumer_byte_rate=2),
        label="alter",
    )
    wait_for(side, 1, ("client-id", EXACT, app), {"producer_byte_rate": 1.0}, label="first")
    alter(side, 1, entry({"client-id": app}, producer_byte_rate=None), label="clean")
