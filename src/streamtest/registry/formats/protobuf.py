"""Protobuf schemas: ``.proto`` text or a base64 ``FileDescriptorProto``, parsed by
protoc itself, printed back as canonical ``.proto`` text, and checked with
Confluent's Protobuf compatibility rules.

The parser is protoc, through ``grpcio-tools`` (the compiler as a Python
extension): it is the reference implementation of the language, so every option,
import, ``map``, ``oneof`` and proto3 ``optional`` is understood as ``protoc``
understands it, and its error messages (file, line, column) go back to the client
as the 42201 message. Schemas arrive in two forms: the Python and Go serializers
register a base64-encoded ``FileDescriptorProto``, other clients send ``.proto``
text. Both become a ``FileDescriptorProto``; the canonical text is printed from it
(as Confluent stores ``.proto`` text), and ``?format=serialized`` answers with the
base64 descriptor the Python deserializer asks for.

Compatibility follows Confluent's ``protobuf/diff`` package: fields are matched by
number; a changed scalar kind (``int32`` to ``string``), a changed message type,
a removed message, a changed package, a required field added or removed, or fields
moved into a oneof are incompatible; adding or removing optional fields, renaming
fields, and enum changes are compatible. One addition of ours: a field added with
a number or name that the old schema *reserved* is incompatible, since reserving
is how a schema says "this number once meant something else".

Custom options (extensions of ``*Options``) are not printed in the canonical text:
the descriptor only carries them as unknown fields.
"""

from __future__ import annotations

import ast
import base64
import binascii
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from typing import Any

from ..errors import SchemaParseError
from . import ParsedSchema, ResolvedReference

_SERIALIZED = re.compile(rb"AddSerializedFile\((b'(?:[^'\\]|\\.)*')\)")


def _text(v: str | bytes) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


# protoc keeps global state; one compilation at a time.
_PROTOC_LOCK = threading.Lock()

_SCALARS = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    6: "fixed64",
    7: "fixed32",
    8: "bool",
    9: "string",
    12: "bytes",
    13: "uint32",
    15: "sfixed32",
    16: "sfixed64",
    17: "sint32",
    18: "sint64",
}
_TYPE_GROUP, _TYPE_MESSAGE, _TYPE_ENUM = 10, 11, 14
_LABEL_OPTIONAL, _LABEL_REQUIRED, _LABEL_REPEATED = 1, 2, 3

#: Confluent's protobuf COMPATIBLE_CHANGES (protobuf/diff/SchemaDiff.java).
COMPATIBLE = frozenset(
    {
        "MESSAGE_ADDED",
        "MESSAGE_MOVED",
        "ENUM_ADDED",
        "ENUM_REMOVED",
        "ENUM_CONST_ADDED",
        "ENUM_CONST_CHANGED",
        "ENUM_CONST_REMOVED",
        "FIELD_ADDED",
        "FIELD_REMOVED",
        "FIELD_NAME_CHANGED",
        "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
        "ONEOF_ADDED",
        "ONEOF_REMOVED",
        "ONEOF_FIELD_ADDED",
        "ONEOF_FIELD_MOVED_TO_TOP_LEVEL",
    }
)


class ProtobufSchema(ParsedSchema):
    """A parsed ``.proto`` file and the descriptors of its dependencies."""

    schema_type = "PROTOBUF"

    def __init__(self, descriptor: Any, dependencies: dict[str, Any]) -> None:
        self.descriptor = descriptor  # FileDescriptorProto
        self.dependencies = dependencies  # import path -> FileDescriptorProto
        self._text: str | None = None

    def canonical(self) -> str:
        """Return the ``.proto`` text printed from the descriptor."""
        if self._text is None:
            self._text = to_proto_text(self.descriptor)
        return self._text

    def normalized(self) -> ProtobufSchema:
        """Return the normal form: the canonical text is already printed from the
        descriptor in one fixed layout, so it is its own normal form."""
        return self

    def formatted(self, fmt: str | None) -> str:
        """``serialized``: the base64 ``FileDescriptorProto`` (what the Python
        deserializer asks for); anything else: the ``.proto`` text."""
        if fmt == "serialized":
            return base64.standard_b64encode(self.descriptor.SerializeToString()).decode("ascii")
        return self.canonical()

    def compatibility_errors(self, writer: ParsedSchema) -> list[str]:
        """Return the incompatible differences from ``writer`` (original) to this
        schema (update), in Confluent's wording."""
        assert isinstance(writer, ProtobufSchema)
        diff = _Diff(writer, self)
        diff.compare_files()
        return [
            f"{{errorType:'{kind}', description:'Found an incompatible change: {kind} at "
            f"{path}', additionalInfo:'{path}'}}"
            for kind, path in diff.differences
            if kind not in COMPATIBLE
        ]


