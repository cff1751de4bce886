"""streamtest's sans-I/O Kafka protocol layer.

Framing, headers, codecs (kio underneath), record batches, error codes, and the
server and client ends of a connection. This
package never imports ``asyncio`` or ``socket``; a test enforces that, so that
every parsing edge case can be tested with plain bytes.
"""

from typing import TYPE_CHECKING, Any

from .connection import Request, ServerConnection
from .errors import ErrorCode
from .exceptions import (
    CorruptRecordBatch,
    FrameTooLarge,
    InvalidFrame,
    InvalidRecordBatch,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)

__all__ = [
    "ClientConnection",
    "CorruptRecordBatch",
    "ErrorCode",
    "FrameTooLarge",
    "InvalidFrame",
    "InvalidRecordBatch",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "Request",
    "Response",
    "ServerConnection",
]


if TYPE_CHECKING:
    from .client import ClientConnection, Response


def __getattr__(name: str) -> Any:
    """Import the client end on first use (PEP 562): the broker, which every cold
    start imports, needs only the server end."""
    if name in ("ClientConnection", "Response"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
