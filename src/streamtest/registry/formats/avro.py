"""Avro schemas: parsing with fastavro, canonical and normal forms, and Avro's
reader/writer resolution rules as compatibility.

fastavro rather than the ``avro`` package: it is the library confluent-kafka's
own AvroSerializer uses, so a schema this registry accepts is one the client can
use; it validates names, types and namespaces strictly and resolves named types
across schemas (``named_schemas``), which schema references need; and it is
several times faster at parsing, which matters on the register path.

Compatibility follows the Avro specification's "Schema Resolution" section, as
Java's ``SchemaCompatibility`` (which Confluent's registry uses) implements it:
numeric promotion (int to long, float, double; long to float, double; float to
double), string and bytes interchangeable, records matched by name or alias with
reader fields missing from the writer needing a default, enum symbols of the
writer present in the reader (unless the reader has a default), fixed sizes equal,
and unions resolved branch by branch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..errors import SchemaParseError
from . import ParsedSchema, ResolvedReference

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED = frozenset({"record", "error", "enum", "fixed"})

#: Writer type -> reader types it is promoted to (Avro spec, "Schema Resolution").
PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}

# Java's Schema.toString() writes these keys first, in this order; we follow it so
# that key order in the submitted text does not change the canonical form.
_ORDER = (
    "type",
    "name",
    "namespace",
    "doc",
    "fields",
    "symbols",
    "items",
    "values",
    "size",
    "default",
    "order",
    "aliases",
    "logicalType",
    "precision",
    "scale",
)


_FIELD_ORDER = ("name", "type", "doc", "default", "order", "aliases")


def _ordered(obj: dict[str, Any], order: tuple[str, ...] = _ORDER) -> dict[str, Any]:
    rank = {k: i for i, k in enumerate(order)}
    return dict(sorted(obj.items(), key=lambda kv: rank.get(kv[0], len(order))))


def _canonical_json(node: Any) -> Any:
    if isinstance(node, list):
        return [_canonical_json(n) for n in node]
    if isinstance(node, dict):
        out = {}
        for k, v in _ordered(node).items():
            if k in ("type", "items", "values", "fields"):
                out[k] = _canonical_json(v)
            elif k == "default":
                out[k] = v  # a default is data, not a schema
            else:
                out[k] = v
        if "fields" in out and isinstance(out["fields"], list):
            out["fields"] = [
                _ordered({**f, "type": _canonical_json(f.get("type"))}, _FIELD_ORDER)
                if isinstance(f, dict)
                else f
                for f in out["fields"]
            ]
        return out
    return node


def _full_name(name: str, namespace: str | None) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def _normal_json(node: Any, namespace: str | None) -> Any:
    """Return ``node`` with every name fully qualified, namespaces dropped and
    ``{"type": "int"}`` written as ``"int"``: the normal form."""
    if isinstance(node, str):
        if node in PRIMITIVES:
            return node
        return _full_name(node, namespace)
    if isinstance(node, list):
        return [_normal_json(n, namespace) for n in node]
    if not isinstance(node, dict):
        return node
    t = node.get("type")
    if isinstance(t, str) and t in NAMED:
        ns = node.get("namespace", namespace)
        full = _full_name(node["name"], ns)
        inner_ns = full.rpartition(".")[0] or None
        out = {k: v for k, v in node.items() if k != "namespace"}
        out["name"] = full
        if "fields" in out:
            out["fields"] = [
                {**f, "type": _normal_json(f["type"], inner_ns)} for f in out["fields"]
            ]
        if "aliases" in out:
            out["aliases"] = [_full_name(a, inner_ns) for a in out["aliases"]]
        return _canonical_json(out)
    if isinstance(t, str) and t in PRIMITIVES and len(node) == 1:
        return t
    out = dict(node)
    for key in ("type", "items", "values"):
        if key in out:
            out[key] = _normal_json(out[key], namespace)
    return _canonical_json(out)


class AvroSchema(ParsedSchema):
    """A parsed Avro schema: the submitted JSON plus fastavro's resolved form."""

    schema_type = "AVRO"

    def __init__(self, raw: Any, parsed: Any, named: dict[str, Any]) -> None:
        self.raw = raw
        self.parsed = parsed
        self.named = named

    def canonical(self) -> str:
        """Return compact JSON with Java Avro's key order (whitespace and key order of
        the submitted text do not matter)."""
        return json.dumps(_canonical_json(self.raw), separators=(",", ":"), ensure_ascii=False)

    def normalized(self) -> AvroSchema:
        """Return the normal form: full names everywhere, no namespaces, primitive
        wrappers unwrapped."""
        return AvroSchema(_normal_json(self.raw, None), self.parsed, self.named)

    def compatibility_errors(self, writer: ParsedSchema) -> list[str]:
        """Return the Avro resolution errors of reading ``writer``'s data with this schema."""
        assert isinstance(writer, AvroSchema)
        checker = _Checker(self.named, writer.named)
        return checker.check(self.parsed, writer.parsed, "")