# -- parsing ------------------------------------------------------------------------------


def _as_descriptor(text: str) -> Any | None:
    """Return the FileDescriptorProto if ``text`` is one in base64, else ``None``."""
    from google.protobuf import descriptor_pb2
    from google.protobuf.message import DecodeError

    stripped = text.strip()
    if not stripped or any(c in stripped for c in ' \n\t;{}"'):
        return None
    try:
        data = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        return None
    fd = descriptor_pb2.FileDescriptorProto()
    try:
        fd.ParseFromString(data)
    except DecodeError:
        return None
    if not (fd.message_type or fd.enum_type or fd.service or fd.package or fd.syntax):
        return None
    return fd


def _builtin_text(name: str) -> str | None:
    """Return the ``.proto`` text of a well-known import the client libraries bundle
    (``google/type/*``, ``confluent/meta.proto``...), printed from its descriptor."""
    if not (name.startswith("google/") or name.startswith("confluent/")):
        return None
    try:
        import confluent_kafka.schema_registry.common.protobuf  # noqa: F401  (fills the pool)
        from google.protobuf import descriptor_pb2, descriptor_pool

        fd = descriptor_pool.Default().FindFileByName(name)
    except (ImportError, KeyError):
        return None
    proto = descriptor_pb2.FileDescriptorProto()
    fd.CopyToProto(proto)
    return to_proto_text(proto)


def _include_dir() -> str:
    import grpc_tools

    return os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")


def _write_references(
    root: str, refs: Sequence[ResolvedReference], written: dict[str, Any]
) -> None:
    for ref in refs:
        if ref.name in written:
            continue
        _write_references(root, ref.references, written)
        fd = _as_descriptor(ref.schema)
        text = to_proto_text(fd) if fd is not None else ref.schema
        _write_file(root, ref.name, text)
        written[ref.name] = None


def _write_file(root: str, name: str, text: str) -> None:
    path = os.path.normpath(os.path.join(root, name))
    if not path.startswith(root + os.sep):
        raise SchemaParseError(f"Invalid schema: import path {name!r} leaves the schema root")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _compile(text: str, refs: Sequence[ResolvedReference]) -> tuple[Any, dict[str, Any]]:
    """Compile ``.proto`` text with protoc; return its descriptor and its imports'."""
    from google.protobuf import descriptor_pb2
    from grpc_tools import _protoc_compiler as protoc

    include = _include_dir()
    with tempfile.TemporaryDirectory(prefix="streamtest-proto-") as root:
        root = os.path.realpath(root)
        _write_references(root, refs, {})
        main = "__schema__.proto"
        _write_file(root, main, text)
        for imported in re.findall(r'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"', text, re.M):
            if not os.path.exists(os.path.join(root, imported)) and not os.path.exists(
                os.path.join(include, imported)
            ):
                builtin = _builtin_text(imported)
                if builtin is not None:
                    _write_file(root, imported, builtin)
        with _PROTOC_LOCK:
            try:
                generated = protoc.get_protos(main.encode(), [root.encode(), include.encode()])
            except protoc.ProtocErrors as exc:
                details = "; ".join(
                    f"{_text(e.filename)}:{e.line + 1}:{e.column + 1}: {_text(e.message)}"
                    for e in exc.errors()
                ).replace(main, "schema")
                raise SchemaParseError(f"Invalid schema: {details}") from None
    # protoc's Python generator embeds each file's serialized FileDescriptorProto as
    # ``AddSerializedFile(b'...')``; reading it back spares a second compilation (and
    # protoc's warnings on stderr, which run_main prints and get_protos does not).
    files = []
    for _, code in generated:
        found = _SERIALIZED.search(code)
        if found is None:
            raise SchemaParseError("Invalid schema: protoc gave no descriptor")
        fd = descriptor_pb2.FileDescriptorProto()
        fd.ParseFromString(ast.literal_eval(found.group(1).decode("latin-1")))
        files.append(fd)
    fds = descriptor_pb2.FileDescriptorSet(file=files)
    deps = {f.name: f for f in fds.file if f.name != main}
    (fd,) = [f for f in fds.file if f.name == main]
    fd.name = "schema.proto"
    return fd, deps


