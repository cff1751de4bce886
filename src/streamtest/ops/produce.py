"""``produce``: kcat-style writing of lines or JSON lines from a stream to a topic.

Input is bytes and stays bytes: a record is everything between two record
delimiters (``\n`` unless kcat's ``-D`` says otherwise), produced exactly as read,
so binary and non-UTF-8 data go through unchanged.

Text mode: each record is a value, or with a key delimiter ``key<delim>value``
(split at the first delimiter; a record without it has a null key, as in kcat);
with ``null_empty`` (kcat's ``-Z``) an empty value is sent as null (a tombstone).
JSON mode: each line is an object with ``value`` (or kcat's ``payload``), and
optionally ``key``, ``headers`` (an object or ``[name, value]`` pairs),
``partition`` and ``timestamp``. With ``base64`` the key, value and header values
are base64, which is what ``replay --output`` writes, so its files can be
produced back unchanged. Blank lines are skipped in both modes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from confluent_kafka import KafkaError, Message

from .client import ClientConfig, check_reachable, list_topic_partitions, resolve_partitions
from .errors import InvalidInputError, OpsError


@dataclass
class OutgoingRecord:
    """A record to produce; ``None`` fields are left to the producer."""

    value: bytes | None
    key: bytes | None = None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    partition: int | None = None
    timestamp: int | None = None


def _bytes(value: Any, b64: bool, where: str) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        if b64:
            raise InvalidInputError(f"{where}: expected a base64 string")
        value = json.dumps(value, separators=(",", ":"))  # numbers/objects as JSON text
    if b64:
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise InvalidInputError(f"{where}: invalid base64") from None
    return value.encode("utf-8")


def parse_json_record(line: str, lineno: int, *, b64: bool = False) -> OutgoingRecord:
    """Parse one JSON line into an :class:`OutgoingRecord`.

    Raises:
        InvalidInputError: not a JSON object, or a field of the wrong type.
    """
    where = f"line {lineno}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{where}: invalid JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise InvalidInputError(f"{where}: expected a JSON object")
    value = obj.get("value", obj.get("payload"))
    raw_headers = obj.get("headers") or []
    pairs = raw_headers.items() if isinstance(raw_headers, dict) else raw_headers
    headers = []
    for pair in pairs:
        if not isinstance(pair, list | tuple) or len(pair) != 2 or not isinstance(pair[0], str):
            raise InvalidInputError(f"{where}: headers must be an object or [name, value] pairs")
        headers.append((pair[0], _bytes(pair[1], b64, f"{where} header {pair[0]!r}")))
    partition, timestamp = obj.get("partition"), obj.get("timestamp")
    for name, v in (("partition", partition), ("timestamp", timestamp)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise InvalidInputError(f"{where}: {name} must be a non-negative integer")
    return OutgoingRecord(
        _bytes(value, b64, f"{where} value"),
        _bytes(obj.get("key"), b64, f"{where} key"),
        headers,
        partition,
        timestamp,
    )


def split_records(source: IO[bytes] | Iterable[bytes], delimiter: bytes = b"\n") -> Iterator[bytes]:
    """Yield the records of a byte stream split at ``delimiter`` (which is dropped;
    a last record without a trailing delimiter is still yielded).

    Raises:
        InvalidInputError: an empty delimiter.
    """
    if not delimiter:
        raise InvalidInputError("the record delimiter must not be empty")
    read = getattr(source, "read", None)
    chunks: Iterable[bytes] = iter(lambda: read(65536), b"") if read else source
    buf = b""
    for chunk in chunks:
        buf += chunk
        *done, buf = buf.split(delimiter)
        yield from done
    if buf:
        yield buf


def parse_records(
    records: Iterable[bytes],
    *,
    key_delimiter: bytes | None = None,
    json_lines: bool = False,
    b64: bool = False,
    headers: Iterable[tuple[str, bytes | None]] = (),
    partition: int | None = None,
    null_empty: bool = False,
) -> Iterator[OutgoingRecord]:
    """Turn raw input records into records to produce; ``headers`` and ``partition``
    apply to every record (a JSON ``partition`` field wins over ``partition``).

    Empty records (and, in text mode, records of only whitespace) are skipped, as
    blank lines. Keys and values are the input bytes, unchanged.

    Raises:
        InvalidInputError: a malformed record (reported with its number).
    """
    extra = list(headers)
    for lineno, raw in enumerate(records, 1):
        if not raw.strip():
            continue
        if json_lines:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInputError(
                    f"line {lineno}: JSON must be UTF-8 (bad byte at {exc.start})"
                ) from None
            rec = parse_json_record(text, lineno, b64=b64)
        elif key_delimiter is not None and key_delimiter in raw:
            k, v = raw.split(key_delimiter, 1)
            rec = OutgoingRecord(None if null_empty and not v else v, k)
        else:
            rec = OutgoingRecord(raw)
        rec.headers = extra + rec.headers
        if rec.partition is None:
            rec.partition = partition
        yield rec


def parse_lines(
    lines: Iterable[str],
    *,
    key_delimiter: str | None = None,
    json_lines: bool = False,
    b64: bool = False,
    headers: Iterable[tuple[str, bytes | None]] = (),
    partition: int | None = None,
) -> Iterator[OutgoingRecord]:
    """:func:`parse_records` for text lines (UTF-8 encoded; a trailing newline dropped).

    Raises:
        InvalidInputError: a malformed line (reported with its line number).
    """
    yield from parse_records(
        (line.rstrip("\r\n").encode("utf-8") for line in lines),
        key_delimiter=key_delimiter.encode("utf-8") if key_delimiter is not None else None,
        json_lines=json_lines,
        b64=b64,
        headers=headers,
        partition=partition,
    )


def parse_header_option(text: str) -> tuple[str, bytes]:
    """Parse kcat's ``-H name=value``.

    Raises:
        InvalidInputError: no ``=``.
    """
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise InvalidInputError(f"invalid header {text!r}: expected name=value")
    return name, value.encode("utf-8")


def produce_records(config: ClientConfig, topic: str, records: Iterable[OutgoingRecord]) -> int:
    """Produce ``records`` to ``topic`` (which must exist) and wait for every delivery.

    Input is parsed lazily, so a bad line stops production there: lines before it
    are delivered, and the error names the line.

    Returns:
        The number of records delivered.

    Raises:
        UnknownTopicError, UnknownPartitionError: bad topic or partition.
        InvalidInputError: a malformed input line.
        OpsError: a delivery failed.
    """
    check_reachable(config)
    known = list_topic_partitions(config.admin(), config)
    count = len(resolve_partitions(known, topic, None))
    producer = config.producer(**{"enable.idempotence": True, "linger.ms": 5})
    errors: list[str] = []
    sent = 0

    def delivered(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            errors.append(f"{err.name()}: {err.str()}")

    try:
        for rec in records:
            kwargs: dict[str, Any] = {"key": rec.key, "value": rec.value,
                                      "headers": rec.headers or None, "on_delivery": delivered}
            if rec.partition is not None:
                resolve_partitions({topic: count}, topic, [rec.partition])
                kwargs["partition"] = rec.partition
            if rec.timestamp is not None:
                kwargs["timestamp"] = rec.timestamp
            while True:
                try:
                    producer.produce(topic, **kwargs)
                    break
                except BufferError:
                    producer.poll(0.1)
            producer.poll(0)
            sent += 1
    finally:
        left = producer.flush(config.timeout + 5)
    if left:
        errors.append(f"{left} records not delivered within {config.timeout:g}s")
    if errors:
        raise OpsError(f"produce to '{topic}' failed: {errors[0]}")
    return sent