def parse(text: str, references: Sequence[ResolvedReference] = ()) -> AvroSchema:
    """Parse an Avro schema, with the named types of ``references`` in scope.

    Raises:
        SchemaParseError: invalid JSON or an invalid Avro schema.
    """
    from fastavro.schema import parse_schema

    named: dict[str, Any] = {}
    _load_references(references, named, set())
    try:
        raw = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise SchemaParseError(f"Invalid schema {text!r}: not JSON ({exc})") from None
    try:
        parsed = parse_schema(raw, named_schemas=named, _write_hint=False)
    except Exception as exc:  # fastavro raises several types (SchemaParseException, ...)
        raise SchemaParseError(f"Invalid schema {text}, details: {exc}") from None
    _check_defaults(raw)
    return AvroSchema(raw, parsed, named)


def _load_references(
    refs: Sequence[ResolvedReference], named: dict[str, Any], done: set[str]
) -> None:
    from fastavro.schema import parse_schema

    for ref in refs:
        if ref.name in done:
            continue
        done.add(ref.name)
        _load_references(ref.references, named, done)
        try:
            parse_schema(json.loads(ref.schema), named_schemas=named, _write_hint=False)
        except Exception as exc:
            raise SchemaParseError(
                f"Invalid schema: the reference {ref.name!r} does not parse: {exc}"
            ) from None


def _check_defaults(node: Any) -> None:
    """Reject a record field whose default does not match its type (Java's parser
    does since Avro 1.9, and a bad default breaks every reader that needs it)."""
    if isinstance(node, list):
        for n in node:
            _check_defaults(n)
        return
    if not isinstance(node, dict):
        return
    for f in node.get("fields", []) or []:
        if isinstance(f, dict):
            if "default" in f and not _default_fits(f["default"], f.get("type")):
                raise SchemaParseError(
                    f"Invalid schema: invalid default for field {f.get('name')!r}: "
                    f"{json.dumps(f['default'])} is not a {json.dumps(f.get('type'))}"
                )
            _check_defaults(f.get("type"))
    for key in ("items", "values", "type"):
        if isinstance(node.get(key), dict | list):
            _check_defaults(node[key])


def _default_fits(value: Any, t: Any) -> bool:
    """Return whether ``value`` is a valid JSON default for type ``t`` (a union's
    default must match its first branch). Named types by reference are accepted."""
    if isinstance(t, list):
        return bool(t) and _default_fits(value, t[0])
    if isinstance(t, dict):
        tt = t.get("type")
        if tt == "array":
            return isinstance(value, list)
        if tt == "map":
            return isinstance(value, dict)
        if tt in ("record", "error"):
            return isinstance(value, dict)
        if tt == "enum":
            return isinstance(value, str)
        if tt == "fixed":
            return isinstance(value, str)
        return _default_fits(value, tt)
    checks = {
        "null": lambda v: v is None,
        "boolean": lambda v: isinstance(v, bool),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "double": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "bytes": lambda v: isinstance(v, str),
        "string": lambda v: isinstance(v, str),
    }
    check = checks.get(t) if isinstance(t, str) else None
    return True if check is None else bool(check(value))


# -- compatibility -----------------------------------------------------------------------


def _type_name(node: Any) -> str:
    if isinstance(node, list):
        return "union"
    if isinstance(node, dict):
        t = node.get("type")
        return t if isinstance(t, str) else _type_name(t)
    return str(node)


