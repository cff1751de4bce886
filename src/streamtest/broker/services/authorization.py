"""Authorized operations as Kafka answers them with no authorizer configured.

Without ``authorizer.class.name`` Kafka allows everything, and when a client asks
for a resource's authorized operations (Metadata v8+, DescribeCluster,
DescribeGroups v3+, ConsumerGroupDescribe, DescribeTopicPartitions) it answers
every operation the resource type supports (``AuthHelper.authorizedOperations``
over ``AclEntry.supportedOperations``), as a bit field indexed by the operation's
code. The values below are what Apache Kafka 4.4 answers.
"""

from __future__ import annotations

#: ``AclOperation`` codes (the bit positions of an authorized-operations field).
READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE = 3, 4, 5, 6, 7, 8
CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE = 9, 10, 11, 12

#: The value of an authorized-operations field the client did not ask for.
AUTH_OPS_UNSET = -(2**31)


def _bits(*operations: int) -> int:
    return sum(1 << op for op in operations)


#: Every operation on a topic (3576).
TOPIC_OPERATIONS = _bits(
    READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS
)
#: Every operation on a group (3400); group configs (KIP-848) can be described
#: and altered too.
GROUP_OPERATIONS = _bits(READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS)
#: Every operation on the cluster (8096).
CLUSTER_OPERATIONS = _bits(
    CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE
)


def operations(all_operations: int, requested: bool) -> int:
    """Return ``all_operations`` if the client asked for them, else the unset value."""
    return all_operations if requested else AUTH_OPS_UNSET
