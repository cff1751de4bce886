"""The client side of one Kafka connection, as a sans-I/O state machine.

The mirror of :class:`~streamtest.protocol.connection.ServerConnection`, modelled
on h11: :meth:`ClientConnection.send_request` turns a kio request entity into
framed bytes under a fresh correlation id and remembers what it asked;
:meth:`ClientConnection.receive_data` takes bytes from the broker and
:meth:`ClientConnection.next_response` returns each whole response, decoded with
the schema of the API key *and version* of the request it answers. Whoever owns
the socket (a test driver, a benchmark, a tool) only moves bytes.

Kafka answers the requests of one connection in the order they were sent
(protocol guide, "Network"), so a response is matched to the oldest request
still waiting; a correlation id that does not match it is a
:class:`RemoteProtocolError`. Produce with ``acks=0`` gets no response at all:
pass ``expect_response=False``.

Two header rules shape the decoding (KIP-482, KIP-511): a flexible version's
response carries header v1 (an empty tagged-field section after the correlation
id), except ApiVersions, whose response header is always v0; and a broker that
does not support the requested ApiVersions version answers in the v0 body format
with UNSUPPORTED_VERSION, which is decoded as v0 here.
"""

from __future__ import annotations

import dataclasses
import functools
import struct
from collections import deque
from dataclasses import dataclass
from typing import Any

from . import codec
from .exceptions import InvalidFrame, LocalProtocolError, RemoteProtocolError
from .framing import DEFAULT_MAX_FRAME_SIZE, FrameReader, frame
from .headers import skip_tagged_fields, write_string

API_VERSIONS_KEY = 18
_UNSUPPORTED_VERSION = 35

_HEAD = struct.Struct(">hhi")
_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """A request sent and not yet answered: what its response must be decoded as."""

    correlation_id: int
    api_key: int
    api_version: int


@dataclass(frozen=True, slots=True)
class Response:
    """One decoded response.

    ``body`` is the kio response entity, decoded at ``decoded_version``: the
    request's version, except for an ApiVersions request the broker did not
    support (answered in v0). ``frame`` is the raw frame (without its size
    prefix), for tests that compare bytes.
    """

    correlation_id: int
    api_key: int
    api_version: int
    decoded_version: int
    body: Any
    frame: bytes


class ClientConnection:
    """Turns requests into bytes for a broker, and the broker's bytes into responses.

    Args:
        client_id: the request header's ``client_id`` (``None`` sends null).
        max_frame_size: a response frame larger than this raises
            :class:`~streamtest.protocol.exceptions.FrameTooLarge`.
        first_correlation_id: the correlation id of the first request.
    """

    def __init__(
        self,
        client_id: str | None = "streamtest",
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        first_correlation_id: int = 1,
    ) -> None:
        self.client_id = client_id
        self._frames = FrameReader(max_frame_size)
        self._next_id = first_correlation_id
        self._pending: deque[PendingRequest] = deque()

    # -- sending -------------------------------------------------------------------------

    def send_request(
        self,
        request: Any,
        *,
        expect_response: bool = True,
        correlation_id: int | None = None,
    ) -> bytes:
        """Return the framed bytes of kio request entity ``request``.

        Its API key and version come from the entity's class. ``correlation_id``
        overrides the connection's counter (to test a broker's echo of odd ids).

        Raises:
            LocalProtocolError: ``request`` is not a kio request entity, or cannot
                be encoded.
        """
        try:
            key, version = int(request.__api_key__), int(request.__version__)
        except AttributeError as exc:
            raise LocalProtocolError(f"{request!r} is not a kio request entity") from exc
        if getattr(getattr(request, "__type__", None), "name", None) != "request":
            raise LocalProtocolError(f"{type(request).__name__} is not a request entity")
        try:
            body = codec.encode(request)
        except Exception as exc:
            raise LocalProtocolError(f"cannot encode {type(request).__name__}: {exc}") from exc
        return self.send_raw(
            key,
            version,
            body,
            flexible=bool(type(request).__flexible__),
            expect_response=expect_response,
            correlation_id=correlation_id,
        )

    def send_raw(
        self,
        api_key: int,
        api_version: int,
        body: bytes | bytearray,
        *,
        flexible: bool | None = None,
        expect_response: bool = True,
        correlation_id: int | None = None,
    ) -> bytes:
        """Return a framed request with a hand-made ``body`` (for bad input: a
        version the broker does not speak, a truncated body, a corrupt batch).

        ``flexible`` picks request header v2 (with tagged fields) over v1; by
        default it follows the schema of ``api_key`` at ``api_version``, and v1
        when there is no such schema. The response, if one is expected, is
        decoded with the response schema of that key and version.

        Raises:
            LocalProtocolError: a header field does not fit its type.
        """
        if flexible is None:
            try:
                flexible = codec.is_flexible(api_key, api_version)
            except LookupError:
                flexible = False
        cid = self._next_id if correlation_id is None else correlation_id
        if correlation_id is None:
            self._next_id = (self._next_id + 1) & 0x7FFFFFFF
        try:
            head = bytearray(_HEAD.pack(api_key, api_version, cid))
        except struct.error as exc:
            raise LocalProtocolError(f"bad request header field: {exc}") from exc
        # client_id stays a legacy nullable string even in header v2 (KIP-482).
        write_string(head, self.client_id, flexible=False)
        if flexible:
            head.append(0)  # no tagged fields
        if expect_response:
            self._pending.append(PendingRequest(cid, api_key, api_version))
        return frame(bytes(head) + bytes(body))

    # -- receiving -----------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Buffer bytes received from the broker."""
        self._frames.receive_data(data)

    @property
    def in_flight(self) -> int:
        """Return how many sent requests still await a response."""
        return len(self._pending)

    @property
    def pending(self) -> tuple[PendingRequest, ...]:
        """Return the requests awaiting a response, oldest first."""
        return tuple(self._pending)

    def next_frame(self) -> tuple[PendingRequest, bytes] | None:
        """Return the next whole response frame with the request it answers,
        undecoded, or ``None`` if more bytes are needed.

        Raises:
            RemoteProtocolError: the frame is malformed, answers no request, or its
                correlation id is not the oldest request's.
        """
        raw = self._frames.next_frame()
        if raw is None:
            return None
        if len(raw) < 4:
            raise InvalidFrame(f"response frame of {len(raw)} bytes has no correlation id")
        (cid,) = _INT32.unpack_from(raw, 0)
        if not self._pending:
            raise RemoteProtocolError(f"response with correlation id {cid} to no request")
        expected = self._pending[0]
        if cid != expected.correlation_id:
            raise RemoteProtocolError(
                f"response with correlation id {cid}, expected {expected.correlation_id} "
                "(responses must come in request order)"
            )
        self._pending.popleft()
        return expected, bytes(raw)

    def next_response(self) -> Response | None:
        """Return the next whole response, decoded, or ``None`` if more bytes are
        needed.

        Raises:
            RemoteProtocolError: the frame is malformed, out of order, or does not
                decode as the response to its request.
        """
        got = self.next_frame()
        if got is None:
            return None
        request, raw = got
        return decode_response(request, raw)


