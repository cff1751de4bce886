"""Consumer groups: the group coordinator and everything it owns.

Split by concern (franz-go's kfake keeps all of this in one 3,700-line file; we
do not):

* ``coordinator`` -- :class:`GroupCoordinator`, the one entry point the API
  handlers and the rest of the broker use; owns every group and the timers.
* ``classic`` -- the classic (JoinGroup/SyncGroup) group state machine.
* ``consumer`` -- KIP-848 consumer groups (ConsumerGroupHeartbeat).
* ``assignors`` -- the server-side assignors of KIP-848 (uniform, range).
* ``offsets`` -- committed offsets, their persistence and expiry.
* ``consumer_protocol`` -- the embedded consumer protocol's subscription and
  assignment encodings, which classic groups carry as opaque bytes.
* ``timers`` -- loop timers that are all cancelled when the broker stops.
"""

from .coordinator import GroupCoordinator

__all__ = ["GroupCoordinator"]
