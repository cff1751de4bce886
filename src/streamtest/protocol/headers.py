"""Request and response headers, parsed and built by hand.

Request header v1 is ``api_key INT16, api_version INT16, correlation_id INT32,
client_id NULLABLE_STRING``; v2 (flexible versions, KIP-482) adds tagged fields.
Note that ``client_id`` stays a *legacy* nullable string even in v2. Response
header v0 is ``correlation_id INT32``; v1 adds an empty tagged-field section.
ApiVersions responses always use header v0, so that a client can parse the reply
before it knows which versions the broker speaks (KIP-511).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .exceptions import InvalidFrame

_HEADER_FIXED = struct.Struct(">hhih")
_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")


@dataclass(frozen=True, slots=True)
class RequestHeader:
    """The parsed header of one request."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None


def parse_request_header(frame: bytes | bytearray | memoryview) -> tuple[RequestHeader, int]:
    """Parse the v1 part of a request header (common to every version).

    Returns:
        The header and the offset just past ``client_id``. For flexible requests
        the caller must then skip the tagged fields with :func:`skip_tagged_fields`.

    Raises:
        InvalidFrame: the frame is too short to hold a header.
    """
    if len(frame) < 10:
        raise InvalidFrame(f"frame of {len(frame)} bytes is too short for a request header")
    api_key, api_version, correlation_id, client_len = _HEADER_FIXED.unpack_from(frame, 0)
    offset = 10
    client_id: str | None = None
    if client_len >= 0:
        end = offset + client_len
        if end > len(frame):
            raise InvalidFrame("client_id runs past the end of the frame")
        client_id = bytes(frame[offset:end]).decode("utf-8", errors="replace")
        offset = end
    elif client_len != -1:
        raise InvalidFrame(f"invalid client_id length {client_len}")
    return RequestHeader(api_key, api_version, correlation_id, client_id), offset


def read_uvarint(buf: bytes | bytearray | memoryview, offset: int) -> tuple[int, int]:
    """Read an unsigned varint.

    Returns:
        The value and the offset just past it.

    Raises:
        InvalidFrame: the varint is truncated or longer than 5 bytes.
    """
    value = 0
    shift = 0
    n = len(buf)
    while True:
        if offset >= n:
            raise InvalidFrame("truncated varint")
        b = buf[offset]
        offset += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, offset
        shift += 7
        if shift > 28:
            raise InvalidFrame("varint longer than 5 bytes")


def skip_tagged_fields(buf: bytes | bytearray | memoryview, offset: int) -> int:
    """Skip a tagged-field section (KIP-482) and return the offset past it.

    Raises:
        InvalidFrame: the section is truncated.
    """
    count, offset = read_uvarint(buf, offset)
    for _ in range(count):
        _tag, offset = read_uvarint(buf, offset)
        size, offset = read_uvarint(buf, offset)
        offset += size
        if offset > len(buf):
            raise InvalidFrame("tagged field runs past the end of the frame")
    return offset


def write_uvarint(out: bytearray, n: int) -> None:
    """Append an unsigned varint (KIP-482 lengths and tag counts) to ``out``."""
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def write_string(out: bytearray, s: str | None, flexible: bool) -> None:
    """Append a nullable string: compact (uvarint length + 1) when ``flexible``,
    else INT16 length; ``None`` is encoded as null."""
    if s is None:
        out += b"\x00" if flexible else b"\xff\xff"
        return
    data = s.encode()
    if flexible:
        write_uvarint(out, len(data) + 1)
    else:
        out += _INT16.pack(len(data))
    out += data


def write_array_len(out: bytearray, n: int, flexible: bool) -> None:
    """Append an array length (``n`` = -1 for null): compact when ``flexible``."""
    if flexible:
        write_uvarint(out, n + 1)
    else:
        out += _INT32.pack(n)


def response_header(correlation_id: int, flexible: bool) -> bytes:
    """Return response header v1 (``flexible``) or v0 bytes."""
    head = _INT32.pack(correlation_id)
    return head + b"\x00" if flexible else head


_LEADER = struct.Struct(">ii")


def leader_tag(tag: int, leader_id: int, leader_epoch: int) -> bytes:
    """Return one tagged field holding a ``LeaderIdAndEpoch`` struct (KIP-951:
    Produce v10+ tag 0 and Fetch v16+ tag 1 of a partition response)."""
    out = bytearray()
    write_uvarint(out, tag)
    write_uvarint(out, _LEADER.size + 1)
    out += _LEADER.pack(leader_id, leader_epoch)
    out.append(0)  # the struct's own (empty) tagged fields
    return bytes(out)


def node_endpoints_tag(endpoints: list[tuple[int, str, int, str | None]]) -> bytes:
    """Return the top-level tagged field 0 of Produce v10+ and Fetch v16+ responses:
    the endpoints of the leaders named in ``current_leader`` fields (KIP-951), as
    ``(node_id, host, port, rack)``."""
    body = bytearray()
    write_uvarint(body, len(endpoints) + 1)
    for node_id, host, port, rack in endpoints:
        body += _INT32.pack(node_id)
        write_string(body, host, True)
        body += _INT32.pack(port)
        write_string(body, rack, True)
        body.append(0)
    out = bytearray()
    write_uvarint(out, 0)
    write_uvarint(out, len(body))
    out += body
    return bytes(out)
