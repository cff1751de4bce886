"""Frames between ``EmbeddedKafka`` and its broker child process.

The parent and the child talk over the child's stdin and stdout, which only the
two of them hold, so frames may carry pickled Python objects: typed requests and
responses for intercept hooks, and the hooks' verdicts. Each frame is a 4-byte
big-endian length followed by a pickle.

Messages (dicts):

* parent -> child ``{"id": n, "op": name, "args": {...}}``; the child answers
  ``{"id": n, "result": x}`` or ``{"id": n, "error": (type name, message)}``;
* child -> parent ``{"cb": m, "hook": hook_id, "args": (...), "info": RequestInfo}``
  when an intercept hook fires; the parent answers ``{"cb": m, "result": verdict}``.
"""

from __future__ import annotations

import pickle
import struct
import threading
from typing import IO, Any

_LEN = struct.Struct(">I")
#: A frame larger than this is a bug (or a corrupted stream), not a message.
MAX_FRAME = 256 * 1024 * 1024


class ChannelClosed(EOFError):
    """The other side closed the channel."""


class FrameWriter:
    """Writes frames to a binary stream, one writer at a time."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def send(self, message: Any) -> None:
        """Write one message.

        Raises:
            ChannelClosed: the stream is closed.
        """
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            try:
                self.stream.write(_LEN.pack(len(data)) + data)
                self.stream.flush()
            except (BrokenPipeError, ValueError, OSError) as exc:
                raise ChannelClosed(str(exc)) from exc


def read_frame(stream: IO[bytes]) -> Any:
    """Read one message.

    Raises:
        ChannelClosed: end of stream (the other side is gone).
        ValueError: a frame of an impossible size.
    """
    head = _read_exactly(stream, _LEN.size)
    (size,) = _LEN.unpack(head)
    if size > MAX_FRAME:
        raise ValueError(f"control frame of {size} bytes")
    return pickle.loads(_read_exactly(stream, size))


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise ChannelClosed("control channel closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
