"""Kafka's checkpoint files: small text files rewritten atomically.

Format (Kafka's ``CheckpointFile``)::

    0                    version
    2                    number of entries
    orders 0 1234        one entry per line, fields separated by a space
    orders 1 99

Offset checkpoints in the log directory map ``topic partition`` to an offset:
``recovery-point-offset-checkpoint``, ``log-start-offset-checkpoint``,
``cleaner-offset-checkpoint`` and ``replication-offset-checkpoint`` (the high
watermarks). The ``leader-epoch-checkpoint`` in each partition directory holds
``epoch start_offset`` lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..storage.fs import FileSystem
from .errors import CorruptCheckpointError

VERSION = 0
RECOVERY_POINT_CHECKPOINT = "recovery-point-offset-checkpoint"
LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint"
CLEANER_OFFSET_CHECKPOINT = "cleaner-offset-checkpoint"
HIGH_WATERMARK_CHECKPOINT = "replication-offset-checkpoint"
LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"
#: Written on a clean shutdown, removed once the logs are loaded (Kafka's marker).
CLEAN_SHUTDOWN_FILE = ".kafka_cleanshutdown"

TopicPartition = tuple[str, int]


def _render(entries: Iterable[tuple[object, ...]]) -> bytes:
    lines = [" ".join(str(field) for field in entry) for entry in entries]
    return f"{VERSION}\n{len(lines)}\n".encode() + "".join(f"{x}\n" for x in lines).encode()


def _parse(fs: FileSystem, path: str, fields: int) -> list[list[str]]:
    try:
        text = fs.read_bytes(path).decode()
    except UnicodeDecodeError as exc:
        raise CorruptCheckpointError(f"checkpoint file {path} is not text: {exc}") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 2:
        raise CorruptCheckpointError(f"checkpoint file {path} is truncated")
    if lines[0].strip() != str(VERSION):
        raise CorruptCheckpointError(
            f"unrecognised version {lines[0].strip()!r} in checkpoint file {path}"
        )
    try:
        expected = int(lines[1])
    except ValueError:
        raise CorruptCheckpointError(
            f"malformed entry count {lines[1]!r} in checkpoint file {path}"
        ) from None
    body = lines[2:]
    if len(body) != expected:
        raise CorruptCheckpointError(
            f"expected {expected} entries in checkpoint file {path} but found {len(body)}"
        )
    out = []
    for line in body:
        parts = line.split(" ")
        if len(parts) != fields:
            raise CorruptCheckpointError(f"malformed line in checkpoint file {path}: {line!r}")
        out.append(parts)
    return out


class OffsetCheckpointFile:
    """A ``topic partition offset`` checkpoint file (Kafka's ``OffsetCheckpointFile``)."""

    def __init__(self, fs: FileSystem, path: str) -> None:
        self.fs = fs
        self.path = path

    def write(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Replace the file's entries atomically.

        Raises:
            OSError: the write failed (the old file is intact).
        """
        self.fs.write_atomic(self.path, _render((t, p, o) for (t, p), o in sorted(offsets.items())))

    def read(self) -> dict[TopicPartition, int]:
        """Return the entries (empty when the file does not exist).

        Raises:
            CorruptCheckpointError: the file cannot be parsed.
            OSError: it cannot be read.
        """
        if not self.fs.exists(self.path):
            return {}
        out: dict[TopicPartition, int] = {}
        for topic, partition, offset in _parse(self.fs, self.path, 3):
            try:
                out[(topic, int(partition))] = int(offset)
            except ValueError:
                raise CorruptCheckpointError(
                    f"malformed line in checkpoint file {self.path}: {topic} {partition} {offset!r}"
                ) from None
        return out


class LeaderEpochCheckpointFile:
    """A partition's ``leader-epoch-checkpoint``: ``epoch start_offset`` lines."""

    def __init__(self, fs: FileSystem, path: str) -> None:
        self.fs = fs
        self.path = path

    def write(self, entries: Iterable[tuple[int, int]]) -> None:
        """Replace the file's entries atomically.

        Raises:
            OSError: the write failed.
        """
        self.fs.write_atomic(self.path, _render(entries))

    def read(self) -> list[tuple[int, int]]:
        """Return the entries (empty when the file does not exist).

        Raises:
            CorruptCheckpointError: the file cannot be parsed.
            OSError: it cannot be read.
        """
        if not self.fs.exists(self.path):
            return []
        out = []
        for epoch, offset in _parse(self.fs, self.path, 2):
            try:
                out.append((int(epoch), int(offset)))
            except ValueError:
                raise CorruptCheckpointError(
                    f"malformed line in checkpoint file {self.path}: {epoch} {offset}"
                ) from None
        return out
