"""Producer-state snapshots kept beside a partition's segments.

Kafka rebuilds idempotent-producer state on start from ``<offset>.snapshot`` files
plus the batches after the newest one. The log stores the broker's snapshot bytes
opaquely under that name (20-digit offset), atomically, and deletes snapshots that
no longer match the log: above the log end after a truncation or a crash, and below
the first segment once older segments are deleted.
"""

from __future__ import annotations

import bisect

from ..storage.fs import FileSystem
from .segment import filename_prefix, offset_from_filename

SNAPSHOT_SUFFIX = ".snapshot"


class SnapshotStore:
    """The ``.snapshot`` files of one partition directory."""

    def __init__(self, fs: FileSystem, directory: str) -> None:
        self.fs = fs
        self.directory = directory
        self._offsets: list[int] = []

    @classmethod
    def load(cls, fs: FileSystem, directory: str, names: list[str]) -> SnapshotStore:
        """Index the snapshot files among ``names`` (a listing of the directory)."""
        store = cls(fs, directory)
        for name in names:
            if name.endswith(SNAPSHOT_SUFFIX) and name.count(".") == 1:
                offset = offset_from_filename(name)
                if offset is not None:
                    store._offsets.append(offset)
        store._offsets.sort()
        return store

    def path(self, offset: int) -> str:
        """Return the file path of the snapshot at ``offset``."""
        return f"{self.directory}/{filename_prefix(offset)}{SNAPSHOT_SUFFIX}"

    def offsets(self) -> list[int]:
        """Return the offsets that have a snapshot, in order."""
        return list(self._offsets)

    def write(self, offset: int, data: bytes) -> None:
        """Store ``data`` as the snapshot at ``offset`` (replacing one there).

        Raises:
            OSError: the write failed (a previous snapshot is intact).
        """
        self.fs.write_atomic(self.path(offset), data)
        i = bisect.bisect_left(self._offsets, offset)
        if i == len(self._offsets) or self._offsets[i] != offset:
            self._offsets.insert(i, offset)

    def latest(self, at_or_before: int | None = None) -> tuple[int, bytes] | None:
        """Return ``(offset, data)`` of the newest snapshot at or before
        ``at_or_before`` (any offset when ``None``), or ``None``.

        Raises:
            OSError: the file cannot be read.
        """
        if at_or_before is None:
            i = len(self._offsets)
        else:
            i = bisect.bisect_right(self._offsets, at_or_before)
        while i > 0:
            offset = self._offsets[i - 1]
            try:
                return offset, self.fs.read_bytes(self.path(offset))
            except FileNotFoundError:
                del self._offsets[i - 1]
                i -= 1
        return None

    def delete_after(self, offset: int) -> None:
        """Delete the snapshots above ``offset``."""
        i = bisect.bisect_right(self._offsets, offset)
        self._delete(self._offsets[i:])
        del self._offsets[i:]

    def delete_before(self, offset: int) -> None:
        """Delete the snapshots below ``offset``."""
        i = bisect.bisect_left(self._offsets, offset)
        self._delete(self._offsets[:i])
        del self._offsets[:i]

    def delete_all(self) -> None:
        """Delete every snapshot."""
        self._delete(self._offsets)
        self._offsets = []

    def _delete(self, offsets: list[int]) -> None:
        for offset in offsets:
            try:
                self.fs.remove(self.path(offset))
            except FileNotFoundError:
                pass
