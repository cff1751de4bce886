"""Share groups (KIP-932, "queues for Kafka") on the partition leaders.

Split by concern, as ``groups/`` is (share-group membership and assignment live
with the group coordinator, in ``groups/share.py``):

* ``partition`` -- :class:`SharePartition`: one group's in-flight records of one
  topic partition (acquisition locks, delivery counts, the start and end offsets).
* ``sessions`` -- share sessions and their epochs, one per member and node.
* ``manager`` -- :class:`SharePartitionManager`: every share partition and
  session of the cluster, leadership moves, admin offset changes.
* ``requests`` -- serving ShareFetch and ShareAcknowledge (the long poll).
* ``store`` -- :class:`ShareStateStore`: the one interface share-partition state
  is persisted through (Kafka's share coordinator and ``__share_group_state``).
"""

from .manager import SharePartitionManager
from .partition import SharePartition
from .store import ShareStateStore

__all__ = ["SharePartition", "SharePartitionManager", "ShareStateStore"]
