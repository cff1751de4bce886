"""The server side of one Kafka connection, as a sans-I/O state machine.

Modelled on h11: feed received bytes to :meth:`ServerConnection.receive_data`, then
call :meth:`ServerConnection.next_request` until it returns ``None``. Each request
comes back with its header parsed and the offset where its body starts. To reply,
:meth:`ServerConnection.response_buffers` frames a body (bytes or a list of
buffers) behind the right response header. Nothing here touches a socket, so every
framing edge case is testable with plain bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .exceptions import InvalidFrame
from .framing import DEFAULT_MAX_FRAME_SIZE, FrameReader, size_prefix
from .headers import RequestHeader, parse_request_header, response_header, skip_tagged_fields

API_VERSIONS_KEY = 18

Buffer = bytes | bytearray | memoryview


@dataclass(slots=True)
class Request:
    """One framed request: its header, the frame, and where the body starts.

    ``flexible`` is ``None`` when the API key and version are not supported, in
    which case ``body_offset`` points just past ``client_id`` and the body has not
    been located.
    """

    header: RequestHeader
    frame: bytearray
    body_offset: int
    flexible: bool | None


class ServerConnection:
    """Turns a byte stream from a client into requests, and responses into bytes.

    Args:
        flexible_lookup: returns whether ``(api_key, version)`` uses the flexible
            encoding, or ``None`` when the broker does not support that pair.
        max_frame_size: frames larger than this raise :class:`FrameTooLarge`.
    """

    def __init__(
        self,
        flexible_lookup: Callable[[int, int], bool | None],
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        self._frames = FrameReader(max_frame_size)
        self._flexible_lookup = flexible_lookup

    def receive_data(self, data: Buffer) -> None:
        """Buffer bytes received from the client."""
        self._frames.receive_data(data)

    @property
    def buffered(self) -> int:
        """Return how many received bytes are not yet returned as requests."""
        return self._frames.buffered

    def has_request(self) -> bool:
        """Return whether :meth:`next_request` would return a request (or raise)
        without more data."""
        return self._frames.has_frame()

    def next_request(self) -> Request | None:
        """Return the next whole request, or ``None`` if more bytes are needed.

        Raises:
            RemoteProtocolError: the stream is not valid Kafka framing.
        """
        frame = self._frames.next_frame()
        if frame is None:
            return None
        header, offset = parse_request_header(frame)
        flexible = self._flexible_lookup(header.api_key, header.api_version)
        if flexible:
            offset = skip_tagged_fields(frame, offset)
        if offset > len(frame):
            raise InvalidFrame("request header runs past the end of the frame")
        return Request(header, frame, offset, flexible)

    @staticmethod
    def response_buffers(request: Request, body: Buffer | Sequence[Buffer]) -> list[Buffer]:
        """Frame ``body`` as the response to ``request``.

        ApiVersions always answers with response header v0 (KIP-511); other
        flexible requests get header v1.
        """
        flexible = bool(request.flexible) and request.header.api_key != API_VERSIONS_KEY
        head = response_header(request.header.correlation_id, flexible)
        if isinstance(body, bytes | bytearray | memoryview):
            return [size_prefix(len(head) + len(body)) + head + body]
        total = len(head) + sum(len(b) for b in body)
        return [size_prefix(total) + head, *body]
