"""Typed custom fields: definitions live on template versions, values on recommendations.

A definition is a dict ``{"key", "label", "type", "required", "choices"}``; values are
stored as JSON scalars (dates as ISO strings, numbers as strings of a decimal) so they
hash the same on every database.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from catalog.choices import FieldType

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def clean_definitions(definitions: Any) -> list[dict[str, Any]]:
    """Return normalised field definitions or raise ValidationError saying which one is wrong."""
    if definitions in (None, ""):
        return []
    if not isinstance(definitions, list):
        raise ValidationError("Custom fields must be a list of definitions.")
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(definitions, start=1):
        where = f"custom field {index}"
        if not isinstance(item, dict):
            raise ValidationError(f"{where}: must be an object.")
        key = item.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValidationError(
                f"{where}: key must be lower-case letters, digits and _ (got {key!r})."
            )
        if key in seen:
            raise ValidationError(f"{where}: key {key!r} is used twice.")
        seen.add(key)
        kind = item.get("type")
        if kind not in FieldType.values:
            raise ValidationError(
                f"{where} ({key}): type must be one of {', '.join(FieldType.values)}."
            )
        choices = item.get("choices") or []
        if kind == FieldType.CHOICE:
            if not choices or not all(isinstance(c, str) and c for c in choices):
                raise ValidationError(f"{where} ({key}): a choice field needs a list of choices.")
        elif choices:
            raise ValidationError(f"{where} ({key}): only choice fields have choices.")
        label = item.get("label") or key.replace("_", " ").capitalize()
        cleaned.append(
            {
                "key": key,
                "label": str(label),
                "type": kind,
                "required": bool(item.get("required", False)),
                "choices": list(choices),
            }
        )
    return cleaned


def clean_values(definitions: list[dict[str, Any]], values: Any) -> dict[str, Any]:
    """Validate values against definitions; errors are keyed by field key."""
    values = values or {}
    if not isinstance(values, dict):
        raise ValidationError("Custom field values must be an object.")
    errors: dict[str, list[str]] = {}
    known = {d["key"] for d in definitions}
    for key in values:
        if key not in known:
            errors.setdefault(key, []).append("This field is not defined for this recommendation.")
    cleaned: dict[str, Any] = {}
    for definition in definitions:
        key = definition["key"]
        raw = values.get(key)
        if raw is None or raw == "":
            if definition["required"]:
                errors.setdefault(key, []).append(f"{definition['label']} is required.")
            continue
        try:
            cleaned[key] = _clean_one(definition, raw)
        except ValueError as exc:
            errors.setdefault(key, []).append(str(exc))
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_one(definition: dict[str, Any], raw: Any) -> Any:
    kind = definition["type"]
    label = definition["label"]
    if kind == FieldType.TEXT:
        if not isinstance(raw, str):
            raise ValueError(f"{label} must be text.")
        return raw.strip()
    if kind == FieldType.NUMBER:
        if isinstance(raw, bool):
            raise ValueError(f"{label} must be a number.")
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError(f"{label} must be a number (got {raw!r}).") from None
        if not number.is_finite():
            raise ValueError(f"{label} must be a finite number.")
        return format(number.normalize(), "f")
    if kind == FieldType.DATE:
        if isinstance(raw, dt.date):
            return raw.isoformat()
        try:
            return dt.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValueError(f"{label} must be a date as YYYY-MM-DD (got {raw!r}).") from None
    if kind == FieldType.CHOICE:
        if raw not in definition["choices"]:
            raise ValueError(f"{label} must be one of: {', '.join(definition['choices'])}.")
        return raw
    if kind == FieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        lowered = str(raw).strip().lower()
        if lowered in {"true", "yes", "1", "on", "si", "sì"}:
            return True
        if lowered in {"false", "no", "0", "off"}:
            return False
        raise ValueError(f"{label} must be yes or no.")
    raise ValueError(f"{label}: unknown field type {kind!r}.")
