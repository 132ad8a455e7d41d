"""Parse untrusted JSON within limits: nesting depth, finite numbers, integer range.

``json.loads`` recurses (in C) once per nesting level, so ~1000 nested brackets raise
RecursionError before any hook could stop them; a float such as ``1e400`` parses to
``inf`` and ``NaN``/``Infinity`` are accepted as literals. ``loads_limited`` first
scans the raw text without recursion, counting brackets outside strings, and refuses
input nested deeper than ``max_depth``; only then does it call ``json.loads``, with
hooks that refuse non-finite numbers. Integers beyond a signed 64-bit column are left
to the caller (``fits_bigint``), which knows the field they belong to.

Every refusal is a ``JSONLimitError`` whose ``message`` says which limit and where.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1

# A whole string (escapes included) or one bracket: brackets inside strings are skipped
# by the regular expression engine, without a Python loop over every byte.
_TOKENS = re.compile(rb'"(?:[^"\\]+|\\.)*"|[\[\]{}]', re.DOTALL)
_OPENING = frozenset((b"[", b"{"))


class JSONLimitError(ValueError):
    """The input breaks a limit; ``code`` is stable, ``message`` says where."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def nesting_depth_exceeds(raw: bytes, max_depth: int) -> int | None:
    """The byte offset where ``raw`` first nests deeper than ``max_depth`` arrays or
    objects, or None. Brackets inside strings do not count. Malformed input is not
    judged here: ``json.loads`` reports it afterwards."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return None  # the common case, decided without a scan
    depth = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in _OPENING:
            depth += 1
            if depth > max_depth:
                return match.start()
        elif len(token) == 1:
            depth -= 1
    return None


def _refuse_constant(name: str) -> Any:
    raise JSONLimitError(
        f"JSON number {name} is not allowed: numbers must be finite.", code="invalid_number"
    )


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONLimitError(
            f"JSON number {text[:40]} is out of range: numbers must be finite.",
            code="invalid_number",
        )
    return value


def loads_limited(raw: bytes, *, max_depth: int) -> Any:
    """``json.loads(raw)`` once ``raw`` is known to nest at most ``max_depth`` deep and
    holds only finite numbers. Raises ``JSONLimitError`` for a broken limit and
    ``ValueError`` (``json.JSONDecodeError``, ``UnicodeDecodeError``) for bad JSON."""
    offset = nesting_depth_exceeds(raw, max_depth)
    if offset is not None:
        raise JSONLimitError(
            f"JSON nested deeper than {max_depth} levels (at byte {offset}).",
            code="too_deep",
        )
    return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)


def fits_bigint(value: int) -> bool:
    """Whether ``value`` fits a signed 64-bit column (PostgreSQL bigint, SQLite integer)."""
    return BIGINT_MIN <= value <= BIGINT_MAX
