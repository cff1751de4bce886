"""The registry's HTTP side: Confluent's REST routes over an asyncio server built on h11.

h11 (sans-I/O, one of our style anchors) does the HTTP/1.1 framing: this module
only moves bytes between the socket and ``h11.Connection`` and maps requests to
:class:`~streamtest.registry.service.RegistryService` calls. We chose it over a web
framework because the registry needs one small, fixed set of JSON routes, must
start in well under 20 ms inside the broker process (no framework import, no
worker startup), and must refuse oversized bodies before reading them, which h11
makes explicit: the ``Content-Length`` is checked when the request head arrives.

Service calls block on Kafka (catching up, producing), so they run in a small
thread pool; the event loop only does I/O.

Content types follow Confluent: requests may be ``application/vnd.schemaregistry.v1+json``,
``application/vnd.schemaregistry+json``, ``application/json`` or
``application/octet-stream``; responses are ``application/vnd.schemaregistry.v1+json``
unless the client accepts only ``application/json``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

import h11

from . import errors
from .errors import RegistryError
from .service import RegistryService

log = logging.getLogger(__name__)

CONTENT_TYPE_V1 = "application/vnd.schemaregistry.v1+json"
ACCEPTED_REQUEST_TYPES = (
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
)
#: Default limit on a request body (Confluent caps schemas far lower in practice).
DEFAULT_MAX_BODY = 8 * 1024 * 1024


@dataclass
class Request:
    """One decoded HTTP request: the method, the path split into unquoted segments,
    the query (last value of each name, plus ``multi`` for repeated ones), the body."""

    method: str
    segments: list[str]
    query: dict[str, str]
    multi: dict[str, list[str]]
    body: Any

    def flag(self, name: str) -> bool:
        """Return a boolean query parameter (``true``/``false``, default false).

        Raises:
            RegistryError: 400 when the value is neither.
        """
        value = self.query.get(name)
        if value is None or value == "":
            return False
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise errors.bad_request(f"Query parameter {name} must be true or false, not {value!r}")

    def text(self, name: str) -> str | None:
        """Return a string query parameter, or ``None``."""
        value = self.query.get(name)
        return value if value else None


def _int(value: str, what: str = "id") -> int:
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f"{what} must be an integer, not {value!r}", 404) from None


# A handler returns (status, body); a str body is sent as it is (the /schema routes).
Handler = Callable[[RegistryService, Request], tuple[int, Any]]


def route(svc: RegistryService, req: Request) -> tuple[int, Any]:
    """Dispatch ``req`` to the service; return ``(status, json_body)``.

    Raises:
        RegistryError: the service's, or 404/405 for unknown routes.
    """
    s, m, q = req.segments, req.method, req
    n = len(s)
    if n == 0:
        return 200, {}
    head = s[0]
    if head == "schemas":
        if n == 1 and m == "GET":
            return 200, svc.list_schemas(
                q.text("subjectPrefix"), q.flag("deleted"), q.flag("latestOnly")
            )
        if n == 2 and s[1] == "types" and m == "GET":
            return 200, svc.schema_types()
        if n >= 3 and s[1] == "ids" and m == "GET":
            sid = _int(s[2])
            if n == 3:
                return 200, svc.get_schema_by_id(
                    sid, q.text("subject"), q.text("format"), q.flag("fetchMaxId")
                )
            if n == 4 and s[3] == "schema":
                return 200, svc.get_schema_text(sid, q.text("subject"))
            if n == 4 and s[3] == "subjects":
                return 200, svc.id_subjects(sid, q.text("subject"), q.flag("deleted"))
            if n == 4 and s[3] == "versions":
                return 200, svc.id_versions(sid, q.text("subject"), q.flag("deleted"))
        if n == 3 and s[1] == "guids" and m == "GET":
            return 200, svc.get_schema_by_guid(s[2], q.text("format"))
    elif head == "subjects":
        if n == 1 and m == "GET":
            return 200, svc.subjects(
                q.text("subjectPrefix"),
                q.flag("deleted"),
                q.flag("deletedOnly") or q.flag("deleted_only"),
            )
        if n >= 2:
            subject = s[1]
            if n == 2:
                if m == "POST":
                    return 200, svc.lookup(subject, q.body, q.flag("normalize"), q.flag("deleted"))
                if m == "DELETE":
                    return 200, svc.delete_subject(subject, q.flag("permanent"))
            elif s[2] == "versions":
                if n == 3 and m == "GET":
                    return 200, svc.versions(
                        subject, q.flag("deleted"), q.flag("deletedOnly") or q.flag("deleted_only")
                    )
                if n == 3 and m == "POST":
                    return 200, svc.register(subject, q.body, q.flag("normalize"))
                if n >= 4:
                    version = s[3]
                    if n == 4 and m == "GET":
                        return 200, svc.get_version(
                            subject, version, q.flag("deleted"), q.text("format")
                        )
                    if n == 4 and m == "DELETE":
                        return 200, svc.delete_version(subject, version, q.flag("permanent"))
                    if n == 5 and s[4] == "schema" and m == "GET":
                        return 200, svc.get_version_text(subject, version, q.flag("deleted"))
                    if n == 5 and s[4] == "referencedby" and m == "GET":
                        return 200, svc.referenced_by(subject, version)
            elif s[2] == "metadata" and n == 3 and m == "GET":
                keys, values = q.multi.get("key", []), q.multi.get("value", [])
                return 200, svc.latest_with_metadata(
                    subject,
                    dict(zip(keys, values, strict=False)),
                    q.flag("deleted"),
                    q.text("format"),
                )
    elif head == "compatibility" and n >= 4 and s[1] == "subjects" and s[3] == "versions":
        if m == "POST" and n in (4, 5):
            return 200, svc.test_compatibility(
                s[2], s[4] if n == 5 else None, q.body, q.flag("verbose"), q.flag("normalize")
            )
    elif head == "config" and n <= 2:
        subject = s[1] if n == 2 else None
        if m == "GET":
            return 200, svc.get_config(subject, q.flag("defaultToGlobal"))
        if m == "PUT":
            return 200, svc.set_config(subject, q.body)
        if m == "DELETE":
            return 200, svc.delete_config(subject)
    elif head == "mode" and n <= 2:
        subject = s[1] if n == 2 else None
        if m == "GET":
            return 200, svc.get_mode(subject, q.flag("defaultToGlobal"))
        if m == "PUT":
            return 200, svc.set_mode(subject, q.body, q.flag("force"))
        if m == "DELETE" and subject is not None:
            return 200, svc.delete_mode(subject)
    elif head == "contexts" and n == 1 and m == "GET":
        return 200, ["."]
    elif s == ["v1", "metadata", "id"] and m == "GET":
        return 200, {"scope": {"path": [], "clusters": {"schema-registry-cluster": "streamtest"}}}
    raise errors.bad_request(f"HTTP 404 Not Found: no route for {m} /{'/'.join(s)}", 404)


def parse_target(target: bytes) -> tuple[list[str], dict[str, str], dict[str, list[str]]]:
    """Split a request target into unquoted path segments and query parameters.

    Segments are split before unquoting, so a subject holding an encoded ``/``
    (``%2F``) stays one segment.
    """
    raw = target.decode("latin-1")
    path, _, query = raw.partition("?")
    segments = [unquote(p) for p in path.split("/") if p]
    multi = parse_qs(query, keep_blank_values=True)
    return segments, {k: v[-1] for k, v in multi.items()}, multi


def _response_type(accept: str) -> str:
    if not accept or "vnd.schemaregistry" in accept or "*/*" in accept:
        return CONTENT_TYPE_V1
    if "application/json" in accept:
        return "application/json"
    return CONTENT_TYPE_V1


class HttpServer:
    """Serves :func:`route` over HTTP/1.1 (keep-alive) on an already-bound socket."""

    def __init__(
        self, service: RegistryService, executor: Executor, max_body: int = DEFAULT_MAX_BODY
    ) -> None:
        self.service = service
        self.executor = executor
        self.max_body = max_body
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, sock: Any) -> None:
        """Serve connections on ``sock`` (bound and listening)."""
        self._server = await asyncio.start_server(self._serve, sock=sock)

    async def stop(self) -> None:
        """Close the listener and every open connection."""
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            w.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        try:
            while True:
                request = await self._next_request(conn, reader, writer)
                if request is None:
                    return
                await self._answer(conn, writer, *request)
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                try:
                    conn.start_next_cycle()
                except h11.LocalProtocolError:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except h11.RemoteProtocolError as exc:
            await self._send_error(conn, writer, errors.bad_request(f"Bad request: {exc}"))
        except asyncio.CancelledError:
            pass
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _next_event(self, conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                continue
            return event

    async def _next_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[h11.Request, bytes] | None:
        event = await self._next_event(conn, reader)
        if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None
        if not isinstance(event, h11.Request):
            return None
        length = next(
            (int(v) for k, v in event.headers if k == b"content-length" and v.isdigit()), 0
        )
        if length > self.max_body:
            await self._send_error(
                conn,
                writer,
                errors.bad_request(
                    f"Request body of {length} bytes exceeds the limit of {self.max_body}", 413
                ),
            )
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            ev = await self._next_event(conn, reader)
            if isinstance(ev, h11.Data):
                size += len(ev.data)
                if size > self.max_body:  # chunked bodies have no length up front
                    await self._send_error(
                        conn,
                        writer,
                        errors.bad_request(
                            f"Request body exceeds the limit of {self.max_body}", 413
                        ),
                    )
                    return None
                chunks.append(bytes(ev.data))
            elif isinstance(ev, h11.EndOfMessage):
                return event, b"".join(chunks)
            else:
                return None

    async def _answer(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, request: h11.Request, body: bytes
    ) -> None:
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in request.headers}
        accept = headers.get("accept", "")
        try:
            segments, query, multi = parse_target(request.target)
            decoded: Any = None
            if body:
                ctype = headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype and ctype not in ACCEPTED_REQUEST_TYPES:
                    raise errors.bad_request(f"HTTP 415 Unsupported Media Type: {ctype}", 415)
                try:
                    decoded = json.loads(body)
                except ValueError as exc:
                    raise errors.bad_request(f"Unrecognized request body: {exc}") from None
            req = Request(request.method.decode(), segments, query, multi, decoded)
            loop = asyncio.get_running_loop()
            status, payload = await loop.run_in_executor(self.executor, route, self.service, req)
        except RegistryError as exc:
            status, payload = exc.status, exc.body()
        except Exception as exc:  # a bug: answer 500, keep the server up
            log.exception("schema registry request failed")
            status, payload = 500, {"error_code": 500, "message": f"Internal error: {exc}"}
        await self._send(conn, writer, status, payload, _response_type(accept))

    async def _send_error(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, exc: RegistryError
    ) -> None:
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            try:
                await self._send(conn, writer, exc.status, exc.body(), CONTENT_TYPE_V1, close=True)
            except (ConnectionError, h11.LocalProtocolError):
                pass

    async def _send(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        status: int,
        payload: Any,
        content_type: str,
        close: bool = False,
    ) -> None:
        if isinstance(payload, str):  # the /schema routes send the schema text itself
            data = payload.encode()
        else:
            data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = [("content-type", content_type), ("content-length", str(len(data)))]
        if close:
            headers.append(("connection", "close"))
        out = conn.send(h11.Response(status_code=status, headers=headers))
        out += conn.send(h11.Data(data=data)) + conn.send(h11.EndOfMessage())
        writer.write(out)
        await writer.drain()
