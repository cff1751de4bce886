"""The leader epoch cache of one partition log (Kafka's ``LeaderEpochFileCache``).

Each entry ``(epoch, start_offset)`` says where a leader epoch's first batch lies.
Followers use it through OffsetForLeaderEpoch (KIP-101, KIP-279) to find where
their log diverges from the leader's and truncate there. Every change is written
to the partition's ``leader-epoch-checkpoint``.
"""

from __future__ import annotations

import bisect
import logging

from ..storage.fs import FileSystem
from .checkpoint import LeaderEpochCheckpointFile
from .errors import CorruptCheckpointError

_log = logging.getLogger("streamtest.broker.log")

#: OffsetForLeaderEpoch's "no such epoch" answers (Kafka's UNDEFINED_EPOCH...).
UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


class LeaderEpochCache:
    """Epoch start offsets, in increasing order of both epoch and offset.

    Args:
        fs: the filesystem holding the checkpoint (``None``: keep it in memory only).
        path: the ``leader-epoch-checkpoint`` path.
    """

    def __init__(self, fs: FileSystem | None = None, path: str | None = None) -> None:
        self._file = LeaderEpochCheckpointFile(fs, path) if fs is not None and path else None
        self._epochs: list[int] = []
        self._offsets: list[int] = []

    @classmethod
    def load(cls, fs: FileSystem, path: str) -> LeaderEpochCache:
        """Read the checkpoint; a corrupt one is logged and ignored (the cache is
        rebuilt from the batches' leader epochs by recovery).

        Raises:
            OSError: the file cannot be read.
        """
        cache = cls(fs, path)
        try:
            entries = cache._file.read() if cache._file else []
        except CorruptCheckpointError as exc:
            _log.warning("ignoring a corrupt leader epoch checkpoint: %s", exc)
            entries = []
        for epoch, offset in entries:
            cache._assign(epoch, offset)
        return cache

    def entries(self) -> list[tuple[int, int]]:
        """Return every ``(epoch, start_offset)``."""
        return list(zip(self._epochs, self._offsets, strict=True))

    @property
    def latest_epoch(self) -> int | None:
        """Return the latest epoch, or ``None`` when the cache is empty."""
        return self._epochs[-1] if self._epochs else None

    @property
    def earliest_entry(self) -> tuple[int, int] | None:
        """Return the first ``(epoch, start_offset)``, or ``None``."""
        return (self._epochs[0], self._offsets[0]) if self._epochs else None

    def _assign(self, epoch: int, start_offset: int) -> bool:
        if epoch < 0 or start_offset < 0:
            raise ValueError(f"invalid leader epoch entry ({epoch}, {start_offset})")
        if self._epochs and epoch == self._epochs[-1] and start_offset >= self._offsets[-1]:
            return False
        # Kafka's assign: drop the entries this one makes stale (a later or equal
        # epoch, or a later or equal start offset), then append it.
        while self._epochs and (self._epochs[-1] >= epoch or self._offsets[-1] >= start_offset):
            self._epochs.pop()
            self._offsets.pop()
        self._epochs.append(epoch)
        self._offsets.append(start_offset)
        return True

    def assign(self, epoch: int, start_offset: int) -> None:
        """Record that ``epoch`` starts at ``start_offset`` (a no-op when it is the
        latest epoch already, starting at or before that offset).

        Raises:
            ValueError: a negative epoch or offset.
            OSError: the checkpoint cannot be written.
        """
        if self._assign(epoch, start_offset):
            self._flush()

    def end_offset_for(self, epoch: int, log_end_offset: int) -> tuple[int, int]:
        """Answer OffsetForLeaderEpoch for ``epoch``: ``(epoch, end_offset)``.

        * the latest epoch: ``(epoch, log_end_offset)``;
        * an epoch below the first one: ``(epoch, first start offset)``;
        * another known or unknown epoch in range: the largest epoch at or below it
          and the start offset of the next epoch;
        * an epoch above the latest, or an empty cache:
          ``(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)``.
        """
        if epoch == UNDEFINED_EPOCH or not self._epochs:
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if epoch == self._epochs[-1]:
            return epoch, log_end_offset
        higher = bisect.bisect_right(self._epochs, epoch)
        if higher >= len(self._epochs):
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if higher == 0:
            return epoch, self._offsets[0]
        return self._epochs[higher - 1], self._offsets[higher]

    def epoch_for_offset(self, offset: int) -> int | None:
        """Return the epoch of the batch at ``offset`` (``None`` before the first)."""
        i = bisect.bisect_right(self._offsets, offset) - 1
        return self._epochs[i] if i >= 0 else None

    def truncate_from_end(self, end_offset: int) -> None:
        """Remove the epochs starting at or after ``end_offset`` (log truncation).

        Raises:
            OSError: the checkpoint cannot be written.
        """
        if end_offset < 0 or not self._offsets or self._offsets[-1] < end_offset:
            return
        while self._offsets and self._offsets[-1] >= end_offset:
            self._epochs.pop()
            self._offsets.pop()
        self._flush()

    def truncate_from_start(self, start_offset: int) -> None:
        """Drop the epochs wholly before ``start_offset``; the last one starting at
        or before it is kept, moved to start there (a new log start offset).

        Raises:
            OSError: the checkpoint cannot be written.
        """
        i = bisect.bisect_right(self._offsets, start_offset)
        if i == 0:
            return
        if i == 1 and self._offsets[0] == start_offset:
            return
        epoch = self._epochs[i - 1]
        del self._epochs[:i]
        del self._offsets[:i]
        self._epochs.insert(0, epoch)
        self._offsets.insert(0, start_offset)
        self._flush()

    def clear(self) -> None:
        """Remove every entry.

        Raises:
            OSError: the checkpoint cannot be written.
        """
        self._epochs.clear()
        self._offsets.clear()
        self._flush()

    def _flush(self) -> None:
        if self._file is not None:
            self._file.write(self.entries())

    def set_file(self, fs: FileSystem, path: str) -> None:
        """Point the cache at a new checkpoint path (a renamed directory)."""
        self._file = LeaderEpochCheckpointFile(fs, path)
