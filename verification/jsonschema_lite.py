"""The few JSON Schema keywords the endpoint report uses, checked by hand (no
dependency): type, const, enum, required, properties, additionalProperties, items,
minLength, maxLength, maxItems, pattern. Every error names its place (``$.hotfixes[3]``).

A report is first checked by ``conforms``, the same rules compiled once into closures
that only answer yes or no; ``validate`` walks it again to say where and why only when
that answer is no. Building every place's path for a valid 150-hotfix report cost more
than parsing it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "endpoint-report-v1.json"

_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


@cache
def report_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _type_ok(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name]) and not (name != "boolean" and isinstance(value, bool))


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema``, as "<path>: <reason>" sentences."""
    errors: list[str] = []
    if "const" in schema and value != schema["const"]:
        return [f"{path}: must be {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: must be one of {schema['enum']!r}"]
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(value, n) for n in names):
            return [f"{path}: must be of type {' or '.join(names)}"]
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: must not be empty")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value[:80]!r} is not in the expected format")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return [f"{path}: more than {schema['maxItems']} items"]
        for i, item in enumerate(value):
            errors.extend(validate(item, schema.get("items", {}), f"{path}[{i}]"))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}.{name}: is required")
        for name, item in value.items():
            if name in props:
                errors.extend(validate(item, props[name], f"{path}.{name}"))
            elif schema.get("additionalProperties", True) is False:
                errors.append(f"{path}.{name}: is not a field of this schema")
    return errors


def _compile(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """``validate(value, schema) == []`` as one closure per schema node."""
    has_const, const = "const" in schema, schema.get("const")
    enum = schema.get("enum")
    names = schema.get("type")
    if isinstance(names, str):
        names = [names]
    # What _type_ok accepts: a bool only where "boolean" is named, anything else by
    # its Python type (bool is an int, so "integer" alone never takes one).
    bool_ok = names is None or "boolean" in names
    kinds = tuple(int if n == "integer" else _TYPES[n] for n in names or [] if n != "boolean")
    min_length = schema.get("minLength", 0)
    max_length = schema.get("maxLength")
    search = re.compile(schema["pattern"]).search if "pattern" in schema else None
    max_items = schema.get("maxItems")
    items = _compile(schema["items"]) if "items" in schema else None
    required = tuple(schema.get("required", []))
    props = {name: _compile(sub) for name, sub in schema.get("properties", {}).items()}
    closed = schema.get("additionalProperties", True) is False

    def check(value: Any) -> bool:
        if has_const and value != const:
            return False
        if enum is not None and value not in enum:
            return False
        if names is not None and not (
            bool_ok if isinstance(value, bool) else isinstance(value, kinds)
        ):
            return False
        if isinstance(value, str):
            return (
                len(value) >= min_length
                and (max_length is None or len(value) <= max_length)
                and (search is None or search(value) is not None)
            )
        if isinstance(value, list):
            if max_items is not None and len(value) > max_items:
                return False
            return items is None or all(map(items, value))
        if isinstance(value, dict):
            for name in required:
                if name not in value:
                    return False
            for name, item in value.items():
                sub = props.get(name)
                if sub is None:
                    if closed:
                        return False
                elif not sub(item):
                    return False
        return True

    return check


@cache
def _report_conforms() -> Callable[[Any], bool]:
    return _compile(report_schema())


def report_errors(document: Any) -> list[str]:
    """Errors of an endpoint report against endpoint-report-v1.json ([] when valid)."""
    if _report_conforms()(document):
        return []
    return validate(document, report_schema())
