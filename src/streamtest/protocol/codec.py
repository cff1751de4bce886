"""Request and response codecs: thin wrappers over ``kio``'s generated schemas.

``kio`` generates one frozen dataclass per message and version from Apache Kafka's
JSON definitions, with a native (Rust) reader. Two gaps are closed here:

* Unknown tagged fields. KIP-482 says a reader must skip tagged fields it does not
  know, so that newer clients can add optional data. kio 0.6.5's native entity
  reader raises ``KeyError`` instead.
* Hostile array lengths. kio's native entity reader reserves memory for an array
  from its length prefix before reading it, so a 4-byte prefix claiming two billion
  elements aborts the whole process (found by ``tests/broker/test_fuzz.py``).
  A broker must survive any bytes a peer sends.
* Null where the schema allows none. An array that is not nullable but arrives
  with length -1 (compact 0), any length below -1, or a null marker on a struct
  that is not nullable is refused here (Kafka's generated readers throw
  "non-nullable field ... was serialized as null"), so no handler ever sees
  ``None`` where the schema promises a list.

So structs and arrays are walked here, in Python (:func:`_tolerant_reader`),
checking each array length against the bytes left and skipping unknown tags,
while every primitive value is still read by kio's native per-type readers.
* Convenience. :func:`encode_response` serialises a response entity to bytes, and
  :func:`request_schema` / :func:`response_schema` are cached look-ups.

The hot paths (Produce decode, Fetch encode) do not go through here; see
``produce.py`` and ``fetch.py``.

Cold start. kio is imported on first use, not when this module is: ``import
streamtest`` and a broker that has answered nothing have not paid for it. kio's
base (its readers, writers and request headers) costs about 10 ms; each message
class is one small module loaded the first time its API and version are used
(``broker.warmup`` loads the common ones while the broker is idle). One thing is
left out on purpose: when Hypothesis is installed, kio's phantom types import it
and register a strategy for every primitive type at import time (kio's
``static/_phantom.py``), which cost 200-300 ms in a fresh process (80 ms even with
Hypothesis already imported). streamtest never asks Hypothesis for kio's types, so
:func:`_import_kio` loads kio's phantom module with that hook off. If kio's
primitive types were imported before (a program that uses kio before it starts a
broker), nothing is changed.
"""

from __future__ import annotations

import functools
import importlib
import io
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import fields
from types import ModuleType
from typing import Any, cast

from .exceptions import InvalidFrame
from .headers import read_uvarint

Reader = Callable[[Any, int], tuple[Any, int]]


