"""What the broker reports about its requests: the request log, JSON log lines,
and the hand-off to metrics.

Every completed request goes through :func:`finished`, which feeds
``broker.metrics`` (when on) and logs one ``request completed`` line at DEBUG on
the ``streamtest.broker.requests`` logger, as Kafka's ``kafka.request.logger``
does. Log lines about a request carry :func:`request_fields`: a ``request_id``
(``<connection id>-<correlation id>``, unique within one broker process and
traceable to the client's own correlation id), the ``client_id``, the API name and
version, and the peer. :class:`JsonFormatter` writes each record as one JSON object
per line (``streamtest broker --log-format json``).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from ..protocol.headers import RequestHeader
from .dispatch import REGISTRY

if TYPE_CHECKING:
    from .server import KafkaProtocol

request_log = logging.getLogger("streamtest.broker.requests")

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def api_name(api_key: int) -> str:
    """Return Kafka's name of ``api_key`` (``Produce``), or ``ApiKey<N>`` if unknown."""
    spec = REGISTRY.get(api_key)
    return spec.name if spec is not None else f"ApiKey{api_key}"


def request_fields(conn: KafkaProtocol, header: RequestHeader | None) -> dict[str, Any]:
    """Return the log fields that identify ``conn`` and, if given, one request on it."""
    fields: dict[str, Any] = {
        "node_id": conn.node.node_id,
        "connection_id": conn.connection_id,
        "peer": conn.peer,
    }
    if header is not None:
        fields.update(
            request_id=f"{conn.connection_id}-{header.correlation_id}",
            correlation_id=header.correlation_id,
            client_id=header.client_id,
            api=api_name(header.api_key),
            api_version=header.api_version,
        )
    return fields


def finished(
    conn: KafkaProtocol, header: RequestHeader, started: float, failed: bool = False
) -> None:
    """Record that a request on ``conn`` completed (or ``failed``: its connection is
    being closed) ``started`` being its ``time.monotonic()`` arrival time."""
    metrics = conn.cluster.metrics
    if metrics is None and not request_log.isEnabledFor(logging.DEBUG):
        return
    seconds = time.monotonic() - started
    if metrics is not None:
        metrics.request_done(header.api_key, header.api_version, seconds, failed)
    if request_log.isEnabledFor(logging.DEBUG):
        fields = request_fields(conn, header)
        fields["duration_ms"] = round(seconds * 1000, 3)
        fields["failed"] = failed
        request_log.debug("request completed", extra=fields)


class JsonFormatter(logging.Formatter):
    """Formats a log record as one line of JSON.

    Every line has ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``
    and ``message``, plus the record's ``extra=`` fields (``request_id``,
    ``client_id``, ...), and ``exception`` with the traceback if there is one.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as a JSON object on one line."""
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, separators=(",", ":"))


LOG_FORMATS = ("text", "json")


def configure_logging(level: int, log_format: str = "text", stream: IO[str] | None = None) -> None:
    """Send the broker's log records at ``level`` or above to ``stream`` (stderr), as
    text lines or as JSON lines (``log_format`` ``"json"``).

    Raises:
        ValueError: ``log_format`` is neither ``"text"`` nor ``"json"``.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
