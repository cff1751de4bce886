"""The cluster's metadata on disk: topic definitions and small state documents.

What Kafka keeps in its KRaft metadata log (topics, their ids, replica
assignments and configs) and in a few broker files (the producer id block, ...)
lives here, under ``<data dir>/metadata``; the partition logs themselves live in
each node's directory (``<data dir>/node-<id>``, see ``log.LogManager``)::

    metadata/topics/<topic-id>.json   name, id, configs, each partition's replicas
    metadata/meta/<namespace>.jsonl   key/value documents, one change per line

Leaders, ISRs and leader epochs are not stored: on start the cluster derives them
from the recovered logs (the replicas with the longest log lead and form the ISR;
epochs continue above the highest one any replica's log has seen).

Topic documents are replaced atomically (write, fsync, rename). Documents are
appended and handed to the kernel before the change they record is acknowledged,
so they survive a SIGKILL of the broker; a torn last line is ignored on load.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..topics import Topic

log = logging.getLogger("streamtest.broker.storage")

#: What a wave-1 data directory has at its top; its layout cannot be read any more.
_OLD_LAYOUT_MARKER = "topics"


class MetaDocuments(Protocol):
    """Small key/value documents a component persists (``None`` deletes a key)."""

    def put_meta(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``namespace``/``key``."""
        ...

    def load_meta(self, namespace: str) -> dict[str, Any]:
        """Return every key and value stored under ``namespace``."""
        ...


@dataclass(frozen=True, slots=True)
class TopicRecord:
    """A persisted topic definition."""

    name: str
    topic_id: uuid.UUID
    configs: dict[str, str]
    #: Each partition's replica node ids, the preferred leader first.
    replicas: list[list[int]]


class DataDirError(OSError):
    """A data directory that cannot be used (one line naming the path and why)."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class MetadataStore:
    """Persists topic definitions and metadata documents under ``root``.

    Args:
        data_dir: the cluster's data directory (``metadata/`` is made inside).

    Raises:
        DataDirError: the directory holds an older streamtest layout, or cannot be
            created or written.
    """

    def __init__(self, data_dir: Path) -> None:
        if (data_dir / _OLD_LAYOUT_MARKER).is_dir():
            raise DataDirError(
                f"{data_dir} holds an older streamtest data layout (topics/), which this "
                "version cannot read; remove it or choose another --data-dir"
            )
        self.root = data_dir / "metadata"
        try:
            (self.root / "topics").mkdir(parents=True, exist_ok=True)
            (self.root / "meta").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataDirError(
                f"cannot use data dir {data_dir}: {exc.strerror or exc}"
            ) from None
        self._meta_fds: dict[str, int] = {}

    # -- topics ---------------------------------------------------------------------

    def load_topics(self) -> list[TopicRecord]:
        """Return every persisted topic, by name."""
        out = []
        for path in sorted((self.root / "topics").glob("*.json")):
            try:
                doc = json.loads(path.read_text())
                out.append(
                    TopicRecord(
                        doc["name"],
                        uuid.UUID(doc["id"]),
                        dict(doc.get("configs", {})),
                        [list(map(int, r)) for r in doc["replicas"]],
                    )
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("skipping unreadable topic metadata %s: %s", path, exc)
        return sorted(out, key=lambda t: t.name)

    def _topic_path(self, topic: Topic) -> Path:
        return self.root / "topics" / f"{topic.topic_id}.json"

    def topic_created(self, topic: Topic) -> None:
        """Persist a new topic."""
        self.topic_changed(topic)

    def topic_changed(self, topic: Topic) -> None:
        """Persist a topic's partitions, replica assignments or configs."""
        doc = {
            "name": topic.name,
            "id": str(topic.topic_id),
            "configs": topic.configs,
            "replicas": [p.replicas for p in topic.partitions],
        }
        path = self._topic_path(topic)
        tmp = path.with_suffix(".json.tmp")
        with open(tmp, "w") as f:
            f.write(json.dumps(doc))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)

    def topic_deleted(self, topic: Topic) -> None:
        """Forget a topic (its logs are deleted by each node's log manager)."""
        self._topic_path(topic).unlink(missing_ok=True)

    # -- metadata documents ---------------------------------------------------------

    def put_meta(self, namespace: str, key: str, value: Any) -> None:
        """Append one key change to ``meta/<namespace>.jsonl``."""
        fd = self._meta_fds.get(namespace)
        if fd is None:
            path = self.root / "meta" / f"{namespace}.jsonl"
            fd = self._meta_fds[namespace] = os.open(
                path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
            )
        data = memoryview((json.dumps({"k": key, "v": value}) + "\n").encode())
        while data:
            data = data[os.write(fd, data) :]

    def load_meta(self, namespace: str) -> dict[str, Any]:
        """Replay ``meta/<namespace>.jsonl``; a torn last line is ignored, and the
        file is rewritten with one line per live key."""
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
        fd = self._meta_fds.pop(namespace, None)
        if fd is not None:
            os.close(fd)
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps({"k": k, "v": v}) + "\n" for k, v in out.items()))
        os.replace(tmp, path)
        return out

    def close(self) -> None:
        """Close every open file."""
        for fd in self._meta_fds.values():
            os.close(fd)
        self._meta_fds.clear()
