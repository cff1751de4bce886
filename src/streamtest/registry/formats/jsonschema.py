"""JSON Schemas: validation against the metaschema (``jsonschema``), canonical forms,
and Confluent's compatibility rules.

Compatibility follows Confluent's ``json/diff`` package (``SchemaDiff``,
``ObjectSchemaDiff``, ``CombinedSchemaDiff``...): the old schema is diffed against
the new one, every difference gets a type such as ``TYPE_NARROWED`` or
``REQUIRED_ATTRIBUTE_ADDED``, and the change is compatible when every difference is
in Confluent's ``COMPATIBLE_CHANGES_STRICT`` set (the default). The question asked
is "does the new (reader) schema accept everything the old (writer) one did":
widening is compatible, narrowing is not. Notably, adding a property to an *open*
content model (no ``additionalProperties: false``) is incompatible, because old
data may already hold that property with any value; adding an optional property
to a closed model is compatible.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urldefrag, urljoin

from ..errors import SchemaParseError
from . import ParsedSchema, ResolvedReference

#: Confluent's COMPATIBLE_CHANGES_STRICT (json/diff/SchemaDiff.java).
COMPATIBLE = frozenset(
    """ID_CHANGED DESCRIPTION_CHANGED TITLE_CHANGED DEFAULT_CHANGED SCHEMA_REMOVED TYPE_EXTENDED
    MAX_LENGTH_INCREASED MAX_LENGTH_REMOVED MIN_LENGTH_DECREASED MIN_LENGTH_REMOVED PATTERN_REMOVED
    MAXIMUM_INCREASED MAXIMUM_REMOVED MINIMUM_DECREASED MINIMUM_REMOVED EXCLUSIVE_MAXIMUM_INCREASED
    EXCLUSIVE_MAXIMUM_REMOVED EXCLUSIVE_MINIMUM_DECREASED EXCLUSIVE_MINIMUM_REMOVED
    MULTIPLE_OF_REDUCED MULTIPLE_OF_REMOVED REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED
    REQUIRED_ATTRIBUTE_REMOVED DEPENDENCY_ARRAY_NARROWED DEPENDENCY_ARRAY_REMOVED
    DEPENDENCY_SCHEMA_REMOVED MAX_PROPERTIES_INCREASED MAX_PROPERTIES_REMOVED
    MIN_PROPERTIES_DECREASED MIN_PROPERTIES_REMOVED ADDITIONAL_PROPERTIES_ADDED
    ADDITIONAL_PROPERTIES_EXTENDED PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
    REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL
    OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL
    PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL
    PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
    PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL MAX_ITEMS_INCREASED
    MAX_ITEMS_REMOVED MIN_ITEMS_DECREASED MIN_ITEMS_REMOVED UNIQUE_ITEMS_REMOVED
    ADDITIONAL_ITEMS_ADDED ADDITIONAL_ITEMS_EXTENDED
    ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
    ITEM_ADDED_TO_CLOSED_CONTENT_MODEL ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL
    ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
    ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL ENUM_ARRAY_EXTENDED
    COMBINED_TYPE_EXTENDED PRODUCT_TYPE_NARROWED SUM_TYPE_EXTENDED NOT_TYPE_NARROWED""".split()
)

_NUMERIC = ("number", "integer")
_COMBINERS = ("allOf", "anyOf", "oneOf")


class JsonSchema(ParsedSchema):
    """A parsed JSON Schema, with the documents its ``$ref`` s may point into."""

    schema_type = "JSON"

    def __init__(self, raw: Any, documents: dict[str, Any]) -> None:
        self.raw = raw
        self.documents = documents  # reference name or $id -> document

    def canonical(self) -> str:
        """Return compact JSON in the submitted key order (as Confluent stores it)."""
        return json.dumps(self.raw, separators=(",", ":"), ensure_ascii=False)

    def normalized(self) -> JsonSchema:
        """Return the normal form: keys sorted at every level, ``required`` sorted."""
        return JsonSchema(_normalize(self.raw), self.documents)

    def compatibility_errors(self, writer: ParsedSchema) -> list[str]:
        """Return the incompatible differences between ``writer`` (original) and this
        schema (update), in Confluent's wording."""
        assert isinstance(writer, JsonSchema)
        diff = _Diff(writer, self)
        diff.compare(writer.raw, self.raw, "#/", writer.raw, self.raw)
        return [
            f"{{errorType:'{kind}', description:'Found an incompatible change: {kind} at "
            f"path {path}', additionalInfo:'{path}'}}"
            for kind, path in diff.differences
            if kind not in COMPATIBLE
        ]


