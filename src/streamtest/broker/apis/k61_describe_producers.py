"""DescribeProducers (key 61), version 0 (KIP-664).

Lists the active idempotent and transactional producers of each requested
partition: id, epoch, last sequence, last timestamp, coordinator epoch and the
first offset of its open transaction (what ``kafka-transactions.sh
describe-producers`` prints, and what finds a hanging transaction).
UNKNOWN_TOPIC_OR_PARTITION for a missing partition.
Left out: authorization.
"""

from __future__ import annotations

from typing import Any

from ..dispatch import RequestContext, api
from ..txn.admin import describe_producers


@api(61, "DescribeProducers", 0, 0)
def handle_describe_producers(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """Describe the producers of every requested partition."""
    return {
        "throttle_time": 0,
        "topics": [
            {
                "name": t.name,
                "partitions": [
                    describe_producers(ctx.cluster.topics, t.name, int(p))
                    for p in t.partition_indexes
                ],
            }
            for t in request.topics
        ],
    }
