"""A minimal blocking Kafka client over a raw socket, for protocol-level tests.

It frames requests by hand so tests can also send things no real client would.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from streamtest.protocol import codec


def request_bytes(
    api_key: int,
    version: int,
    body: bytes,
    correlation_id: int = 1,
    client_id: str | None = "raw",
    flexible: bool | None = None,
) -> bytes:
    """Return a framed request: size, header v1/v2, then ``body``."""
    if flexible is None:
        flexible = codec.is_flexible(api_key, version)
    cid = (
        b"\xff\xff" if client_id is None else struct.pack(">h", len(client_id)) + client_id.encode()
    )
    header = struct.pack(">hhi", api_key, version, correlation_id) + cid
    if flexible:
        header += b"\x00"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


class RawClient:
    """One blocking connection to the broker."""

    def __init__(self, bootstrap: str, timeout: float = 5.0) -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are."""
        self.sock.sendall(data)

    def read_frame(self) -> bytes | None:
        """Return the next response frame (without its size), or None on EOF."""
        head = self._read_exact(4)
        if head is None:
            return None
        (size,) = struct.unpack(">i", head)
        return self._read_exact(size)

    def _read_exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def call(self, entity: Any, correlation_id: int = 1) -> Any:
        """Send a kio request entity and return the decoded kio response."""
        key, version = int(entity.__api_key__), int(entity.__version__)
        self.send_raw(request_bytes(key, version, codec.encode(entity), correlation_id))
        frame = self.read_frame()
        assert frame is not None, "broker closed the connection"
        (cid,) = struct.unpack_from(">i", frame, 0)
        assert cid == correlation_id
        flexible = codec.is_flexible(key, version) and key != 18
        offset = 5 if flexible else 4
        resp_cls = codec.response_schema(key, version)
        value, _ = codec.decode(resp_cls, frame, offset)
        return value

    def is_closed_by_peer(self) -> bool:
        """Return whether the broker closed this connection (EOF or reset)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
