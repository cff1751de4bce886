"""One filesystem interface for the log engine: in memory (the default) or on disk.

The log engine (``broker.log``) stores every segment, index and checkpoint through a
:class:`FileSystem`, so one code path serves the in-memory broker and a broker with a
data directory, as tansu's storage engines do behind one trait.

* :class:`MemoryFileSystem` keeps each file as a list of immutable ``bytes`` chunks.
  Reads are zero-copy ``memoryview`` slices of those chunks, so a buffer handed to a
  Fetch response stays valid after later appends, truncation or deletion of the file
  (a ``bytearray`` could not be grown while a view of it is exported: ``BufferError``).
* :class:`OsFileSystem` maps paths under a root directory to real files; reads are
  ``pread`` copies out of the OS page cache, so no data is held in Python.

Both implementations share the semantics the log relies on:

* ``FileHandle.append`` is all or nothing: when the write fails part-way (``OSError``,
  for instance ``ENOSPC``), the file is truncated back to its previous length and the
  error is raised, so a failed append leaves no garbage behind (write first, then
  publish).
* ``rename`` replaces its target atomically; ``write_atomic`` writes a small file
  through a temporary file, ``fsync`` and a rename (Kafka's checkpoint files).
* Crash simulation: :meth:`FileSystem.crash` reverts every file to the length it had
  at its last ``fsync`` and invalidates every open handle, as a power cut (or
  ``kill_node`` of the multi-node cluster) would. Namespace changes (create, rename,
  remove) are treated as durable; only file contents can be lost.
* Fault injection: :meth:`FileSystem.set_capacity` makes writes past a total size
  fail with ``ENOSPC`` (after a partial write, as a full disk does), and
  :meth:`FileSystem.fail_next` fails the next operations with a chosen errno.

Thread safety: the broker's loop owns the files it appends to; the log cleaner reads
sealed files and writes new ``.cleaned`` files from a worker thread. Namespace
operations take a lock; a :meth:`FileHandle.reader` gives the worker a read handle
that stays valid whatever the loop does with the original handle.

Paths are relative, ``/``-separated, and may not leave the root (``..``).
"""

from __future__ import annotations

import bisect
import errno as errno_mod
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

Buffer = bytes | bytearray | memoryview

#: Operations that :meth:`FileSystem.fail_next` can fail.
ALL_OPS = frozenset(
    {
        "append",
        "truncate",
        "fsync",
        "create",
        "rename",
        "remove",
        "makedirs",
        "write_atomic",
        "read",
    }
)
#: The operations failed by default: everything that changes the filesystem.
WRITE_OPS = ALL_OPS - {"read"}


class HandleInvalidated(OSError):
    """A file handle was used after :meth:`FileSystem.crash` (the process "died")."""

    def __init__(self, path: str) -> None:
        super().__init__(errno_mod.EBADF, f"file handle invalidated by a simulated crash: {path}")


def normalize(path: str) -> str:
    """Return ``path`` as a clean relative path ("" is the root).

    Raises:
        ValueError: the path is absolute or leaves the root.
    """
    if path.startswith("/"):
        raise ValueError(f"filesystem paths are relative to the root: {path!r}")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise ValueError(f"path leaves the filesystem root: {path!r}")
        parts.append(part)
    return "/".join(parts)


def _parent(path: str) -> str:
    i = path.rfind("/")
    return path[:i] if i >= 0 else ""


@dataclass
class _Fault:
    remaining: int
    errno: int
    ops: frozenset[str]
    partial: bool