def parse(text: str, references: Sequence[ResolvedReference] = ()) -> ProtobufSchema:
    """Parse ``.proto`` text or a base64 ``FileDescriptorProto``.

    Raises:
        SchemaParseError: protoc's errors, with line and column.
    """
    fd = _as_descriptor(text)
    if fd is not None:
        # Check it by compiling its printed text, which also gives the dependencies.
        _, deps = _compile(to_proto_text(fd), references)
        return ProtobufSchema(fd, deps)
    fd, deps = _compile(text, references)
    return ProtobufSchema(fd, deps)


# -- printing ------------------------------------------------------------------------------


def _quote(s: str | bytes) -> str:
    data = s.encode("utf-8") if isinstance(s, str) else s
    out = []
    for b in data:
        c = chr(b)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def _json_name(name: str) -> str:
    out, upper = [], False
    for c in name:
        if c == "_":
            upper = True
        elif upper:
            out.append(c.upper())
            upper = False
        else:
            out.append(c)
    return "".join(out)


def _options(opts: Any, skip: tuple[str, ...] = ()) -> list[str]:
    """Return ``name = value`` for each set standard option (custom ones are lost)."""
    out = []
    for fd, value in opts.ListFields():
        if fd.name in skip or fd.is_extension:
            continue
        repeated = getattr(fd, "is_repeated", None)
        if repeated is None:  # protobuf < 5.28 has only ``label``
            repeated = fd.label == _LABEL_REPEATED
        if repeated or fd.type == _TYPE_MESSAGE:
            continue
        if fd.type == _TYPE_ENUM:
            rendered = fd.enum_type.values_by_number[value].name
        elif isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, str | bytes):
            rendered = _quote(value)
        else:
            rendered = str(value)
        out.append(f"{fd.name} = {rendered}")
    return out


def _ranges(ranges: Any, inclusive_end: bool = False) -> str:
    parts = []
    for r in ranges:
        end = r.end if inclusive_end else r.end - 1
        if end == r.start:
            parts.append(str(r.start))
        elif end >= 536870911:
            parts.append(f"{r.start} to max")
        else:
            parts.append(f"{r.start} to {end}")
    return ", ".join(parts)


def to_proto_text(fd: Any) -> str:
    """Return ``.proto`` text for a ``FileDescriptorProto``, in one fixed layout."""
    lines: list[str] = []
    syntax = fd.syntax or "proto2"
    if syntax == "editions":
        lines.append(f'edition = "{fd.edition}";')  # pragma: no cover - rare
    else:
        lines.append(f'syntax = "{syntax}";')
    if fd.package:
        lines.append(f"package {fd.package};")
    lines.append("")
    public, weak = set(fd.public_dependency), set(fd.weak_dependency)
    for i, dep in enumerate(fd.dependency):
        kind = "public " if i in public else "weak " if i in weak else ""
        lines.append(f'import {kind}"{dep}";')
    for opt in _options(fd.options):
        lines.append(f"option {opt};")
    if fd.dependency or fd.options.ListFields():
        lines.append("")
    proto3 = syntax == "proto3"
    for msg in fd.message_type:
        _print_message(msg, lines, 0, proto3)
    for enum in fd.enum_type:
        _print_enum(enum, lines, 0)
    for ext_group in _group_extensions(fd.extension):
        _print_extend(ext_group, lines, 0, proto3)
    for svc in fd.service:
        lines.append(f"service {svc.name} {{")
        for opt in _options(svc.options):
            lines.append(f"  option {opt};")
        for m in svc.method:
            ins = ("stream " if m.client_streaming else "") + m.input_type
            outs = ("stream " if m.server_streaming else "") + m.output_type
            mopts = _options(m.options)
            if mopts:
                lines.append(f"  rpc {m.name}({ins}) returns ({outs}) {{")
                lines += [f"    option {o};" for o in mopts]
                lines.append("  }")
            else:
                lines.append(f"  rpc {m.name}({ins}) returns ({outs});")
        lines.append("}")
    return "\n".join(lines).rstrip() + "\n"


