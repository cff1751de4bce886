"""Size-prefixed framing for the Kafka wire protocol, with no I/O.

Every Kafka request and response is an INT32 size followed by that many bytes
(protocol guide, "Common Request and Response Structure"). ``FrameReader`` is fed
raw bytes and hands back whole frames; it enforces a maximum frame size so that a
peer claiming a 2 GiB frame is rejected before any memory is reserved for it.
"""

from __future__ import annotations

import struct

from .exceptions import FrameTooLarge, InvalidFrame

_SIZE = struct.Struct(">i")

#: Kafka's own default for ``socket.request.max.bytes`` (100 MiB).
DEFAULT_MAX_FRAME_SIZE = 100 * 1024 * 1024


class FrameReader:
    """Reassembles size-prefixed frames from a byte stream.

    Feed bytes with :meth:`receive_data`; call :meth:`next_frame` until it returns
    ``None`` (meaning more data is needed). Each returned frame is a fresh
    ``bytearray`` owned by the caller, so views into it stay valid and it may be
    mutated in place (the Produce path rewrites batch base offsets in it).
    """

    __slots__ = ("_buf", "_max_frame_size", "_pending")

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self._buf = bytearray()
        self._max_frame_size = max_frame_size
        self._pending = -1

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes received from the peer."""
        self._buf += data

    @property
    def buffered(self) -> int:
        """Return how many bytes are buffered but not yet returned as frames."""
        return len(self._buf)

    def has_frame(self) -> bool:
        """Return whether :meth:`next_frame` would return a frame or raise.

        A size prefix that is invalid counts (the next call raises for it), so a
        caller that waits for work never waits on a stream that is already bad.
        Nothing is consumed.
        """
        buf = self._buf
        size = self._pending
        if size < 0:
            if len(buf) < 4:
                return False
            (size,) = _SIZE.unpack_from(buf, 0)
            if size < 0 or size > self._max_frame_size:
                return True
        return len(buf) >= 4 + size

    def next_frame(self) -> bytearray | None:
        """Return the next complete frame (without its size prefix), or ``None``.

        Raises:
            FrameTooLarge: the size prefix exceeds the configured maximum.
            InvalidFrame: the size prefix is negative.
        """
        buf = self._buf
        if self._pending < 0:
            if len(buf) < 4:
                return None
            (size,) = _SIZE.unpack_from(buf, 0)
            if size < 0:
                raise InvalidFrame(f"negative frame size {size}")
            if size > self._max_frame_size:
                raise FrameTooLarge(
                    f"frame of {size} bytes exceeds the maximum of {self._max_frame_size}"
                )
            self._pending = size
        size = self._pending
        if len(buf) < 4 + size:
            return None
        frame = buf[4 : 4 + size]
        del buf[: 4 + size]
        self._pending = -1
        return frame


def frame(payload: bytes | bytearray) -> bytes:
    """Return ``payload`` with its INT32 size prefix."""
    return _SIZE.pack(len(payload)) + payload


def size_prefix(size: int) -> bytes:
    """Return the INT32 size prefix for a frame of ``size`` bytes."""
    return _SIZE.pack(size)