class FileHandle(ABC):
    """An open file: appended to by one owner, read by anyone.

    A handle is not a file position: every read names its position (``pread``).
    """

    __slots__ = ()
    path: str

    @property
    @abstractmethod
    def size(self) -> int:
        """Return the file's current length in bytes."""

    @abstractmethod
    def append(self, data: Buffer, *, owned: bool = False) -> int:
        """Append ``data`` at the end of the file; return the position it starts at.

        All or nothing: on failure the file keeps its previous length. With
        ``owned``, the caller hands ``data`` over and never changes it again: the
        in-memory filesystem then keeps it instead of a copy.

        Raises:
            OSError: the write failed (``ENOSPC``, ``EIO``...); nothing was appended.
        """

    @abstractmethod
    def pread(self, position: int, size: int) -> Buffer:
        """Return up to ``size`` bytes from ``position`` (fewer at the end of the file).

        The buffer is never modified afterwards, whatever happens to the file.

        Raises:
            OSError: the read failed.
        """

    @abstractmethod
    def read_views(self, position: int, size: int) -> list[Buffer]:
        """Return the bytes ``[position, position + size)`` as a list of buffers.

        The in-memory filesystem returns zero-copy views of its chunks; the OS
        filesystem returns one buffer. Buffers are never modified afterwards.

        Raises:
            OSError: the read failed.
        """

    def readinto(self, position: int, buffer: bytearray | memoryview) -> int:
        """Fill ``buffer`` from ``position``; return the bytes read (fewer at the end
        of the file). For scans that reuse one buffer instead of allocating.

        Raises:
            OSError: the read failed.
        """
        out = memoryview(buffer)
        n = 0
        for view in self.read_views(position, len(out)):
            out[n : n + len(view)] = view
            n += len(view)
        return n

    @abstractmethod
    def truncate(self, size: int) -> None:
        """Cut the file to ``size`` bytes (a no-op when it is not longer).

        Raises:
            OSError: the truncation failed.
        """

    @abstractmethod
    def fsync(self) -> None:
        """Make the file's current contents durable (they survive :meth:`FileSystem.crash`).

        Raises:
            OSError: the sync failed.
        """

    def flush(self) -> None:  # noqa: B027 - deliberately a no-op for every handle
        """Push user-space buffers to the OS: a no-op, as no handle buffers writes."""

    @abstractmethod
    def reader(self) -> FileHandle:
        """Return an independent read-only handle on the same file.

        It stays readable after this handle is closed or the file is renamed or
        deleted, so a worker thread can read a sealed segment safely. Close it when done.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the handle (idempotent). Unsynced data is not lost by closing."""

    @property
    @abstractmethod
    def closed(self) -> bool:
        """Return whether the handle was closed (or invalidated by a crash)."""


