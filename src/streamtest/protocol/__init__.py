"""streamtest's sans-I/O Kafka protocol layer.

Framing, headers, codecs (kio underneath), record batches, error codes, and the
server and client ends of a connection. This
package never imports ``asyncio`` or ``socket``; a test enforces that, so that
every parsing edge case can be tested with plain bytes.
"""

from .client import ClientConnection, Response
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