def _normalize(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _normalize(node[k]) for k in sorted(node)}
        if isinstance(out.get("required"), list):
            out["required"] = sorted(out["required"], key=str)
        return out
    if isinstance(node, list):
        return [_normalize(n) for n in node]
    return node


def parse(text: str, references: Sequence[ResolvedReference] = ()) -> JsonSchema:
    """Parse and check a JSON Schema against its metaschema (``$schema``, default
    draft 7, as Confluent's default).

    Raises:
        SchemaParseError: invalid JSON, or not a valid schema for its draft.
    """
    from jsonschema import Draft7Validator, SchemaError, validators

    try:
        raw = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise SchemaParseError(f"Invalid schema {text!r}: not JSON ({exc})") from None
    if not isinstance(raw, dict | bool):
        raise SchemaParseError(f"Invalid schema {text}: a JSON Schema is an object or a boolean")
    cls = validators.validator_for(raw, default=Draft7Validator)
    try:
        cls.check_schema(raw)
    except SchemaError as exc:
        raise SchemaParseError(f"Invalid schema {text}, details: {exc.message}") from None
    documents: dict[str, Any] = {}
    _load(references, documents)
    return JsonSchema(raw, documents)


def _load(refs: Sequence[ResolvedReference], documents: dict[str, Any]) -> None:
    for ref in refs:
        if ref.name in documents:
            continue
        try:
            doc = json.loads(ref.schema)
        except ValueError:
            raise SchemaParseError(
                f"Invalid schema: the reference {ref.name!r} is not JSON"
            ) from None
        documents[ref.name] = doc
        if isinstance(doc, dict) and isinstance(doc.get("$id"), str):
            documents.setdefault(urldefrag(doc["$id"])[0], doc)
        _load(ref.references, documents)