class FileSystem(ABC):
    """The storage the log engine writes to; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._faults: list[_Fault] = []
        self._capacity: int | None = None
        self._used = 0

    # -- abstract namespace operations ------------------------------------------------

    @abstractmethod
    def open(self, path: str, *, create: bool = True) -> FileHandle:
        """Open ``path`` for appending and reading, creating it when ``create``.

        Raises:
            FileNotFoundError: the file (or, with ``create``, its directory) is missing.
            OSError: the file cannot be opened or created.
        """

    @abstractmethod
    def exists(self, path: str) -> bool:
        """Return whether a file or directory exists at ``path``."""

    @abstractmethod
    def is_dir(self, path: str) -> bool:
        """Return whether ``path`` is a directory."""

    @abstractmethod
    def listdir(self, path: str = "") -> list[str]:
        """Return the names directly under the directory ``path``, sorted.

        Raises:
            FileNotFoundError: there is no such directory.
        """

    @abstractmethod
    def makedirs(self, path: str) -> None:
        """Create the directory ``path`` and its parents (no error if it exists).

        Raises:
            OSError: it cannot be created.
        """

    @abstractmethod
    def remove(self, path: str) -> None:
        """Delete the file ``path``; open handles keep reading it.

        Raises:
            FileNotFoundError: there is no such file.
        """

    @abstractmethod
    def rename(self, src: str, dst: str, *, durable: bool = False) -> None:
        """Rename a file or directory atomically, replacing a file at ``dst``; with
        ``durable``, sync the directory so that the rename survives a power cut.

        Raises:
            FileNotFoundError: ``src`` does not exist.
            OSError: the rename failed.
        """

    def sync_dir(self, path: str) -> None:  # noqa: B027 - a no-op unless on disk
        """Make the creations, renames and removals in directory ``path`` durable
        (a no-op in memory, where they always are)."""

    @abstractmethod
    def rmtree(self, path: str) -> None:
        """Delete the directory ``path`` and everything in it (no error if missing)."""

    @abstractmethod
    def read_bytes(self, path: str) -> bytes:
        """Return a whole (small) file.

        Raises:
            FileNotFoundError: there is no such file.
        """

    @abstractmethod
    def file_size(self, path: str) -> int:
        """Return a file's length.

        Raises:
            FileNotFoundError: there is no such file.
        """

    @abstractmethod
    def mtime_ms(self, path: str) -> int:
        """Return a file's last modification time in epoch milliseconds.

        Raises:
            FileNotFoundError: there is no such file.
        """

    @abstractmethod
    def _write_atomic(self, path: str, data: bytes) -> None: ...

    @abstractmethod
    def _crash(self) -> None: ...

    @abstractmethod
    def _measure_used(self) -> int: ...

    # -- shared behaviour ----------------------------------------------------------------

    def write_atomic(self, path: str, data: bytes) -> None:
        """Replace ``path`` with ``data`` atomically and durably (temporary file,
        fsync, rename), as Kafka writes its checkpoint files.

        Raises:
            OSError: the write failed; the previous contents are intact.
        """
        path = normalize(path)
        self._check_fault("write_atomic")
        if self._capacity is not None:
            with self._lock:
                old = self.file_size(path) if self.exists(path) else 0
                if self._used - old + len(data) > self._capacity:
                    raise OSError(errno_mod.ENOSPC, os.strerror(errno_mod.ENOSPC), path)
        self._write_atomic(path, data)

    def crash(self) -> None:
        """Simulate a power cut: every file reverts to its last fsynced length and
        every open handle becomes unusable (:class:`HandleInvalidated`)."""
        with self._lock:
            self._crash()
            if self._capacity is not None:
                self._used = self._measure_used()

    def set_capacity(self, capacity: int | None) -> None:
        """Limit the total bytes of all files to ``capacity`` (``None``: no limit).

        A write that would pass the limit writes what fits, then fails with
        ``ENOSPC`` (the append is rolled back, as for any failed append).
        """
        with self._lock:
            self._capacity = capacity
            self._used = self._measure_used() if capacity is not None else 0

    @property
    def capacity(self) -> int | None:
        """Return the capacity limit, or ``None``."""
        return self._capacity

    def used_bytes(self) -> int:
        """Return the total length of every file under the root."""
        with self._lock:
            return self._measure_used()

    def fail_next(
        self,
        count: int = 1,
        errno: int = errno_mod.EIO,
        ops: Iterable[str] = WRITE_OPS,
        *,
        partial: bool = False,
    ) -> None:
        """Fail the next ``count`` operations among ``ops`` with ``OSError(errno)``.

        With ``partial``, a failing append first writes half of its data (to test
        the roll-back of a torn write).

        Raises:
            ValueError: an unknown operation name.
        """
        ops = frozenset(ops)
        unknown = ops - ALL_OPS
        if unknown:
            raise ValueError(f"unknown filesystem operations: {sorted(unknown)}")
        with self._lock:
            self._faults.append(_Fault(count, errno, ops, partial))

    def clear_faults(self) -> None:
        """Forget every pending injected fault."""
        with self._lock:
            self._faults.clear()

    def _check_fault(self, op: str) -> _Fault | None:
        """Raise the injected error for ``op`` if one is due (partial appends return it)."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if op in fault.ops and fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    if op == "append" and fault.partial:
                        return fault
                    raise OSError(fault.errno, f"injected fault: {os.strerror(fault.errno)}")
        return None

    def _reserve(self, want: int) -> int:
        """Account ``want`` more bytes against the capacity; return how many fit."""
        with self._lock:
            room = max(self._capacity - self._used, 0)  # type: ignore[operator]
            n = min(want, room)
            self._used += n
            return n

    def _release(self, n: int) -> None:
        if self._capacity is not None and n:
            with self._lock:
                self._used -= n

    def close(self) -> None:  # noqa: B027 - only the OS filesystem holds resources
        """Release resources held by the filesystem object (handles stay usable)."""


# ---------------------------------------------------------------------------------------
# In memory