def build_request(api_key: int, api_version: int, data: dict[str, Any] | None = None) -> Any:
    """Return the kio request entity of ``api_key`` at ``api_version`` built from
    ``data`` (nested dicts; see :func:`~streamtest.protocol.codec.build`): fields
    the version lacks are dropped, missing ones get Kafka's "unset" value.

    Raises:
        LocalProtocolError: kio has no request schema for that key and version.
    """
    try:
        cls = codec.request_schema(api_key, api_version)
    except LookupError as exc:
        raise LocalProtocolError(str(exc)) from exc
    data = data or {}
    unknown = _unknown_fields(data, _field_names(api_key))
    if unknown:
        # build() drops fields a version lacks; a name no version has is a typo.
        raise LocalProtocolError(
            f"no version of api_key={api_key}'s request has field(s) {', '.join(sorted(unknown))}"
        )
    return codec.build(cls, data)


@functools.cache
def _field_names(api_key: int) -> frozenset[str]:
    """Return every field name of every version of ``api_key``'s request, at any depth."""
    names: set[str] = set()

    def walk(cls: type) -> None:
        for f in dataclasses.fields(cls):
            names.add(f.name)
            nested = _nested_entity(f)
            if nested is not None:
                walk(nested)

    version = 0
    while True:
        try:
            walk(codec.request_schema(api_key, version))
        except LookupError:
            if version > 0 and names:
                break
        version += 1
        if version > 64:
            break
    return frozenset(names)


def _nested_entity(f: dataclasses.Field[Any]) -> type | None:
    from kio.serial._introspect import EntityField, EntityTupleField, classify_field

    kind = classify_field(f)
    return kind.type_ if isinstance(kind, EntityField | EntityTupleField) else None


def _unknown_fields(data: Any, known: frozenset[str]) -> set[str]:
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key not in known:
                found.add(key)
            found |= _unknown_fields(value, known)
    elif isinstance(data, list | tuple):
        for item in data:
            found |= _unknown_fields(item, known)
    return found


def decode_response(request: PendingRequest, raw: bytes) -> Response:
    """Decode response frame ``raw`` (no size prefix) as the answer to ``request``.

    Raises:
        RemoteProtocolError: the body does not decode, or leaves bytes over.
    """
    key, version = request.api_key, request.api_version
    decoded_version = version
    offset = 4
    if key == API_VERSIONS_KEY:
        # Header v0 always; an unsupported request version is answered as v0.
        if len(raw) >= 6 and _INT16.unpack_from(raw, 4)[0] == _UNSUPPORTED_VERSION:
            decoded_version = 0
    else:
        try:
            flexible = codec.is_flexible(key, version)
        except LookupError as exc:
            raise RemoteProtocolError(f"no response schema for api_key={key} v{version}") from exc
        if flexible:
            offset = skip_tagged_fields(raw, offset)
    try:
        cls = codec.response_schema(key, decoded_version)
    except LookupError as exc:
        raise RemoteProtocolError(str(exc)) from exc
    body, end = codec.decode(cls, raw, offset)
    if end != len(raw):
        raise InvalidFrame(
            f"{cls.__name__} v{decoded_version} ends at byte {end} of a {len(raw)}-byte frame"
        )
    return Response(request.correlation_id, key, version, decoded_version, body, raw)
