"""A bounds-checked reader of Kafka's primitive field encodings.

The broker keeps its own state in internal topics in Kafka's generated schemas
(``__consumer_offsets``: OffsetCommitKey/Value, GroupMetadataValue...;
``__transaction_state``: TransactionLogKey/Value). Their keys and values are
read with :class:`FieldReader`: fixed-width integers, strings, bytes and array
lengths in their classic or compact (flexible-version) forms, and tagged fields
(KIP-482). Whatever the input, a malformed record raises
:class:`~streamtest.protocol.exceptions.InvalidFrame` naming the topic it came
from, never ``struct.error`` or ``UnicodeDecodeError``.
"""

from __future__ import annotations

import struct

from .exceptions import InvalidFrame
from .headers import read_uvarint, skip_tagged_fields

_I8 = struct.Struct(">b")
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


class FieldReader:
    """Reads fields one after another from ``data``.

    Args:
        data: one record key or value.
        what: where it comes from, for error messages (``"__consumer_offsets"``).
    """

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise InvalidFrame(f"truncated {self.what} record")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uvarint(self) -> int:
        """Return an unsigned varint (compact lengths, tag numbers)."""
        n, self.pos = read_uvarint(self.data, self.pos)
        return n

    def i8(self) -> int:
        """Return an INT8."""
        return int(_I8.unpack(self._take(1))[0])

    def i16(self) -> int:
        """Return an INT16."""
        return int(_I16.unpack(self._take(2))[0])

    def i32(self) -> int:
        """Return an INT32."""
        return int(_I32.unpack(self._take(4))[0])

    def i64(self) -> int:
        """Return an INT64."""
        return int(_I64.unpack(self._take(8))[0])

    def string(self, compact: bool = False) -> str | None:
        """Return a (COMPACT_)NULLABLE_STRING; ``None`` for null.

        Raises:
            InvalidFrame: truncated, or not UTF-8.
        """
        n = self.uvarint() - 1 if compact else self.i16()
        if n < 0:
            return None
        try:
            return self._take(n).decode()
        except UnicodeDecodeError as exc:
            raise InvalidFrame(f"{self.what} string is not UTF-8: {exc}") from None

    def bytes_(self, compact: bool = False) -> bytes:
        """Return (COMPACT_)BYTES; empty for null."""
        n = self.uvarint() - 1 if compact else self.i32()
        return b"" if n < 0 else self._take(n)

    def array_len(self, compact: bool) -> int:
        """Return an array's length, -1 for a null array."""
        return self.uvarint() - 1 if compact else self.i32()

    def skip_tags(self) -> None:
        """Skip a tagged-field section (KIP-482)."""
        self.pos = skip_tagged_fields(self.data, self.pos)

    def tagged_fields(self) -> dict[int, bytes]:
        """Return a tagged-field section as ``{tag: raw bytes}`` (KIP-482)."""
        out = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            out[tag] = self._take(self.uvarint())
        return out
