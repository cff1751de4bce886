"""streamtest's sans-I/O Kafka protocol layer.

Framing, headers, codecs (kio underneath), record batches and error codes. This
package never imports ``asyncio`` or ``socket``; a test enforces that, so that
every parsing edge case can be tested with plain bytes.
"""

from .connection import Request, ServerConnection
from .errors import ErrorCode
from .exceptions import (
    CorruptRecordBatch,
    FrameTooLarge,
    InvalidFrame,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)

__all__ = [
    "CorruptRecordBatch",
    "ErrorCode",
    "FrameTooLarge",
    "InvalidFrame",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "Request",
    "ServerConnection",
]