class _RefuseInThisThread:
    """Makes ``import <name>`` fail in one thread only, for the duration of one import.

    Another thread importing the same module meanwhile is unaffected, which a
    ``sys.modules[name] = None`` stand-in would not allow. A meta path finder only
    needs ``find_spec``; it does not subclass ``importlib.abc.MetaPathFinder``,
    whose import (with importlib.resources and tempfile) cost ~5 ms of every cold
    start.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)
        self.thread = threading.get_ident()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        """Refuse the names, in the importing thread; defer everything else."""
        if threading.get_ident() == self.thread and fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname} is not loaded by kio inside streamtest")
        return None


_kio_lock = threading.Lock()


def _import_kio() -> ModuleType:
    """Import kio's phantom types without their Hypothesis registration hook (see the
    module docstring), and return ``kio.static.primitive``."""
    with _kio_lock:
        if "kio.static.primitive" not in sys.modules:
            if "kio.static._phantom" not in sys.modules and "hypothesis" not in sys.modules:
                finder = _RefuseInThisThread(["hypothesis"])
                sys.meta_path.insert(0, finder)
                try:
                    importlib.import_module("kio.static._phantom")
                finally:
                    sys.meta_path.remove(finder)
            phantom = importlib.import_module("kio.static._phantom")
            # With Hypothesis already imported the module found it: switch the hook
            # off before the primitive types are defined.
            phantom.hypothesis = None
        return importlib.import_module("kio.static.primitive")


class _Kio:
    """The parts of kio this module uses, imported on first use."""

    def __init__(self) -> None:
        _import_kio()
        from kio._kio_native import get_field_reader, get_reader
        from kio.index import load_request_schema, load_response_schema
        from kio.schema.errors import ErrorCode
        from kio.serial import entity_writer
        from kio.serial._introspect import (
            EntityField,
            EntityTupleField,
            PrimitiveTupleField,
            classify_field,
            get_field_tag,
        )
        from kio.serial.readers import read_compact_array_length, read_legacy_array_length

        self.get_field_reader = get_field_reader
        self.get_reader = get_reader
        self.load_request_schema = load_request_schema
        self.load_response_schema = load_response_schema
        self.ErrorCode = ErrorCode
        self.entity_writer = entity_writer
        self.EntityField = EntityField
        self.EntityTupleField = EntityTupleField
        self.PrimitiveTupleField = PrimitiveTupleField
        self.classify_field = classify_field
        self.get_field_tag = get_field_tag
        self.read_compact_array_length = read_compact_array_length
        self.read_legacy_array_length = read_legacy_array_length


@functools.cache
def _kio() -> _Kio:
    return _Kio()


@functools.cache
def request_schema(api_key: int, version: int) -> type:
    """Return kio's request class for ``api_key`` at ``version``.

    Raises:
        LookupError: kio has no schema for that key and version.
    """
    try:
        return _kio().load_request_schema(api_key, version)
    except Exception as exc:  # kio raises its own KioIndexError subclasses
        raise LookupError(f"no request schema for api_key={api_key} v{version}") from exc


@functools.cache
def response_schema(api_key: int, version: int) -> type:
    """Return kio's response class for ``api_key`` at ``version``.

    Raises:
        LookupError: kio has no schema for that key and version.
    """
    try:
        return _kio().load_response_schema(api_key, version)
    except Exception as exc:
        raise LookupError(f"no response schema for api_key={api_key} v{version}") from exc


@functools.cache
def is_flexible(api_key: int, version: int) -> bool:
    """Return whether ``api_key`` at ``version`` uses the flexible (KIP-482) encoding.

    Flexible versions use request header v2 and response header v1.
    """
    return bool(request_schema(api_key, version).__flexible__)


@functools.cache
def _writer(cls: type) -> Callable[[io.BytesIO, Any], None]:
    return cast(Callable[[io.BytesIO, Any], None], _kio().entity_writer(cls))


def decode(cls: type, buf: bytes | bytearray | memoryview, offset: int = 0) -> tuple[Any, int]:
    """Decode one ``cls`` entity from ``buf`` at ``offset``.

    Returns:
        The entity and the offset just past it.

    Raises:
        InvalidFrame: the bytes do not form a valid ``cls``.
    """
    if not isinstance(buf, bytes):
        # kio's native readers only take read-only buffers; a read-only view of
        # the frame avoids copying it.
        buf = memoryview(buf).toreadonly()
    try:
        return _tolerant_reader(cls)(buf, offset)
    except InvalidFrame:
        raise
    except Exception as exc:
        raise InvalidFrame(f"cannot decode {cls.__name__}: {exc}") from exc


def warm(api_key: int, version: int, response: bool) -> None:
    """Load and cache what decoding the request (or, with ``response``, building
    and encoding the response) of ``api_key`` at ``version`` needs (see
    ``broker.warmup``).

    Raises:
        LookupError: kio has no schema for that key and version.
    """
    if not response:
        _tolerant_reader(request_schema(api_key, version))
        return
    cls = response_schema(api_key, version)
    _build_plan(cls)
    _writer(cls)


def encode(entity: Any) -> bytes:
    """Serialise a kio entity (request, response or header) to bytes."""
    buf = io.BytesIO()
    _writer(type(entity))(buf, entity)
    return buf.getvalue()


@functools.cache
def _tolerant_reader(cls: type) -> Reader:
    """Build a reader for ``cls`` that skips unknown tagged fields (KIP-482)."""
    flexible = bool(cls.__flexible__)
    is_header = getattr(cls, "__type__", None) is not None and cls.__name__ == "RequestHeader"
    plain: list[tuple[str, Reader]] = []
    tagged: dict[int, tuple[str, Reader]] = {}
    k = _kio()
    for f in fields(cls):
        tag = k.get_field_tag(f)
        kind = k.classify_field(f)
        if isinstance(kind, k.EntityField):
            reader = _nullable(_tolerant_reader(kind.type_), f)
        elif isinstance(kind, k.EntityTupleField):
            reader = _array_of(_tolerant_reader(kind.type_), flexible, _allows_none(f), f.name)
        elif isinstance(kind, k.PrimitiveTupleField):
            item = _sized(k.get_reader(f.metadata["kafka_type"], flexible, False))
            reader = _array_of(item, flexible, _allows_none(f), f.name)
        else:
            native = k.get_field_reader(cls, f, is_header, tag is not None)
            reader = _sized(native)
        if tag is None:
            plain.append((f.name, reader))
        else:
            tagged[tag] = (f.name, reader)

    def read(buf: Any, offset: int) -> tuple[Any, int]:
        values: dict[str, Any] = {}
        for name, reader in plain:
            values[name], offset = reader(buf, offset)
        if flexible:
            count, offset = read_uvarint(buf, offset)
            for _ in range(count):
                tag, offset = read_uvarint(buf, offset)
                size, offset = read_uvarint(buf, offset)
                if tag in tagged:
                    name, reader = tagged[tag]
                    values[name], _ = reader(buf, offset)
                offset += size  # unknown tag: skip its bytes
        return cls(**values), offset

    return read


def _sized(native: Callable[[Any, int], tuple[Any, int]]) -> Reader:
    def read(buf: Any, offset: int) -> tuple[Any, int]:
        value, size = native(buf, offset)
        return value, offset + size

    return read


def _allows_none(f: Any) -> bool:
    """Return whether a kio field's type admits ``None`` (a nullable field)."""
    return "None" in str(f.type)


