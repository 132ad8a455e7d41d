"""Canonical JSON, as specified in docs/ledger.md.

Sorted keys, UTF-8, no insignificant whitespace, no floats (their text form is not
portable), strings/integers/booleans/null/lists/objects only. Anyone can re-implement
this in a few lines in any language and get the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any


class NotCanonical(TypeError):
    """A value has no canonical JSON form (a float, a date object, a set, ...)."""


def _check(value: Any, path: str) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise NotCanonical(
                f"{path}: text holds an unpaired surrogate, not valid UTF-8"
            ) from None
        return
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"{path}: object keys must be strings, got {key!r}")
            _check(item, f"{path}.{key}")
        return
    raise NotCanonical(f"{path}: {type(value).__name__} has no canonical JSON form")


class CanonicalJSONEncoder(json.JSONEncoder):
    """Writes JSON in the canonical text form (sorted keys, no whitespace, UTF-8 kept),
    whatever options its caller passes; for a JSONField whose stored text should be the
    same characters as its value's canonical JSON. It does not refuse floats: check the
    value with ``canonical_json`` first."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        super().__init__(**kwargs)


def canonical_json(value: Any) -> bytes:
    _check(value, "$")
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def utc_timestamp(moment: dt.datetime) -> str:
    """``2026-01-31T09:05:00.000000Z``: always UTC, always six fractional digits."""
    if moment.tzinfo is None:
        raise NotCanonical("timestamps must be timezone-aware")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