class _Checker:
    """Avro's reader/writer resolution, reporting errors the way Confluent words them."""

    def __init__(self, reader_named: dict[str, Any], writer_named: dict[str, Any]) -> None:
        self.rn = reader_named
        self.wn = writer_named
        self.seen: set[tuple[str, str]] = set()

    def _resolve(self, node: Any, named: dict[str, Any]) -> Any:
        while isinstance(node, str) and node not in PRIMITIVES:
            if node not in named:
                return node
            node = named[node]
        if isinstance(node, dict) and isinstance(node.get("type"), dict | list):
            return self._resolve(node["type"], named)
        if isinstance(node, dict) and node.get("type") in PRIMITIVES and "name" not in node:
            return node["type"]
        return node

    @staticmethod
    def _err(kind: str, path: str, description: str, info: str) -> str:
        return (
            f"{{errorType:'{kind}', description:'{description}', additionalInfo:'{info}'}}"
        ).replace("%PATH%", path or "/")

    def check(self, reader: Any, writer: Any, path: str) -> list[str]:
        r = self._resolve(reader, self.rn)
        w = self._resolve(writer, self.wn)
        rt, wt = _type_name(r), _type_name(w)
        if wt == "union":
            errors: list[str] = []
            for i, branch in enumerate(w):
                errors += self.check(r, branch, f"{path}/{i}" if rt == "union" else path)
            return errors
        if rt == "union":
            for branch in r:
                if not self.check(branch, w, path):
                    return []
            return [
                self._err(
                    "MISSING_UNION_BRANCH",
                    path,
                    f"The new schema is missing a type inside a union field at path "
                    f"'{path or '/'}' in the old schema",
                    f"reader union lacking writer type: {wt.upper()}",
                )
            ]
        if rt != wt:
            if wt in PROMOTIONS and rt in PROMOTIONS[wt]:
                return []
            return [
                self._err(
                    "TYPE_MISMATCH",
                    path,
                    f"The type (path '{path or '/'}') of a field in the new schema does not "
                    f"match with the old schema",
                    f"reader type: {rt.upper()} not compatible with writer type: {wt.upper()}",
                )
            ]
        if rt in PRIMITIVES:
            return []
        if rt == "array":
            return self.check(r["items"], w["items"], f"{path}/items")
        if rt == "map":
            return self.check(r["values"], w["values"], f"{path}/values")
        return self._check_named(rt, r, w, path)

    def _check_named(self, kind: str, r: dict[str, Any], w: dict[str, Any], path: str) -> list[str]:
        rname, wname = r["name"], w["name"]
        if not _names_match(r, w):
            return [
                self._err(
                    "NAME_MISMATCH",
                    path,
                    f"The name of the schema has changed (path '{path or '/'}')",
                    f"expected: {wname}",
                )
            ]
        pair = (rname, wname)
        if pair in self.seen:  # a recursive type already being checked
            return []
        self.seen.add(pair)
        if kind == "fixed":
            if r.get("size") != w.get("size"):
                return [
                    self._err(
                        "FIXED_SIZE_MISMATCH",
                        path,
                        f"The size of FIXED type field at path '{path or '/'}' in the new "
                        f"schema does not match with the old schema",
                        f"expected: {w.get('size')}, found: {r.get('size')}",
                    )
                ]
            return []
        if kind == "enum":
            missing = [s for s in w.get("symbols", []) if s not in r.get("symbols", [])]
            if missing and "default" not in r:
                return [
                    self._err(
                        "MISSING_ENUM_SYMBOLS",
                        path,
                        f"The new schema is missing enum symbols '{missing}' at path "
                        f"'{path or '/'}/symbols' in the old schema",
                        f"[{', '.join(missing)}]",
                    )
                ]
            return []
        errors: list[str] = []
        wfields = {f["name"]: f for f in w.get("fields", [])}
        for i, rf in enumerate(r.get("fields", [])):
            wf = wfields.get(rf["name"])
            if wf is None:
                for alias in rf.get("aliases", []) or []:
                    wf = wfields.get(alias)
                    if wf is not None:
                        break
            fpath = f"{path}/fields/{i}"
            if wf is None:
                if "default" not in rf:
                    errors.append(
                        self._err(
                            "READER_FIELD_MISSING_DEFAULT_VALUE",
                            fpath,
                            f"The field '{rf['name']}' at path '{fpath}' in the new schema has "
                            f"no default value and is missing in the old schema",
                            rf["name"],
                        )
                    )
            else:
                errors += self.check(rf["type"], wf["type"], f"{fpath}/type")
        return errors


def _names_match(r: dict[str, Any], w: dict[str, Any]) -> bool:
    """Java compares unqualified names, and accepts a reader alias for the writer name."""
    rshort = r["name"].rpartition(".")[2]
    wshort = w["name"].rpartition(".")[2]
    if rshort == wshort:
        return True
    aliases = {a.rpartition(".")[2] for a in r.get("aliases", []) or []}
    return wshort in aliases