def _nullable(inner: Reader, f: Any) -> Reader:
    # Nullable struct fields carry a leading int8 marker (-1 null, 1 present).
    if not _allows_none(f):
        return inner

    def read(buf: Any, offset: int) -> tuple[Any, int]:
        marker = buf[offset]
        if marker in (0xFF, -1):
            return None, offset + 1
        return inner(buf, offset + 1)

    return read


def _array_of(inner: Reader, flexible: bool, nullable: bool, name: str) -> Reader:
    read_compact = _kio().read_compact_array_length
    read_legacy = _kio().read_legacy_array_length

    def read(buf: Any, offset: int) -> tuple[Any, int]:
        if flexible:
            length, size = read_compact(buf, offset)
        else:
            length, size = read_legacy(buf, offset)
        offset += size
        if length is None or length == -1:
            if not nullable:
                raise InvalidFrame(f"non-nullable field {name} was serialized as null")
            return None, offset
        if length < 0:
            raise InvalidFrame(f"field {name} has a negative length {length}")
        if length > len(buf) - offset:
            # Every element takes at least one byte: the prefix is a lie.
            raise InvalidFrame(f"array length {length} exceeds the bytes left")
        items = []
        for _ in range(length):
            item, offset = inner(buf, offset)
            items.append(item)
        return tuple(items), offset

    return read


# ---------------------------------------------------------------------------
# Building responses from plain data.
#
# kio has one class per message *and version*, and nested classes differ per
# version too. Handlers therefore describe a response once, as nested dicts with
# the union of the fields of every version they support, and ``build`` keeps what
# the negotiated version has. Missing fields get Kafka's "unset" value for their
# type. This keeps handlers version-agnostic, as in kfake.


@functools.cache
def _build_plan(cls: type) -> tuple[tuple[str, str, Any, Any], ...]:
    from dataclasses import MISSING

    k = _kio()
    plan = []
    for f in fields(cls):
        kind = k.classify_field(f)
        if isinstance(kind, k.EntityTupleField):
            plan.append((f.name, "entities", kind.type_, None))
            continue
        if isinstance(kind, k.EntityField):
            plan.append((f.name, "entity", kind.type_, None))
            continue
        ktype = f.metadata.get("kafka_type", "")
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        elif "None" in str(f.type):
            default = None
        elif ktype in ("timedelta_i32", "timedelta_i64"):
            import datetime

            default = datetime.timedelta(0)
        else:
            default = _ZERO.get(ktype, 0)
        is_array = "tuple[" in str(f.type)
        plan.append((f.name, "array" if is_array else ktype, default, None))
    return tuple(plan)


_ZERO: dict[str, Any] = {
    "string": "",
    "bytes": b"",
    "records": b"",
    "bool": False,
    "float64": 0.0,
}


def build(cls: type, data: dict[str, Any] | Any) -> Any:
    """Build a kio entity of ``cls`` from a dict (recursively), keeping only the
    fields ``cls`` has and converting plain values to kio's types.

    Integers become ``timedelta`` for ``timedelta_*`` fields, kio's ``ErrorCode``
    for ``error_code`` fields and ``uuid.UUID`` stays as is.
    """
    import datetime
    import uuid as _uuid

    KioErrorCode = _kio().ErrorCode  # noqa: N806

    if not isinstance(data, dict):
        return data
    values: dict[str, Any] = {}
    for name, kind, extra, _ in _build_plan(cls):
        present = name in data
        value = data.get(name)
        if kind == "entities":
            if not present or value is None:
                values[name] = None if present else ()
            else:
                values[name] = tuple(build(extra, v) for v in value)
        elif kind == "entity":
            values[name] = build(extra, value) if present and value is not None else None
        elif not present:
            values[name] = extra
        elif kind == "error_code":
            values[name] = KioErrorCode(int(value))
        elif kind in ("timedelta_i32", "timedelta_i64"):
            values[name] = (
                value
                if isinstance(value, datetime.timedelta)
                else datetime.timedelta(milliseconds=int(value))
            )
        elif kind == "uuid" and isinstance(value, str):
            values[name] = _uuid.UUID(value)
        elif kind == "array":
            values[name] = tuple(value) if value is not None else None
        else:
            values[name] = value
    return cls(**values)
