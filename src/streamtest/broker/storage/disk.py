"""Disk storage: a directory per topic, one append-only log file per partition.

Layout under the data directory::

    topics/<topic-id>/topic.json     name, id, partition count, configs
    topics/<topic-id>/<n>.log        the partition's record batches, back to back
                                     (Kafka's own on-disk batch format)
    topics/<topic-id>/<n>.start      the log start offset, when DeleteRecords moved it
    meta/<namespace>.jsonl           key/value documents (group offsets, producer
                                     and transaction state), one change per line

Every change is handed to the kernel with ``write(2)`` before the broker
acknowledges it, so it survives a SIGKILL of the broker (not a power cut: there is
no fsync, which would cost milliseconds per produce and buys nothing in tests).
On start-up each log is scanned; a torn or corrupt tail (a batch cut short by a
crash, or failing its CRC) is truncated away.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from ...protocol.exceptions import CorruptRecordBatch
from ...protocol.records import parse_header, split_batches
from ..state.cluster import Topic
from ..state.log import PartitionLog

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

    def load_topics(self) -> list[Topic]:
        """Return every persisted topic with its recovered logs."""
        topics = []
        for meta_path in sorted((self.root / "topics").glob("*/topic.json")):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, ValueError) as exc:
                log.error("skipping unreadable topic metadata %s: %s", meta_path, exc)
                continue
            topic = Topic(meta["name"], uuid.UUID(meta["id"]), [], dict(meta.get("configs", {})))
            for i in range(int(meta["partitions"])):
                topic.partitions.append(self._recover(meta_path.parent, topic.name, i))
            self._dirs[topic.name] = meta_path.parent
            topics.append(topic)
        return topics

    def _recover(self, directory: Path, name: str, index: int) -> PartitionLog:
        plog = PartitionLog(name, index)
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
                log.warning(
                    "truncating %s at byte %d of %d: %s", path, pos, len(data), exc
                )
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

    def append(self, plog: PartitionLog, batch: Buffer) -> None:
        """Append one batch to the partition's log file."""
        key = (plog.topic, plog.index)
        fd = self._fds.get(key)
        if fd is None:
            path = self._dirs[plog.topic] / f"{plog.index}.log"
            fd = self._fds[key] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _write_all(fd, batch)

    def log_start_changed(self, plog: PartitionLog) -> None:
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