class _MemInode:
    """One in-memory file: immutable chunks plus their start positions."""

    __slots__ = ("chunks", "starts", "size", "synced", "mtime_ms")

    def __init__(self, mtime_ms: int) -> None:
        self.chunks: list[bytes] = []
        self.starts: list[int] = []
        self.size = 0
        self.synced = 0
        self.mtime_ms = mtime_ms

    def views(self, position: int, size: int) -> list[Buffer]:
        end = min(position + size, self.size)
        if position >= end:
            return []
        starts = self.starts
        chunks = self.chunks
        i = bisect.bisect_right(starts, position) - 1
        j = bisect.bisect_left(starts, end) - 1  # the chunk holding byte end - 1
        first = chunks[i]
        lo = position - starts[i]
        if i == j:
            hi = end - starts[i]
            if lo == 0 and hi == len(first):
                return [first]
            return [memoryview(first)[lo:hi]]
        out: list[Buffer] = [first if lo == 0 else memoryview(first)[lo:]]
        if j > i + 1:
            out.extend(chunks[i + 1 : j])  # whole chunks: the objects themselves
        last = chunks[j]
        hi = end - starts[j]
        out.append(last if hi == len(last) else memoryview(last)[:hi])
        return out

    def truncate(self, size: int) -> int:
        """Cut to ``size``; return the number of bytes removed."""
        if size >= self.size:
            return 0
        removed = self.size - size
        i = bisect.bisect_right(self.starts, size) - 1 if size > 0 else -1
        if i < 0:
            self.chunks.clear()
            self.starts.clear()
        else:
            keep = size - self.starts[i]
            del self.chunks[i + 1 :]
            del self.starts[i + 1 :]
            if keep == 0:
                self.chunks.pop()
                self.starts.pop()
            elif keep < len(self.chunks[i]):
                # A new object: outstanding views of the old chunk stay intact.
                self.chunks[i] = self.chunks[i][:keep]
        self.size = size
        self.synced = min(self.synced, size)
        return removed


