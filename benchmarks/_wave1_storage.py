"""The wave-1 storage, kept only as ``bench_log.py``'s baseline.

The log engine (``streamtest.broker.log``) replaced both pieces in the broker: the
Python-list partition log (``ListLog``) and the append journal behind it
(``DiskStorage``). The benchmark measures the new engine against them in the same
run, so they live on here, unchanged apart from their imports.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamtest.protocol.exceptions import CorruptRecordBatch
from streamtest.protocol.records import BatchHeader, iter_records, parse_header, split_batches

Buffer = bytes | bytearray | memoryview


@dataclass
class Topic:
    """What wave 1's DiskStorage read of a topic (``state.cluster.Topic``, removed
    with the log engine's integration)."""

    name: str
    topic_id: uuid.UUID
    partitions: list[Any]
    configs: dict[str, str]


#: Called with (partition_log, batch) after every append; the disk engine uses it.
AppendListener = Callable[["ListLog", Buffer], None]


@dataclass(slots=True)
class ListLog:
    """One replica's log of one topic partition (storage only: leadership, the high
    watermark and transactions live on ``topics.Partition``).

    Attributes:
        topic: the topic name.
        index: the partition index.
        log_start_offset: the first offset still readable (DeleteRecords moves it).
        log_end_offset: the offset the next record will get.
    """

    topic: str
    index: int
    log_start_offset: int = 0
    log_end_offset: int = 0
    batches: list[Buffer] = field(default_factory=list)
    base_offsets: list[int] = field(default_factory=list)
    max_timestamps: list[int] = field(default_factory=list)

    def append(self, batch: Buffer, header: BatchHeader) -> int:
        """Append one batch whose base offset was already set; return that offset."""
        self.batches.append(batch)
        self.base_offsets.append(header.base_offset)
        self.max_timestamps.append(header.max_timestamp)
        self.log_end_offset = header.base_offset + header.last_offset_delta + 1
        return header.base_offset

    def batch_index_for(self, offset: int) -> int:
        """Return the index of the batch that holds ``offset`` (or the next one)."""
        i = bisect.bisect_right(self.base_offsets, offset) - 1
        if i < 0:
            return 0
        header = parse_header(self.batches[i])
        if header.last_offset < offset:
            return i + 1
        return i

    def read(
        self, offset: int, max_bytes: int, at_least_one: bool, end: int | None = None
    ) -> list[Buffer]:
        """Return whole batches from ``offset`` on, up to ``max_bytes`` in total,
        and only batches that start before ``end`` (default: the log end offset;
        read_committed fetches pass the last stable offset).

        ``at_least_one`` returns the first batch even when it alone is larger than
        ``max_bytes``, so that a consumer can always make progress (KIP-74).
        """
        out: list[Buffer] = []
        end = self.log_end_offset if end is None else end
        if offset >= end:
            return out
        i = self.batch_index_for(offset)
        total = 0
        batches = self.batches
        n = bisect.bisect_left(self.base_offsets, end)
        while i < n:
            b = batches[i]
            size = len(b)
            if total + size > max_bytes and (out or not at_least_one):
                break
            out.append(b)
            total += size
            i += 1
        return out

    def truncate_to(self, offset: int) -> None:
        """Drop every batch that holds an offset at or after ``offset`` (follower
        truncation, KIP-101): the log then ends where the first dropped batch began."""
        if offset >= self.log_end_offset:
            return
        i = self.batch_index_for(offset)
        if i >= len(self.batches):
            self.log_end_offset = max(offset, self.log_start_offset)
            return
        new_end = self.base_offsets[i]
        del self.batches[i:]
        del self.base_offsets[i:]
        del self.max_timestamps[i:]
        self.log_end_offset = max(new_end, self.log_start_offset)

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Empty the log and make ``offset`` both its start and end."""
        self.batches.clear()
        self.base_offsets.clear()
        self.max_timestamps.clear()
        self.log_start_offset = self.log_end_offset = offset

    def delete_records_before(self, offset: int) -> None:
        """Advance the log start offset to ``offset`` and drop wholly older batches."""
        self.log_start_offset = max(self.log_start_offset, offset)
        drop = 0
        for i in range(len(self.batches)):
            nxt = self.base_offsets[i + 1] if i + 1 < len(self.batches) else self.log_end_offset
            if nxt <= self.log_start_offset:
                drop = i + 1
            else:
                break
        if drop:
            del self.batches[:drop]
            del self.base_offsets[:drop]
            del self.max_timestamps[:drop]

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """Return ``(offset, timestamp)`` of the first record with a timestamp at or
        after ``timestamp``, or ``None`` when there is none (ListOffsets, KIP-79)."""
        for i, batch in enumerate(self.batches):
            if self.max_timestamps[i] < timestamp:
                continue
            header = parse_header(batch)
            if header.is_control:
                continue
            for rec in iter_records(batch):
                if rec.offset >= self.log_start_offset and rec.timestamp >= timestamp:
                    return rec.offset, rec.timestamp
        return None

    def max_timestamp_offset(self) -> tuple[int, int] | None:
        """Return ``(offset, timestamp)`` of the record with the largest timestamp
        (ListOffsets MAX_TIMESTAMP, KIP-734), or ``None`` for an empty log."""
        best: tuple[int, int] | None = None
        for i, batch in enumerate(self.batches):
            if best is not None and self.max_timestamps[i] <= best[1]:
                continue
            header = parse_header(batch)
            if header.is_control:
                continue
            for rec in iter_records(batch):
                if rec.offset < self.log_start_offset:
                    continue
                if best is None or rec.timestamp > best[1]:
                    best = (rec.offset, rec.timestamp)
        return best


log = logging.getLogger("streamtest.broker.storage")

Buffer = bytes | bytearray | memoryview


def _write_all(fd: int, data: Buffer) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class DiskStorage:
    """Persists topics, logs and metadata documents under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "topics").mkdir(parents=True, exist_ok=True)
        (root / "meta").mkdir(parents=True, exist_ok=True)
        self._fds: dict[tuple[str, int], int] = {}
        self._dirs: dict[str, Path] = {}
        self._meta_fds: dict[str, int] = {}

    # -- topics and logs -------------------------------------------------------

    def _topic_dir(self, topic: Topic) -> Path:
        return self.root / "topics" / str(topic.topic_id)

    def load_topics(self) -> list[tuple[str, uuid.UUID, dict[str, str], list[ListLog]]]:
        """Return every persisted topic as ``(name, id, configs, partition logs)``."""
        topics = []
        for meta_path in sorted((self.root / "topics").glob("*/topic.json")):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, ValueError) as exc:
                log.error("skipping unreadable topic metadata %s: %s", meta_path, exc)
                continue
            name = meta["name"]
            logs = [
                self._recover(meta_path.parent, name, i) for i in range(int(meta["partitions"]))
            ]
            self._dirs[name] = meta_path.parent
            topics.append((name, uuid.UUID(meta["id"]), dict(meta.get("configs", {})), logs))
        return topics

    def _recover(self, directory: Path, name: str, index: int) -> ListLog:
        plog = ListLog(name, index)
        path = directory / f"{index}.log"
        start_path = directory / f"{index}.start"
        data = path.read_bytes() if path.exists() else b""
        view = memoryview(data)
        pos = 0
        while pos < len(data):
            try:
                header = parse_header(view, pos)
                end = pos + header.size
                if end > len(data):
                    raise CorruptRecordBatch("torn batch at the end of the log")
                split_batches(view[pos:end])  # checks the CRC
            except CorruptRecordBatch as exc:
                log.warning("truncating %s at byte %d of %d: %s", path, pos, len(data), exc)
                with open(path, "r+b") as f:
                    f.truncate(pos)
                break
            plog.append(view[pos:end], header)
            pos = end
        if start_path.exists():
            plog.delete_records_before(int(start_path.read_text().strip() or 0))
        if not plog.batches and plog.log_start_offset > plog.log_end_offset:
            plog.log_end_offset = plog.log_start_offset
        return plog

    def _write_topic_meta(self, topic: Topic) -> None:
        directory = self._dirs.setdefault(topic.name, self._topic_dir(topic))
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "name": topic.name,
            "id": str(topic.topic_id),
            "partitions": len(topic.partitions),
            "configs": topic.configs,
        }
        _atomic_write(directory / "topic.json", json.dumps(meta))

    def topic_created(self, topic: Topic) -> None:
        """Persist a new topic."""
        self._dirs[topic.name] = self._topic_dir(topic)
        self._write_topic_meta(topic)

    def topic_changed(self, topic: Topic) -> None:
        """Persist a topic's new partition count or configs."""
        self._write_topic_meta(topic)

    def topic_deleted(self, topic: Topic) -> None:
        """Remove a topic's directory."""
        for key in [k for k in self._fds if k[0] == topic.name]:
            os.close(self._fds.pop(key))
        directory = self._dirs.pop(topic.name, self._topic_dir(topic))
        shutil.rmtree(directory, ignore_errors=True)

    def append(self, plog: ListLog, batch: Buffer) -> None:
        """Append one batch to the partition's log file."""
        key = (plog.topic, plog.index)
        fd = self._fds.get(key)
        if fd is None:
            path = self._dirs[plog.topic] / f"{plog.index}.log"
            fd = self._fds[key] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _write_all(fd, batch)

    def log_start_changed(self, plog: ListLog) -> None:
        """Persist a partition's new log start offset."""
        _atomic_write(self._dirs[plog.topic] / f"{plog.index}.start", str(plog.log_start_offset))

    # -- metadata documents ---------------------------------------------------------

    def put_meta(self, namespace: str, key: str, value: Any) -> None:
        """Append one key change to ``meta/<namespace>.jsonl``."""
        fd = self._meta_fds.get(namespace)
        if fd is None:
            path = self.root / "meta" / f"{namespace}.jsonl"
            fd = self._meta_fds[namespace] = os.open(
                path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
            )
        _write_all(fd, (json.dumps({"k": key, "v": value}) + "\n").encode())

    def load_meta(self, namespace: str) -> dict[str, Any]:
        """Replay ``meta/<namespace>.jsonl``; a torn last line is ignored and the file
        is compacted to one line per live key."""
        path = self.root / "meta" / f"{namespace}.jsonl"
        if not path.exists():
            return {}
        out: dict[str, Any] = {}
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                log.warning("ignoring a torn line in %s", path)
                continue
            if entry["v"] is None:
                out.pop(entry["k"], None)
            else:
                out[entry["k"]] = entry["v"]
        compacted = "".join(json.dumps({"k": k, "v": v}) + "\n" for k, v in out.items())
        _atomic_write(path, compacted)
        return out

    def close(self) -> None:
        """Close every open file."""
        for fd in self._fds.values():
            os.close(fd)
        for fd in self._meta_fds.values():
            os.close(fd)
        self._fds.clear()
        self._meta_fds.clear()
