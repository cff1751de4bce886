"""DescribeTransactions (key 65), version 0 (KIP-664).

State, timeout, start time, producer id and epoch, and the partitions of each
requested transactional id (``kafka-transactions.sh describe``).
TRANSACTIONAL_ID_NOT_FOUND for an unknown id. Groups added with AddOffsetsToTxn
are shown as partition 0 of ``__consumer_offsets`` (Kafka shows the group's
partition of that topic; ours has one).
Left out: authorization.
"""

from __future__ import annotations

import datetime
from typing import Any

from ..dispatch import RequestContext, api
from ..services.coordinators import transaction_error
from ..txn.admin import describe_transaction


def _as_datetime(ms: int) -> datetime.datetime:
    # kio's datetime_i64 writes round(timestamp * 1000); -1 ms is Kafka's "none".
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)


@api(65, "DescribeTransactions", 0, 0)
def handle_describe_transactions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe every requested transactional id."""
    states = []
    for txn_id in request.transactional_ids:
        entry = describe_transaction(ctx.cluster.transactions, txn_id)
        not_here = transaction_error(ctx, txn_id)
        if not_here:
            entry.update(error_code=not_here, transaction_state="", topics=[],
                         transaction_timeout=0)
        if entry["error_code"]:
            # As Kafka: an entry that failed carries zeros, not -1 (its defaults).
            entry.update(transaction_start_time=0, producer_id=0, producer_epoch=0)
        # -1 (no transaction ongoing) cannot be sent as a timestamp; Kafka's start
        # time field is never negative either.
        entry["transaction_start_time"] = _as_datetime(max(entry["transaction_start_time"], 0))
        states.append(entry)
    return {"throttle_time": 0, "transaction_states": states}