class _MemHandle(FileHandle):
    __slots__ = ("_fs", "_inode", "path", "_gen", "_closed", "_readonly")

    def __init__(self, fs: MemoryFileSystem, inode: _MemInode, path: str, readonly: bool) -> None:
        self._fs = fs
        self._inode = inode
        self.path = path
        self._gen = fs._generation
        self._closed = False
        self._readonly = readonly

    def _live(self) -> _MemInode:
        if self._closed:
            raise ValueError(f"I/O on a closed file: {self.path}")
        if self._gen != self._fs._generation:
            raise HandleInvalidated(self.path)
        return self._inode

    @property
    def size(self) -> int:
        return self._live().size

    def append(self, data: Buffer, *, owned: bool = False) -> int:
        fs = self._fs
        if self._closed or self._gen != fs._generation or self._readonly:
            self._live()
            raise PermissionError(errno_mod.EBADF, f"read-only handle: {self.path}")
        inode = self._inode
        n = len(data)
        position = inode.size
        if n == 0:
            return position
        if fs._faults or fs._capacity is not None:
            fault = fs._check_fault("append") if fs._faults else None
            fit = fs._reserve(n) if fs._capacity is not None else n
            if fault is not None:
                fit = min(fit, n // 2)
            if fit < n:
                # Write what fits, then fail and roll back, as a torn write on a full disk.
                fs._release(fit)
                err = fault.errno if fault is not None else errno_mod.ENOSPC
                raise OSError(err, os.strerror(err), self.path)
        inode.starts.append(position)
        inode.chunks.append(data if owned or type(data) is bytes else bytes(data))
        inode.size = position + n
        inode.mtime_ms = -1  # "now": read from the clock only when asked
        return position

    def pread(self, position: int, size: int) -> Buffer:
        inode = self._live()
        if self._fs._faults:
            self._fs._check_fault("read")
        views = inode.views(position, size)
        if not views:
            return b""
        if len(views) == 1:
            return views[0]
        return b"".join(views)

    def read_views(self, position: int, size: int) -> list[Buffer]:
        inode = self._live()
        if self._fs._faults:
            self._fs._check_fault("read")
        return inode.views(position, size)

    def truncate(self, size: int) -> None:
        inode = self._live()
        if self._fs._faults:
            self._fs._check_fault("truncate")
        removed = inode.truncate(size)
        self._fs._release(removed)
        if removed:
            inode.mtime_ms = -1

    def fsync(self) -> None:
        inode = self._live()
        if self._fs._faults:
            self._fs._check_fault("fsync")
        inode.synced = inode.size

    def reader(self) -> FileHandle:
        inode = self._live()
        return _MemHandle(self._fs, inode, self.path, readonly=True)

    def close(self) -> None:
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed or self._gen != self._fs._generation


class MemoryFileSystem(FileSystem):
    """Files held in memory as immutable chunks (the default storage).

    Args:
        now_ms: the time source for modification times (a broker passes its
            clock's ``now_ms``); the system clock by default.
    """

    def __init__(self, now_ms: Callable[[], int] | None = None) -> None:
        super().__init__()
        self._files: dict[str, _MemInode] = {}
        self._children: dict[str, set[str]] = {"": set()}
        self._generation = 0
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)

    def __repr__(self) -> str:
        return f"MemoryFileSystem({len(self._files)} files)"

    def _require_dir(self, path: str) -> None:
        if path not in self._children:
            raise FileNotFoundError(errno_mod.ENOENT, "no such directory", path)

    def open(self, path: str, *, create: bool = True) -> FileHandle:
        path = normalize(path)
        with self._lock:
            inode = self._files.get(path)
            if inode is None:
                if not create:
                    raise FileNotFoundError(errno_mod.ENOENT, "no such file", path)
                if path in self._children:
                    raise IsADirectoryError(errno_mod.EISDIR, "is a directory", path)
                parent = _parent(path)
                self._require_dir(parent)
                self._check_fault("create")
                inode = self._files[path] = _MemInode(self._now_ms())
                self._children[parent].add(path[len(parent) + 1 if parent else 0 :])
            return _MemHandle(self, inode, path, readonly=False)

    def exists(self, path: str) -> bool:
        path = normalize(path)
        return path in self._files or path in self._children

    def is_dir(self, path: str) -> bool:
        return normalize(path) in self._children

    def listdir(self, path: str = "") -> list[str]:
        path = normalize(path)
        with self._lock:
            self._require_dir(path)
            return sorted(self._children[path])

    def makedirs(self, path: str) -> None:
        path = normalize(path)
        with self._lock:
            if path in self._children:
                return
            if path in self._files:
                raise FileExistsError(errno_mod.EEXIST, "a file is in the way", path)
            self._check_fault("makedirs")
            parts = path.split("/")
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if sub in self._files:
                    raise NotADirectoryError(errno_mod.ENOTDIR, "not a directory", sub)
                if sub not in self._children:
                    self._children[sub] = set()
                    self._children[_parent(sub)].add(parts[i - 1])

    def remove(self, path: str) -> None:
        path = normalize(path)
        with self._lock:
            inode = self._files.get(path)
            if inode is None:
                raise FileNotFoundError(errno_mod.ENOENT, "no such file", path)
            self._check_fault("remove")
            del self._files[path]
            parent = _parent(path)
            self._children[parent].discard(path[len(parent) + 1 if parent else 0 :])
            self._release(inode.size)

    def rename(self, src: str, dst: str, *, durable: bool = False) -> None:
        src, dst = normalize(src), normalize(dst)
        with self._lock:
            if src not in self._files and src not in self._children:
                raise FileNotFoundError(errno_mod.ENOENT, "no such file", src)
            self._require_dir(_parent(dst))
            self._check_fault("rename")
            if src == dst:
                return
            if src in self._files:
                if dst in self._children:
                    raise IsADirectoryError(errno_mod.EISDIR, "is a directory", dst)
                old = self._files.pop(dst, None)
                if old is not None:
                    self._release(old.size)
                self._files[dst] = self._files.pop(src)
            else:
                if dst in self._files or dst in self._children:
                    raise FileExistsError(errno_mod.EEXIST, "target exists", dst)
                prefix = src + "/"
                for table in (self._files, self._children):
                    for key in [k for k in table if k == src or k.startswith(prefix)]:
                        table[dst + key[len(src) :]] = table.pop(key)  # type: ignore[index]
            sp, dp = _parent(src), _parent(dst)
            self._children[sp].discard(src[len(sp) + 1 if sp else 0 :])
            self._children[dp].add(dst[len(dp) + 1 if dp else 0 :])

    def rmtree(self, path: str) -> None:
        path = normalize(path)
        with self._lock:
            if path not in self._children:
                return
            self._check_fault("remove")
            prefix = path + "/" if path else ""
            for key in [k for k in self._files if k.startswith(prefix)]:
                self._release(self._files.pop(key).size)
            for key in [k for k in self._children if k.startswith(prefix) or k == path]:
                if key:
                    del self._children[key]
            if path:
                parent = _parent(path)
                self._children[parent].discard(path[len(parent) + 1 if parent else 0 :])
            else:
                self._children[""] = set()

    def read_bytes(self, path: str) -> bytes:
        path = normalize(path)
        inode = self._files.get(path)
        if inode is None:
            raise FileNotFoundError(errno_mod.ENOENT, "no such file", path)
        self._check_fault("read")
        return b"".join(inode.chunks)

    def file_size(self, path: str) -> int:
        inode = self._files.get(normalize(path))
        if inode is None:
            raise FileNotFoundError(errno_mod.ENOENT, "no such file", path)
        return inode.size

    def mtime_ms(self, path: str) -> int:
        inode = self._files.get(normalize(path))
        if inode is None:
            raise FileNotFoundError(errno_mod.ENOENT, "no such file", path)
        if inode.mtime_ms < 0:
            inode.mtime_ms = self._now_ms()
        return inode.mtime_ms

    def _write_atomic(self, path: str, data: bytes) -> None:
        with self._lock:
            self._require_dir(_parent(path))
            if path in self._children:
                raise IsADirectoryError(errno_mod.EISDIR, "is a directory", path)
            inode = _MemInode(self._now_ms())
            if data:
                inode.chunks.append(bytes(data))
                inode.starts.append(0)
                inode.size = inode.synced = len(data)
            old = self._files.get(path)
            if self._capacity is not None:
                self._used += len(data) - (old.size if old else 0)
            self._files[path] = inode
            parent = _parent(path)
            self._children[parent].add(path[len(parent) + 1 if parent else 0 :])

    def _crash(self) -> None:
        self._generation += 1
        for inode in self._files.values():
            inode.truncate(inode.synced)

    def _measure_used(self) -> int:
        return sum(inode.size for inode in self._files.values())