def _group_extensions(exts: Any) -> list[list[Any]]:
    groups: dict[str, list[Any]] = {}
    for e in exts:
        groups.setdefault(e.extendee, []).append(e)
    return list(groups.values())


def _print_extend(exts: list[Any], lines: list[str], depth: int, proto3: bool) -> None:
    pad = "  " * depth
    lines.append(f"{pad}extend {exts[0].extendee} {{")
    for e in exts:
        lines.append(pad + "  " + _field_line(e, {}, proto3, in_oneof=False))
    lines.append(f"{pad}}}")


def _field_type(f: Any) -> str:
    if f.type in (_TYPE_MESSAGE, _TYPE_ENUM, _TYPE_GROUP):
        return f.type_name
    return _SCALARS[f.type]


def _field_line(f: Any, maps: dict[str, Any], proto3: bool, in_oneof: bool) -> str:
    entry = maps.get(f.type_name) if f.type == _TYPE_MESSAGE else None
    if entry is not None:
        key, value = entry.field[0], entry.field[1]
        head = f"map<{_field_type(key)}, {_field_type(value)}> {f.name} = {f.number}"
    else:
        label = ""
        if not in_oneof:
            if f.label == _LABEL_REPEATED:
                label = "repeated "
            elif f.label == _LABEL_REQUIRED:
                label = "required "
            elif not proto3 or f.proto3_optional:
                label = "optional "
        head = f"{label}{_field_type(f)} {f.name} = {f.number}"
    extras = []
    if f.HasField("default_value"):
        dv = f.default_value
        extras.append(f"default = {_quote(dv) if f.type in (9, 12) else dv}")
    if f.HasField("json_name") and f.json_name != _json_name(f.name):
        extras.append(f"json_name = {_quote(f.json_name)}")
    extras += _options(f.options)
    return head + (f" [{', '.join(extras)}];" if extras else ";")


def _print_message(msg: Any, lines: list[str], depth: int, proto3: bool, prefix: str = "") -> None:
    pad = "  " * depth
    lines.append(f"{pad}message {msg.name} {{")
    for opt in _options(msg.options, skip=("map_entry",)):
        lines.append(f"{pad}  option {opt};")
    if msg.reserved_range:
        lines.append(f"{pad}  reserved {_ranges(msg.reserved_range)};")
    if msg.reserved_name:
        lines.append(f"{pad}  reserved {', '.join(_quote(n) for n in msg.reserved_name)};")
    maps = {
        f".{prefix}{msg.name}.{n.name}".replace("..", "."): n
        for n in msg.nested_type
        if n.options.map_entry
    }
    # Map entry type names are fully qualified; match on the suffix.
    by_suffix = {k.rsplit(".", 2)[-2] + "." + k.rsplit(".", 1)[-1]: v for k, v in maps.items()}
    resolved_maps = {}
    for f in msg.field:
        if f.type == _TYPE_MESSAGE:
            suffix = ".".join(f.type_name.rsplit(".", 2)[-2:])
            if suffix in by_suffix and f.label == _LABEL_REPEATED:
                resolved_maps[f.type_name] = by_suffix[suffix]
    real_oneofs: dict[int, list[Any]] = {}
    for f in msg.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            real_oneofs.setdefault(f.oneof_index, [])
    printed_oneofs: set[int] = set()
    for f in msg.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            idx = f.oneof_index
            if idx in printed_oneofs:
                continue
            printed_oneofs.add(idx)
            decl = msg.oneof_decl[idx]
            lines.append(f"{pad}  oneof {decl.name} {{")
            for opt in _options(decl.options):
                lines.append(f"{pad}    option {opt};")
            for g in msg.field:
                if g.HasField("oneof_index") and g.oneof_index == idx and not g.proto3_optional:
                    lines.append(f"{pad}    " + _field_line(g, resolved_maps, proto3, True))
            lines.append(f"{pad}  }}")
        else:
            lines.append(f"{pad}  " + _field_line(f, resolved_maps, proto3, False))
    if msg.extension_range:
        lines.append(f"{pad}  extensions {_ranges(msg.extension_range)};")
    for n in msg.nested_type:
        if not n.options.map_entry:
            _print_message(n, lines, depth + 1, proto3, f"{prefix}{msg.name}.")
    for e in msg.enum_type:
        _print_enum(e, lines, depth + 1)
    for ext_group in _group_extensions(msg.extension):
        _print_extend(ext_group, lines, depth + 1, proto3)
    lines.append(f"{pad}}}")