def _pointer(doc: Any, fragment: str) -> Any:
    node = doc
    for part in [p for p in fragment.lstrip("/").split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node[part]
        else:
            raise KeyError(part)
    return node


class _Diff:
    """One diff run: resolves ``$ref`` s and collects ``(type, path)`` differences."""

    def __init__(self, original: JsonSchema, update: JsonSchema) -> None:
        self.sides = {id(original.raw): original, id(update.raw): update}
        self.docs = {**original.documents, **update.documents}
        self.differences: list[tuple[str, str]] = []
        self.stack: set[tuple[int, int]] = set()

    def _deref(self, node: Any, root: Any) -> tuple[Any, Any]:
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 64:
            seen += 1
            ref = node["$ref"]
            base = root.get("$id", "") if isinstance(root, dict) else ""
            url, fragment = urldefrag(
                urljoin(base, ref) if base and not ref.startswith("#") else ref
            )
            if not url or url == urldefrag(base)[0]:
                target_root = root
            else:
                target_root = self.docs.get(url) or self.docs.get(ref.split("#")[0])
                if target_root is None:
                    return node, root  # unresolved: compared as written
            try:
                node, root = _pointer(target_root, fragment), target_root
            except (KeyError, IndexError, ValueError):
                return node, root
        return node, root

    def _sub(self) -> _Diff:
        sub = _Diff.__new__(_Diff)
        sub.sides, sub.docs, sub.stack = self.sides, self.docs, self.stack
        sub.differences = []
        return sub

    def compatible_with(
        self, a: Any, b: Any, path: str, ra: Any, rb: Any
    ) -> tuple[bool, list[tuple[str, str]]]:
        sub = self._sub()
        sub.compare(a, b, path, ra, rb)
        return all(k in COMPATIBLE for k, _ in sub.differences), sub.differences

    def add(self, kind: str, path: str) -> None:
        self.differences.append((kind, path))

    # -- the dispatcher (SchemaDiff.compare / compareTypes) ------------------------------

    def compare(self, o: Any, u: Any, path: str, ro: Any, ru: Any) -> None:
        if o is None and u is None:
            return
        if o is None:
            self.add("SCHEMA_ADDED", path)
            return
        if u is None:
            self.add("SCHEMA_REMOVED", path)
            return
        o, ro = self._deref(o, ro)
        u, ru = self._deref(u, ru)
        key = (id(o), id(u))
        if key in self.stack:  # a recursive pair already being compared
            return
        self.stack.add(key)
        try:
            self._compare_types(o, u, path, ro, ru)
        finally:
            self.stack.discard(key)

    def _compare_types(self, o: Any, u: Any, path: str, ro: Any, ru: Any) -> None:
        ko, ku = _kind(o), _kind(u)
        if ko != "combined" and ku == "combined":
            subs, crit = _subschemas(u)
            if len(subs) == 1 or crit in ("anyOf", "oneOf"):
                for s in subs:
                    ok, diffs = self.compatible_with(o, s, path, ro, ru)
                    if ok:
                        self.differences += diffs
                        if len(subs) > 1:
                            self.add("SUM_TYPE_EXTENDED", path)
                        return
        elif ko == "combined" and ku != "combined":
            subs, crit = _subschemas(o)
            if len(subs) == 1 or crit == "allOf":
                for s in subs:
                    ok, diffs = self.compatible_with(s, u, path, ro, ru)
                    if ok:
                        self.differences += diffs
                        if len(subs) > 1:
                            self.add("PRODUCT_TYPE_NARROWED", path)
                        return
        if ko != ku:
            if ko == "false" or ku == "empty":
                return  # the update accepts anything, or the original accepted nothing
            if {ko, ku} <= {"number", "integer"}:
                self.add("TYPE_EXTENDED" if ku == "number" else "TYPE_NARROWED", path)
                self._compare_number(o, u, path)
                return
            self.add("TYPE_CHANGED", path)
            return
        if not isinstance(o, dict) or not isinstance(u, dict):
            return
        for attr, kind in (
            ("$id", "ID_CHANGED"),
            ("title", "TITLE_CHANGED"),
            ("description", "DESCRIPTION_CHANGED"),
            ("default", "DEFAULT_CHANGED"),
        ):
            if o.get(attr) != u.get(attr):
                self.add(kind, path)
        if ko == "string":
            self._compare_string(o, u, path)
        elif ko in _NUMERIC:
            self._compare_number(o, u, path)
        elif ko == "const":
            if o.get("const") != u.get("const"):
                self.add("ENUM_ARRAY_CHANGED", path)
        elif ko == "enum":
            a, b = o.get("enum") or [], u.get("enum") or []
            if a != b:
                if all(x in b for x in a):
                    self.add("ENUM_ARRAY_EXTENDED", path + "enum")
                elif all(x in a for x in b):
                    self.add("ENUM_ARRAY_NARROWED", path + "enum")
                else:
                    self.add("ENUM_ARRAY_CHANGED", path + "enum")
        elif ko == "combined":
            self._compare_combined(o, u, path, ro, ru)
        elif ko == "not":
            ok, _ = self.compatible_with(u["not"], o["not"], path + "not", ru, ro)
            self.add("NOT_TYPE_NARROWED" if ok else "NOT_TYPE_EXTENDED", path + "not")
        elif ko == "object":
            self._compare_object(o, u, path, ro, ru)
        elif ko == "array":
            self._compare_array(o, u, path, ro, ru)

    # -- per type ----------------------------------------------------------------------

    def _limit(
        self, o: dict[str, Any], u: dict[str, Any], attr: str, name: str, path: str, up_is: str
    ) -> None:
        """Record ``NAME_ADDED/REMOVED/INCREASED/DECREASED`` for one numeric keyword."""
        a, b = o.get(attr), u.get(attr)
        if a == b or (isinstance(a, bool) or isinstance(b, bool)):
            return
        if a is None:
            self.add(f"{name}_ADDED", path + attr)
        elif b is None:
            self.add(f"{name}_REMOVED", path + attr)
        elif b > a:
            self.add(f"{name}_{up_is}", path + attr)
        else:
            self.add(f"{name}_{'DECREASED' if up_is == 'INCREASED' else 'INCREASED'}", path + attr)

    def _compare_string(self, o: dict[str, Any], u: dict[str, Any], path: str) -> None:
        self._limit(o, u, "maxLength", "MAX_LENGTH", path, "INCREASED")
        self._limit(o, u, "minLength", "MIN_LENGTH", path, "INCREASED")
        a, b = o.get("pattern"), u.get("pattern")
        if a != b:
            kind = (
                "PATTERN_ADDED"
                if a is None
                else "PATTERN_REMOVED"
                if b is None
                else "PATTERN_CHANGED"
            )
            self.add(kind, path + "pattern")

    def _compare_number(self, o: dict[str, Any], u: dict[str, Any], path: str) -> None:
        self._limit(o, u, "maximum", "MAXIMUM", path, "INCREASED")
        self._limit(o, u, "minimum", "MINIMUM", path, "INCREASED")
        self._limit(o, u, "exclusiveMaximum", "EXCLUSIVE_MAXIMUM", path, "INCREASED")
        self._limit(o, u, "exclusiveMinimum", "EXCLUSIVE_MINIMUM", path, "INCREASED")
        a, b = o.get("multipleOf"), u.get("multipleOf")
        if a != b:
            if a is None:
                self.add("MULTIPLE_OF_ADDED", path + "multipleOf")
            elif b is None:
                self.add("MULTIPLE_OF_REMOVED", path + "multipleOf")
            elif a % b == 0:
                self.add("MULTIPLE_OF_REDUCED", path + "multipleOf")
            elif b % a == 0:
                self.add("MULTIPLE_OF_EXPANDED", path + "multipleOf")
            else:
                self.add("MULTIPLE_OF_CHANGED", path + "multipleOf")

    def _compare_combined(
        self, o: dict[str, Any], u: dict[str, Any], path: str, ro: Any, ru: Any
    ) -> None:
        so, co = _subschemas(o)
        su, cu = _subschemas(u)
        if co != cu:
            if (
                cu == "anyOf"
                or (len(so) == 1 and len(su) == 1)
                or (len(so) == 1 and cu == "oneOf")
                or (len(su) == 1 and co == "allOf")
            ):
                self.add("COMBINED_TYPE_EXTENDED", path)
            else:
                self.add("COMBINED_TYPE_CHANGED", path)
                return
        if len(so) < len(su):
            self.add("PRODUCT_TYPE_EXTENDED" if cu == "allOf" else "SUM_TYPE_EXTENDED", path)
        elif len(so) > len(su):
            self.add(
                "SUM_TYPE_NARROWED" if co in ("anyOf", "oneOf") else "PRODUCT_TYPE_NARROWED", path
            )
        # A maximum matching between compatible pairs (small sets: augmenting paths).
        edges: dict[int, list[tuple[int, list[tuple[str, str]]]]] = {}
        for i, a in enumerate(so):
            for j, b in enumerate(su):
                ok, diffs = self.compatible_with(a, b, f"{path}{co}/{i}/", ro, ru)
                if ok:
                    edges.setdefault(i, []).append((j, diffs))
        match: dict[int, int] = {}
        diffs_of: dict[tuple[int, int], list[tuple[str, str]]] = {}
        for i, js in edges.items():
            for j, d in js:
                diffs_of[(i, j)] = d

        def augment(i: int, seen: set[int]) -> bool:
            for j, _ in edges.get(i, []):
                if j in seen:
                    continue
                seen.add(j)
                if j not in match or augment(match[j], seen):
                    match[j] = i
                    return True
            return False

        for i in edges:
            augment(i, set())
        for j, i in match.items():
            self.differences += diffs_of[(i, j)]
        if len(match) < min(len(so), len(su)):
            self.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED", path)

    def _compare_object(
        self, o: dict[str, Any], u: dict[str, Any], path: str, ro: Any, ru: Any
    ) -> None:
        po, pu = o.get("properties") or {}, u.get("properties") or {}
        ro_req, ru_req = set(o.get("required") or []), set(u.get("required") or [])
        for name in po:
            if name in pu:
                if name in ro_req and name not in ru_req:
                    self.add("REQUIRED_ATTRIBUTE_REMOVED", f"{path}required/{name}")
                elif name not in ro_req and name in ru_req:
                    has_default = isinstance(pu[name], dict) and "default" in pu[name]
                    self.add(
                        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED"
                        if has_default
                        else "REQUIRED_ATTRIBUTE_ADDED",
                        f"{path}required/{name}",
                    )
        for name in list(po) + [n for n in pu if n not in po]:
            ppath = f"{path}properties/{name}/"
            a, b = po.get(name), pu.get(name)
            if b is None:
                if _open(u):
                    self.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", ppath)
                else:
                    partial = _partial(u, name)
                    if partial is not None:
                        ok, diffs = self.compatible_with(a, partial, ppath, ro, ru)
                        self.differences += diffs
                        self.add(
                            "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                            if ok
                            else "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                            ppath,
                        )
                    elif a is False:
                        self.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", ppath)
                    else:
                        self.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", ppath)
            elif a is None:
                has_default = isinstance(b, dict) and "default" in b
                if _open(o):
                    if _kind(b) == "empty":
                        self.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", ppath)
                    elif name in ru_req:
                        self.add(
                            "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL"
                            if has_default
                            else "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
                            ppath,
                        )
                    else:
                        self.add("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", ppath)
                else:
                    partial = _partial(o, name)
                    if partial is not None:
                        ok, diffs = self.compatible_with(partial, b, ppath, ro, ru)
                        self.differences += diffs
                        self.add(
                            "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                            if ok
                            else "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                            ppath,
                        )
                    if name in ru_req:
                        self.add(
                            "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
                            if has_default
                            else "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
                            ppath,
                        )
                    else:
                        self.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", ppath)
            else:
                self.compare(a, b, ppath, ro, ru)
        self._compare_dependencies(o, u, path, ro, ru)
        apath = path + "additionalProperties/"
        if _permits_additional(o) != _permits_additional(u):
            self.add(
                "ADDITIONAL_PROPERTIES_ADDED"
                if _permits_additional(u)
                else "ADDITIONAL_PROPERTIES_REMOVED",
                apath,
            )
        else:
            sa, sb = _additional_schema(o), _additional_schema(u)
            if sa is None and sb is not None:
                self.add("ADDITIONAL_PROPERTIES_NARROWED", apath)
            elif sb is None and sa is not None:
                self.add("ADDITIONAL_PROPERTIES_EXTENDED", apath)
            elif sa is not None:
                self.compare(sa, sb, apath, ro, ru)
        self._limit(o, u, "maxProperties", "MAX_PROPERTIES", path, "INCREASED")
        self._limit(o, u, "minProperties", "MIN_PROPERTIES", path, "INCREASED")

    def _compare_dependencies(
        self, o: dict[str, Any], u: dict[str, Any], path: str, ro: Any, ru: Any
    ) -> None:
        def split(s: dict[str, Any]) -> tuple[dict[str, set[str]], dict[str, Any]]:
            arrays: dict[str, set[str]] = {}
            schemas: dict[str, Any] = {}
            for k, v in (s.get("dependencies") or {}).items():
                if isinstance(v, list):
                    arrays[k] = set(v)
                else:
                    schemas[k] = v
            for k, v in (s.get("dependentRequired") or {}).items():
                arrays[k] = set(v)
            schemas.update(s.get("dependentSchemas") or {})
            return arrays, schemas

        ao, so = split(o)
        au, su = split(u)
        for k in set(ao) | set(au):
            dpath = f"{path}dependencies/{k}"
            if k not in au:
                self.add("DEPENDENCY_ARRAY_REMOVED", dpath)
            elif k not in ao:
                self.add("DEPENDENCY_ARRAY_ADDED", dpath)
            elif ao[k] != au[k]:
                self.add(
                    "DEPENDENCY_ARRAY_EXTENDED"
                    if au[k] >= ao[k]
                    else "DEPENDENCY_ARRAY_NARROWED"
                    if ao[k] >= au[k]
                    else "DEPENDENCY_ARRAY_CHANGED",
                    dpath,
                )
        for k in set(so) | set(su):
            dpath = f"{path}dependencies/{k}/"
            if k not in su:
                self.add("DEPENDENCY_SCHEMA_REMOVED", dpath)
            elif k not in so:
                self.add("DEPENDENCY_SCHEMA_ADDED", dpath)
            else:
                self.compare(so[k], su[k], dpath, ro, ru)

    def _compare_array(
        self, o: dict[str, Any], u: dict[str, Any], path: str, ro: Any, ru: Any
    ) -> None:
        self._limit(o, u, "maxItems", "MAX_ITEMS", path, "INCREASED")
        self._limit(o, u, "minItems", "MIN_ITEMS", path, "INCREASED")
        if bool(o.get("uniqueItems")) != bool(u.get("uniqueItems")):
            self.add(
                "UNIQUE_ITEMS_ADDED" if u.get("uniqueItems") else "UNIQUE_ITEMS_REMOVED",
                path + "uniqueItems",
            )
        io_, iu = o.get("items"), u.get("items")
        po, pu = o.get("prefixItems"), u.get("prefixItems")
        if isinstance(io_, list) or isinstance(iu, list):  # draft <= 7 tuple form
            po, pu = (
                (io_ if isinstance(io_, list) else None),
                (iu if isinstance(iu, list) else None),
            )
            io_ = o.get("additionalItems") if isinstance(io_, list) else io_
            iu = u.get("additionalItems") if isinstance(iu, list) else iu
        if po is not None or pu is not None:
            self._compare_tuple(po or [], pu or [], io_, iu, o, u, path, ro, ru)
        elif io_ is not None or iu is not None:
            if io_ is None:
                self.add("ADDITIONAL_ITEMS_NARROWED", path + "items/")
            elif iu is None:
                self.add("ADDITIONAL_ITEMS_EXTENDED", path + "items/")
            else:
                self.compare(io_, iu, path + "items/", ro, ru)

    def _compare_tuple(
        self,
        po: list[Any],
        pu: list[Any],
        rest_o: Any,
        rest_u: Any,
        o: Any,
        u: Any,
        path: str,
        ro: Any,
        ru: Any,
    ) -> None:
        for i in range(max(len(po), len(pu))):
            ipath = f"{path}items/{i}/"
            if i >= len(pu):
                if rest_u is None or rest_u is True:
                    self.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL", ipath)
                elif rest_u is False:
                    self.add(
                        "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"
                        if po[i] is False
                        else "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL",
                        ipath,
                    )
                else:
                    ok, diffs = self.compatible_with(po[i], rest_u, ipath, ro, ru)
                    self.differences += diffs
                    self.add(
                        "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                        if ok
                        else "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                        ipath,
                    )
            elif i >= len(po):
                if rest_o is None or rest_o is True:
                    self.add(
                        "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                        if _kind(pu[i]) == "empty"
                        else "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
                        ipath,
                    )
                elif rest_o is False:
                    self.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL", ipath)
                else:
                    ok, diffs = self.compatible_with(rest_o, pu[i], ipath, ro, ru)
                    self.differences += diffs
                    self.add(
                        "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                        if ok
                        else "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                        ipath,
                    )
            else:
                self.compare(po[i], pu[i], ipath, ro, ru)
        a, b = rest_o is not False, rest_u is not False
        if a != b:
            self.add(
                "ADDITIONAL_ITEMS_ADDED" if b else "ADDITIONAL_ITEMS_REMOVED",
                path + "additionalItems/",
            )
        elif isinstance(rest_o, dict) or isinstance(rest_u, dict):
            if not isinstance(rest_o, dict):
                self.add("ADDITIONAL_ITEMS_NARROWED", path + "additionalItems/")
            elif not isinstance(rest_u, dict):
                self.add("ADDITIONAL_ITEMS_EXTENDED", path + "additionalItems/")
            else:
                self.compare(rest_o, rest_u, path + "additionalItems/", ro, ru)


def _kind(s: Any) -> str:
    """Classify a schema as everit (the Java library Confluent uses) does."""
    if s is False:
        return "false"
    if s is True or s == {}:
        return "empty"
    if not isinstance(s, dict):
        return "empty"
    t = s.get("type")
    combiners = [c for c in _COMBINERS if c in s]
    if isinstance(t, list) and len(t) > 1:
        return "combined"
    if combiners and (
        t is not None
        or len(combiners) > 1
        or any(k in s for k in ("properties", "items", "enum", "const"))
    ):
        return "combined"
    if combiners:
        return "combined"
    if "enum" in s:
        return "enum"
    if "const" in s:
        return "const"
    if "not" in s and t is None:
        return "not"
    if isinstance(t, list):
        t = t[0] if t else None
    if t in ("string", "number", "integer", "boolean", "null", "object", "array"):
        return str(t)
    if any(k in s for k in ("properties", "additionalProperties", "required", "patternProperties")):
        return "object"
    if any(k in s for k in ("items", "prefixItems", "maxItems", "minItems")):
        return "array"
    if any(k in s for k in ("maxLength", "minLength", "pattern")):
        return "string"
    if any(k in s for k in ("maximum", "minimum", "multipleOf")):
        return "number"
    return "empty"


def _subschemas(s: dict[str, Any]) -> tuple[list[Any], str]:
    """Return a combined schema's branches and criterion (``type: [a, b]`` is anyOf;
    a typed schema that also has a combiner is allOf of the two)."""
    t = s.get("type")
    combiners = [c for c in _COMBINERS if c in s]
    if isinstance(t, list) and len(t) > 1 and not combiners:
        rest = {k: v for k, v in s.items() if k != "type"}
        return [{**rest, "type": x} for x in t], "anyOf"
    if (
        len(combiners) == 1
        and t is None
        and not any(k in s for k in ("properties", "items", "enum", "const"))
    ):
        return list(s[combiners[0]]), combiners[0]
    parts: list[Any] = []
    base = {k: v for k, v in s.items() if k not in _COMBINERS}
    if base:
        parts.append(base)
    for c in combiners:
        parts.append({c: s[c]})
    return parts, "allOf"


def _open(s: dict[str, Any]) -> bool:
    ap = s.get("additionalProperties", True)
    return (ap is True or ap == {}) and not s.get("patternProperties")


def _permits_additional(s: dict[str, Any]) -> bool:
    return s.get("additionalProperties", True) is not False


def _additional_schema(s: dict[str, Any]) -> Any:
    ap = s.get("additionalProperties")
    return ap if isinstance(ap, dict) and ap != {} else None


def _partial(s: dict[str, Any], name: str) -> Any:
    """Return the schema a partially open content model gives an unlisted property."""
    import re

    for pattern, schema in (s.get("patternProperties") or {}).items():
        try:
            if re.search(pattern, name):
                return schema
        except re.error:
            continue
    return _additional_schema(s)