# ---------------------------------------------------------------------------------------
# On disk


@dataclass
class _OsInode:
    """What the OS filesystem tracks per file it wrote: length and synced length."""

    path: str
    size: int
    synced: int
    handles: set[_OsHandle] = field(default_factory=set)


class _OsHandle(FileHandle):
    __slots__ = ("_fs", "_inode", "path", "_fd", "_gen", "_readonly")

    def __init__(
        self, fs: OsFileSystem, inode: _OsInode, path: str, fd: int, readonly: bool
    ) -> None:
        self._fs = fs
        self._inode = inode
        self.path = path
        self._fd = fd
        self._gen = fs._generation
        self._readonly = readonly

    def _live_fd(self) -> int:
        if self._gen != self._fs._generation:
            raise HandleInvalidated(self.path)
        if self._fd < 0:
            raise ValueError(f"I/O on a closed file: {self.path}")
        return self._fd

    @property
    def size(self) -> int:
        self._live_fd()
        return self._inode.size

    def append(self, data: Buffer, *, owned: bool = False) -> int:
        fs = self._fs
        fd = self._fd
        if fd < 0 or self._gen != fs._generation or self._readonly:
            self._live_fd()
            raise PermissionError(errno_mod.EBADF, f"read-only handle: {self.path}")
        inode = self._inode
        n = len(data)
        position = inode.size
        if n == 0:
            return position
        fault = None
        fit = n
        if fs._faults or fs._capacity is not None:
            fault = fs._check_fault("append") if fs._faults else None
            fit = fs._reserve(n) if fs._capacity is not None else n
            if fault is not None:
                fit = min(fit, n // 2)
        written = 0
        try:
            if fit == n:
                written = os.pwrite(fd, data, position)
            if written < fit:
                view = memoryview(data)
                while written < fit:
                    written += os.pwrite(fd, view[written:fit], position + written)
            if fit < n:
                err = fault.errno if fault is not None else errno_mod.ENOSPC
                raise OSError(err, os.strerror(err), self.path)
        except OSError:
            # All or nothing: take back whatever part of the batch reached the file.
            try:
                os.ftruncate(fd, position)
            except OSError:
                pass
            fs._release(fit)
            raise
        inode.size = position + n
        return position

    def pread(self, position: int, size: int) -> Buffer:
        fd = self._live_fd()
        if self._fs._faults:
            self._fs._check_fault("read")
        size = min(size, self._inode.size - position)
        if size <= 0:
            return b""
        data = os.pread(fd, size, position)
        if len(data) < size:
            # A short read from a regular file happens only at its end; read again.
            parts = [data]
            got = len(data)
            while got < size:
                more = os.pread(fd, size - got, position + got)
                if not more:
                    break
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        return data

    def read_views(self, position: int, size: int) -> list[Buffer]:
        data = self.pread(position, size)
        return [data] if data else []

    def readinto(self, position: int, buffer: bytearray | memoryview) -> int:
        fd = self._live_fd()
        if self._fs._faults:
            self._fs._check_fault("read")
        out = memoryview(buffer)[: max(min(len(buffer), self._inode.size - position), 0)]
        n = 0
        while n < len(out):
            got = os.preadv(fd, [out[n:]], position + n)
            if got <= 0:
                break
            n += got
        return n

    def truncate(self, size: int) -> None:
        fd = self._live_fd()
        if self._fs._faults:
            self._fs._check_fault("truncate")
        inode = self._inode
        if size >= inode.size:
            return
        os.ftruncate(fd, size)
        self._fs._release(inode.size - size)
        inode.size = size
        inode.synced = min(inode.synced, size)

    def fsync(self) -> None:
        fd = self._live_fd()
        if self._fs._faults:
            self._fs._check_fault("fsync")
        # What was written before the sync started is durable once it returns.
        size = self._inode.size
        os.fsync(fd)
        if size > self._inode.synced:
            self._inode.synced = size

    def reader(self) -> FileHandle:
        fd = self._live_fd()
        handle = _OsHandle(self._fs, self._inode, self.path, os.dup(fd), readonly=True)
        with self._fs._lock:
            self._inode.handles.add(handle)
        return handle

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            with self._fs._lock:
                self._inode.handles.discard(self)
            if self._gen == self._fs._generation:
                os.close(fd)

    @property
    def closed(self) -> bool:
        return self._fd < 0 or self._gen != self._fs._generation


class OsFileSystem(FileSystem):
    """Files under a root directory on the OS filesystem.

    The lengths of files written through this object are tracked, with the length
    at their last fsync, so that :meth:`crash` can take unsynced data away. Files
    that existed before are taken as synced.

    Args:
        root: the directory (created if missing).

    Raises:
        OSError: the root cannot be created.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        super().__init__()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._inodes: dict[str, _OsInode] = {}
        self._generation = 0

    def __repr__(self) -> str:
        return f"OsFileSystem({str(self.root)!r})"

    def _abs(self, path: str) -> str:
        path = normalize(path)
        return os.path.join(self.root, path) if path else str(self.root)

    def open(self, path: str, *, create: bool = True) -> FileHandle:
        path = normalize(path)
        full = self._abs(path)
        with self._lock:
            inode = self._inodes.get(path)
            if inode is None:
                existed = os.path.exists(full)
                if not existed:
                    if not create:
                        raise FileNotFoundError(errno_mod.ENOENT, "no such file", path)
                    self._check_fault("create")
                fd = os.open(full, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
                size = os.fstat(fd).st_size
                inode = _OsInode(path, size, size if existed else 0)
                self._inodes[path] = inode
            else:
                fd = os.open(full, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
            handle = _OsHandle(self, inode, path, fd, readonly=False)
            inode.handles.add(handle)
            return handle

    def exists(self, path: str) -> bool:
        return os.path.exists(self._abs(path))

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(self._abs(path))

    def listdir(self, path: str = "") -> list[str]:
        return sorted(os.listdir(self._abs(path)))

    def makedirs(self, path: str) -> None:
        full = self._abs(path)
        if os.path.isdir(full):
            return
        self._check_fault("makedirs")
        os.makedirs(full, exist_ok=True)
        self._fsync_dir(os.path.dirname(full))

    def remove(self, path: str) -> None:
        path = normalize(path)
        full = self._abs(path)
        self._check_fault("remove")
        with self._lock:
            inode = self._inodes.get(path)
        size = os.stat(full).st_size if self._capacity is not None else 0
        # Unlinking a large file takes time: never while holding the lock the
        # event loop's renames and opens need.
        os.remove(full)
        with self._lock:
            if self._inodes.get(path) is inode:
                self._inodes.pop(path, None)
            self._release(size)

    def rename(self, src: str, dst: str, *, durable: bool = False) -> None:
        src, dst = normalize(src), normalize(dst)
        with self._lock:
            self._check_fault("rename")
            full_src, full_dst = self._abs(src), self._abs(dst)
            old_size = 0
            if self._capacity is not None and os.path.isfile(full_dst):
                old_size = os.stat(full_dst).st_size
            os.replace(full_src, full_dst)
            self._release(old_size)
            self._inodes.pop(dst, None)
            inode = self._inodes.pop(src, None)
            if inode is not None:  # a file: the usual case, without a scan
                inode.path = dst
                self._inodes[dst] = inode
            elif os.path.isdir(full_dst):
                prefix = src + "/"
                for key in [k for k in self._inodes if k.startswith(prefix)]:
                    moved = self._inodes.pop(key)
                    moved.path = dst + key[len(src) :]
                    self._inodes[moved.path] = moved
        if durable:
            self._fsync_dir(os.path.dirname(full_dst))

    def sync_dir(self, path: str) -> None:
        """Fsync the directory ``path``."""
        self._fsync_dir(self._abs(path))

    def rmtree(self, path: str) -> None:
        path = normalize(path)
        full = self._abs(path)
        if not os.path.isdir(full):
            return
        self._check_fault("remove")
        freed = 0
        for dirpath, _dirs, files in os.walk(full, topdown=False):
            for name in files:
                p = os.path.join(dirpath, name)
                if self._capacity is not None:
                    freed += os.stat(p).st_size
                os.remove(p)
            os.rmdir(dirpath)
        with self._lock:
            prefix = path + "/" if path else ""
            for key in [k for k in self._inodes if k.startswith(prefix)]:
                del self._inodes[key]
            self._release(freed)

    def read_bytes(self, path: str) -> bytes:
        self._check_fault("read")
        with open(self._abs(path), "rb") as f:
            return f.read()

    def file_size(self, path: str) -> int:
        return os.stat(self._abs(path)).st_size

    def mtime_ms(self, path: str) -> int:
        return os.stat(self._abs(path)).st_mtime_ns // 1_000_000

    def _write_atomic(self, path: str, data: bytes) -> None:
        full = self._abs(path)
        tmp = full + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            os.close(fd)
            os.unlink(tmp)
            raise
        os.close(fd)
        with self._lock:
            old = os.stat(full).st_size if os.path.isfile(full) else 0
            os.replace(tmp, full)
            if self._capacity is not None:
                self._used += len(data) - old
            self._inodes.pop(normalize(path), None)
        self._fsync_dir(os.path.dirname(full))

    @staticmethod
    def _fsync_dir(path: str) -> None:
        # A rename or a new file is durable once its directory is synced.
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _crash(self) -> None:
        for inode in list(self._inodes.values()):
            for handle in list(inode.handles):
                if handle._fd >= 0:
                    os.close(handle._fd)
                    handle._fd = -1
            inode.handles.clear()
            full = self._abs(inode.path)
            if inode.size > inode.synced and os.path.isfile(full):
                os.truncate(full, inode.synced)
        self._inodes.clear()
        self._generation += 1

    def _measure_used(self) -> int:
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.stat(os.path.join(dirpath, name)).st_size
                except FileNotFoundError:
                    pass
        return total

    def close(self) -> None:
        """Close every handle still open."""
        with self._lock:
            for inode in list(self._inodes.values()):
                for handle in list(inode.handles):
                    handle.close()