def _print_enum(enum: Any, lines: list[str], depth: int) -> None:
    pad = "  " * depth
    lines.append(f"{pad}enum {enum.name} {{")
    for opt in _options(enum.options):
        lines.append(f"{pad}  option {opt};")
    if enum.reserved_range:
        lines.append(f"{pad}  reserved {_ranges(enum.reserved_range, inclusive_end=True)};")
    if enum.reserved_name:
        lines.append(f"{pad}  reserved {', '.join(_quote(n) for n in enum.reserved_name)};")
    for v in enum.value:
        vopts = _options(v.options)
        suffix = f" [{', '.join(vopts)}]" if vopts else ""
        lines.append(f"{pad}  {v.name} = {v.number}{suffix};")
    lines.append(f"{pad}}}")


# -- compatibility ---------------------------------------------------------------------------


class _Types:
    """Every message and enum visible to one schema, by full name (no leading dot)."""

    def __init__(self, schema: ProtobufSchema) -> None:
        self.package = schema.descriptor.package
        self.messages: dict[str, tuple[Any, str, str]] = {}  # name -> (desc, package, file)
        self.enums: set[str] = set()
        for name, fd in [("schema.proto", schema.descriptor), *schema.dependencies.items()]:
            self._collect(fd.package, fd.message_type, fd.enum_type, fd.package, name)

    def _collect(self, prefix: str, msgs: Any, enums: Any, package: str, file: str) -> None:
        for m in msgs:
            full = f"{prefix}.{m.name}" if prefix else m.name
            self.messages[full] = (m, package, file)
            self._collect(full, m.nested_type, m.enum_type, package, file)
        for e in enums:
            self.enums.add(f"{prefix}.{e.name}" if prefix else e.name)


