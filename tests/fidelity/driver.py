"""A small blocking socket driver for :class:`~streamtest.protocol.ClientConnection`.

The protocol layer has no I/O; this moves its bytes over one TCP connection and
waits, with a deadline, for each answer. A broker that closes the connection
instead of answering (Kafka's reply to a request it cannot parse) is reported as
:data:`CLOSED`, not as an exception, because the fidelity suite compares that
outcome too.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from streamtest.protocol import ClientConnection, RemoteProtocolError
from streamtest.protocol.client import Response, build_request


class _Closed:
    """The broker closed the connection instead of answering."""

    def __repr__(self) -> str:
        return "CLOSED"


CLOSED: Any = _Closed()


class WireClient:
    """One blocking connection to a broker, speaking through ``ClientConnection``.

    Args:
        bootstrap: ``host:port``.
        timeout: seconds to wait for each response.
        client_id: the request header's client id.
    """

    def __init__(self, bootstrap: str, timeout: float = 30.0, client_id: str = "fidelity") -> None:
        host, _, port = bootstrap.rpartition(":")
        self.address = (host, int(port))
        self.timeout = timeout
        self.client_id = client_id
        self.sock: socket.socket | None = None
        self.conn = ClientConnection(client_id)

    def connect(self) -> WireClient:
        """Open the connection (again, after the broker closed it) and return self."""
        self.close()
        self.sock = socket.create_connection(self.address, timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = ClientConnection(self.client_id)
        return self

    def close(self) -> None:
        """Close the socket, if open."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def call(self, api_key: int, version: int, data: dict[str, Any] | None = None) -> Any:
        """Send the request built from ``data`` and return the decoded response body,
        or :data:`CLOSED`."""
        entity = build_request(api_key, version, data)
        return self._exchange(self.conn.send_request(entity))

    def call_raw(
        self,
        api_key: int,
        version: int,
        body: bytes,
        *,
        flexible: bool | None = None,
        expect_response: bool = True,
    ) -> Any:
        """Send a hand-made body and return the decoded response, :data:`CLOSED`, or
        ``None`` when no response is expected."""
        data = self.conn.send_raw(
            api_key, version, body, flexible=flexible, expect_response=expect_response
        )
        if not expect_response:
            self._send(data)
            return None
        return self._exchange(data)

    def send_only(self, data: bytes) -> None:
        """Send bytes as they are (a frame the protocol layer would not make)."""
        self._send(data)

    def _send(self, data: bytes) -> None:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.sendall(data)

    def _exchange(self, data: bytes) -> Any:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close()
            return CLOSED
        response = self.read_response()
        return response.body if isinstance(response, Response) else response

    def read_response(self) -> Response | Any:
        """Return the next response, or :data:`CLOSED` if the broker hung up.

        Raises:
            TimeoutError: no complete response within the timeout.
            RemoteProtocolError: the response does not decode.
        """
        assert self.sock is not None
        deadline = time.monotonic() + self.timeout
        while True:
            response = self.conn.next_response()
            if response is not None:
                return response
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no response from {self.address} within {self.timeout:g}s")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 20)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            except TimeoutError:
                continue
            if not chunk:
                self.close()
                return CLOSED
            self.conn.receive_data(chunk)

    def __enter__(self) -> WireClient:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["CLOSED", "RemoteProtocolError", "WireClient"]
