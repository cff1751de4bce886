"""AlterClientQuotas (key 49), versions 0-1 (KIP-546; v1 is flexible).

Sets or removes quota configs on entities: a user, a client id, both, the
default of either (a null name), or an IP (``connection_creation_rate``). The
validation and its messages are those of Kafka's ``ClientQuotaControlManager``;
each entity is answered on its own:

* INVALID_REQUEST for an empty entity ("Invalid empty client quota entity"), an
  unknown entity type ("Unhandled client quota entity type: foo"), an empty name
  ("Empty user not supported"), an IP combined with a user or client id, an IP
  that is not an IP literal, an unknown key for the entity ("Invalid
  configuration key foo"), a value not above 0 ("Quota producer_byte_rate must
  be greater than 0"), a fractional value of an integral key
  ("producer_byte_rate cannot be a fractional value."), a key named twice for an
  entity, and an entity named twice in one request ("Ignoring duplicate entity
  ..."; as in Kafka, its first alteration still applies).
* As in Kafka, an entity is a map: a type named twice keeps its last name; and
  the answer lists entities, and each entity's components, in the order of
  Kafka's hash maps (the fidelity suite compares them with Kafka's).
* An entity with an error is left unchanged; the others are applied together,
  unless ``validate_only``. The configs are the cluster's: a change made through
  any node applies to the next request of every client on every node.
* With a data directory the configs are saved first, in its ``metadata/``
  (``quotas.save_quotas``), and survive a restart; if they cannot be saved, the
  valid entities get UNKNOWN_SERVER_ERROR naming the file, and nothing changes.
* Unlike Kafka, whose controller applies a change through its metadata log (a
  describe right after may not see it yet), a change is visible at once.
Enforced: ``producer_byte_rate`` (Produce), ``consumer_byte_rate`` (Fetch),
``connection_creation_rate`` (new connections per IP).
Left out: authorization (ALTER_CONFIGS on the cluster); ``request_percentage``
(KIP-124) and ``controller_mutation_rate`` (KIP-599) are stored and described but
not enforced.
"""

from __future__ import annotations

from typing import Any

from ..dispatch import RequestContext, api
from ..quotas import Alteration


@api(49, "AlterClientQuotas", 0, 1)
def handle_alter_client_quotas(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Validate and apply each entry's quota changes; answer per entity."""
    alterations = [
        Alteration(
            tuple((e.entity_type, e.entity_name) for e in entry.entity),
            tuple((op.key, None if op.remove else float(op.value)) for op in entry.ops),
        )
        for entry in request.entries
    ]
    results = ctx.cluster.quotas.alter(alterations, bool(request.validate_only))
    return {
        "throttle_time": 0,
        "entries": [
            {
                "error_code": r.error_code,
                "error_message": r.error_message,
                "entity": [{"entity_type": t, "entity_name": n} for t, n in r.entity],
            }
            for r in results
        ],
    }