class _Diff:
    def __init__(self, original: ProtobufSchema, update: ProtobufSchema) -> None:
        self.o, self.u = original, update
        self.to, self.tu = _Types(original), _Types(update)
        self.differences: list[tuple[str, str]] = []
        self.stack: set[tuple[str, str]] = set()

    def add(self, kind: str, path: str) -> None:
        self.differences.append((kind, path))

    def compare_files(self) -> None:
        if self.o.descriptor.package != self.u.descriptor.package:
            self.add("PACKAGE_CHANGED", "#/")
        self._types(
            self.o.descriptor.message_type,
            self.o.descriptor.enum_type,
            self.u.descriptor.message_type,
            self.u.descriptor.enum_type,
            "#/",
        )

    def _types(self, om: Any, oe: Any, um: Any, ue: Any, path: str) -> None:
        omsgs = {m.name: (i, m) for i, m in enumerate(x for x in om if not x.options.map_entry)}
        umsgs = {m.name: (i, m) for i, m in enumerate(x for x in um if not x.options.map_entry)}
        for name in sorted(set(omsgs) | set(umsgs)):
            p = f"{path}{name}"
            if name not in umsgs:
                self.add("MESSAGE_REMOVED", p)
            elif name not in omsgs:
                self.add("MESSAGE_ADDED", p)
            else:
                self._message(omsgs[name][1], umsgs[name][1], p)
                if omsgs[name][0] != umsgs[name][0]:
                    self.add("MESSAGE_MOVED", p)
        oenums = {e.name: e for e in oe}
        uenums = {e.name: e for e in ue}
        for name in sorted(set(oenums) | set(uenums)):
            p = f"{path}{name}"
            if name not in uenums:
                self.add("ENUM_REMOVED", p)
            elif name not in oenums:
                self.add("ENUM_ADDED", p)
            else:
                oval = {v.number: v.name for v in oenums[name].value}
                uval = {v.number: v.name for v in uenums[name].value}
                for n in sorted(set(oval) | set(uval)):
                    if n not in uval:
                        self.add("ENUM_CONST_REMOVED", f"{p}.{n}")
                    elif n not in oval:
                        self.add("ENUM_CONST_ADDED", f"{p}.{n}")
                    elif oval[n] != uval[n]:
                        self.add("ENUM_CONST_CHANGED", f"{p}.{n}")

    @staticmethod
    def _fields(m: Any) -> tuple[dict[int, Any], dict[int, str], dict[str, list[int]]]:
        by_tag, tag_oneof, oneofs = {}, {}, {}
        for f in m.field:
            by_tag[f.number] = f
            if f.HasField("oneof_index") and not f.proto3_optional:
                name = m.oneof_decl[f.oneof_index].name
                tag_oneof[f.number] = name
                oneofs.setdefault(name, []).append(f.number)
        return by_tag, tag_oneof, oneofs

    def _message(self, om: Any, um: Any, path: str) -> None:
        key = (path, om.name)
        if key in self.stack:
            return
        self.stack.add(key)
        ob, oo, oones = self._fields(om)
        ub, uo, uones = self._fields(um)
        gone = {n for n, tags in oones.items() if n not in uones and not any(t in ub for t in tags)}
        for name, tags in uones.items():
            groups = set()
            moved_in = 0
            for t in tags:
                if t in oo:
                    groups.add("oneof:" + oo[t])
                elif t in ob:
                    groups.add(f"field:{t}")
                    moved_in += 1
            if len(groups) > 1:
                self.add(
                    "MULTIPLE_FIELDS_MOVED_TO_ONEOF"
                    if moved_in > 1
                    else "FIELD_MOVED_TO_EXISTING_ONEOF",
                    f"{path}.{name}",
                )
        for name in sorted(set(oones) | set(uones)):
            if name not in uones:
                self.add("ONEOF_REMOVED", f"{path}.{name}")
            elif name not in oones:
                self.add("ONEOF_ADDED", f"{path}.{name}")
        reserved = {
            n for r in om.reserved_range for n in range(r.start, min(r.end, r.start + 10000))
        }
        reserved_names = set(om.reserved_name)
        for tag in sorted(set(ob) | set(ub)):
            of, uf = ob.get(tag), ub.get(tag)
            p = f"{path}.{tag}"
            if uf is None:
                if tag in oo:
                    if oo[tag] not in gone:
                        self.add("ONEOF_FIELD_REMOVED", f"{path}.{oo[tag]}.{tag}")
                else:
                    self.add(
                        "REQUIRED_FIELD_REMOVED"
                        if of.label == _LABEL_REQUIRED
                        else "FIELD_REMOVED",
                        p,
                    )
            elif of is None:
                if tag in reserved or uf.name in reserved_names:
                    self.add("RESERVED_FIELD_REUSED", p)
                if tag in uo:
                    self.add("ONEOF_FIELD_ADDED", f"{path}.{uo[tag]}.{tag}")
                else:
                    self.add(
                        "REQUIRED_FIELD_ADDED" if uf.label == _LABEL_REQUIRED else "FIELD_ADDED", p
                    )
            else:
                if tag in oo and tag not in uo:
                    self.add("ONEOF_FIELD_MOVED_TO_TOP_LEVEL", p)
                self._field(of, uf, p)
        self._types(om.nested_type, om.enum_type, um.nested_type, um.enum_type, path + ".")
        self.stack.discard(key)

    def _label(self, f: Any, proto3: bool) -> int | None:
        if proto3 and f.label == _LABEL_OPTIONAL and not f.proto3_optional:
            return None  # square/wire (Confluent's parser) sees no label here
        return int(f.label)

    def _kind(self, f: Any, types: _Types) -> str:
        if f.type == _TYPE_ENUM:
            return "SCALAR"
        if f.type in (_TYPE_MESSAGE, _TYPE_GROUP):
            entry = types.messages.get(f.type_name.lstrip("."))
            if entry is not None and entry[0].options.map_entry:
                return "MAP"
            return "MESSAGE"
        return "SCALAR"

    @staticmethod
    def _scalar_kind(f: Any) -> str:
        if f.type == _TYPE_ENUM:
            return "GENERAL_NUMBER"
        name = _SCALARS.get(f.type, "")
        return {
            "int32": "GENERAL_NUMBER",
            "int64": "GENERAL_NUMBER",
            "uint32": "GENERAL_NUMBER",
            "uint64": "GENERAL_NUMBER",
            "bool": "GENERAL_NUMBER",
            "sint32": "SIGNED_NUMBER",
            "sint64": "SIGNED_NUMBER",
            "string": "STRING_OR_BYTES",
            "bytes": "STRING_OR_BYTES",
            "fixed32": "FIXED32",
            "sfixed32": "FIXED32",
            "fixed64": "FIXED64",
            "sfixed64": "FIXED64",
            "float": "FLOAT",
            "double": "DOUBLE",
        }.get(name, "ANY")

    def _field(self, of: Any, uf: Any, path: str, labels: bool = True) -> None:
        if labels and of.name != uf.name:
            self.add("FIELD_NAME_CHANGED", path)
        ko, ku = self._kind(of, self.to), self._kind(uf, self.tu)
        if ko != ku:
            self.add("FIELD_KIND_CHANGED", path)
            return
        if ko == "SCALAR":
            so, su = self._scalar_kind(of), self._scalar_kind(uf)
            if so != su:
                self.add("FIELD_SCALAR_KIND_CHANGED", path)
            elif labels:
                lo = self._label(of, self.o.descriptor.syntax == "proto3")
                lu = self._label(uf, self.u.descriptor.syntax == "proto3")
                if lo is not None and lu is not None and lo != lu:
                    if so == "STRING_OR_BYTES":
                        self.add("FIELD_STRING_OR_BYTES_LABEL_CHANGED", path)
                    elif so != "GENERAL_NUMBER" or True:
                        self.add("FIELD_NUMERIC_LABEL_CHANGED", path)
        elif ko == "MAP":
            eo = self.to.messages[of.type_name.lstrip(".")][0]
            eu = self.tu.messages[uf.type_name.lstrip(".")][0]
            self._field(eo.field[0], eu.field[0], path, labels=False)
            self._field(eo.field[1], eu.field[1], path, labels=False)
        else:
            self._message_type(of.type_name.lstrip("."), uf.type_name.lstrip("."), path)

    def _message_type(self, oname: str, uname: str, path: str) -> None:
        oe, ue = self.to.messages.get(oname), self.tu.messages.get(uname)
        if oe is None or ue is None:
            if oname != uname:
                self.add("FIELD_NAMED_TYPE_CHANGED", path)
            return
        olocal = oname[len(oe[1]) + 1 :] if oe[1] and oname.startswith(oe[1] + ".") else oname
        ulocal = uname[len(ue[1]) + 1 :] if ue[1] and uname.startswith(ue[1] + ".") else uname
        if olocal != ulocal:
            self.add("FIELD_NAMED_TYPE_CHANGED", path)
            return
        before = len(self.differences)
        self._message(oe[0], ue[0], f"#/{olocal}")
        if any(k not in COMPATIBLE for k, _ in self.differences[before:]):
            self.add("FIELD_NAMED_TYPE_CHANGED", path)
