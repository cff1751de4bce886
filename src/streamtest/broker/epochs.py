"""A replica's leader-epoch cache: which epoch started at which offset (KIP-101/279).

Every replica remembers, for each leader epoch it has seen, the first offset
written in that epoch (Kafka's ``LeaderEpochFileCache``). With it a follower
that comes back finds where its log diverges from the leader's: it asks the
leader for the end offset of its own latest epoch (OffsetForLeaderEpoch) and
truncates to it, instead of trusting its high watermark, which can lose data or
keep data the leader never had.
"""

from __future__ import annotations

import bisect

UNDEFINED_EPOCH = -1
UNDEFINED_OFFSET = -1


class LeaderEpochCache:
    """``(epoch, start_offset)`` entries in increasing order of both."""

    def __init__(self) -> None:
        self._epochs: list[int] = []
        self._starts: list[int] = []

    def __repr__(self) -> str:
        return f"<LeaderEpochCache {list(zip(self._epochs, self._starts, strict=True))}>"

    def entries(self) -> list[tuple[int, int]]:
        """Return every ``(epoch, start_offset)``."""
        return list(zip(self._epochs, self._starts, strict=True))

    @property
    def latest_epoch(self) -> int:
        """Return the newest epoch, or -1 if none was assigned."""
        return self._epochs[-1] if self._epochs else UNDEFINED_EPOCH

    def assign(self, epoch: int, start_offset: int) -> None:
        """Record that ``epoch`` starts at ``start_offset``.

        A newer epoch is appended; an epoch that is already the latest keeps its
        start; older or overlapping entries are dropped as Kafka does when an
        entry would break the ordering (the log was truncated below it).
        """
        if self._epochs and epoch <= self._epochs[-1]:
            if epoch == self._epochs[-1]:
                return
        while self._epochs and (self._epochs[-1] >= epoch or self._starts[-1] > start_offset):
            self._epochs.pop()
            self._starts.pop()
        self._epochs.append(epoch)
        self._starts.append(start_offset)

    def end_offset_for(self, epoch: int, log_end_offset: int) -> tuple[int, int]:
        """Answer OffsetForLeaderEpoch for ``epoch``: ``(epoch, end_offset)``.

        As Kafka's LeaderEpochFileCache.endOffsetFor: the latest epoch ends at the
        log end offset; an older epoch ends where the next larger one starts, and
        is answered as the largest known epoch not above it (or as itself, when
        it is below every entry: the cache was truncated from the start). An epoch
        above every entry, or -1, gets ``(-1, -1)``.
        """
        if epoch < 0 or not self._epochs or epoch > self._epochs[-1]:
            return UNDEFINED_EPOCH, UNDEFINED_OFFSET
        if epoch == self._epochs[-1]:
            return epoch, log_end_offset
        i = bisect.bisect_right(self._epochs, epoch)  # the first entry above ``epoch``
        if i == 0:
            return epoch, self._starts[0]
        return self._epochs[i - 1], self._starts[i]

    def truncate_from_end(self, end_offset: int) -> None:
        """Drop entries that start at or after ``end_offset`` (the log was truncated)."""
        while self._starts and self._starts[-1] >= end_offset:
            self._epochs.pop()
            self._starts.pop()

    def truncate_from_start(self, start_offset: int) -> None:
        """Move the first entry's start up to ``start_offset`` (the log start moved)."""
        while len(self._starts) > 1 and self._starts[1] <= start_offset:
            del self._epochs[0]
            del self._starts[0]
        if self._starts and self._starts[0] < start_offset:
            self._starts[0] = start_offset

    def clear(self) -> None:
        """Forget everything (the replica's log was emptied)."""
        self._epochs.clear()
        self._starts.clear()
