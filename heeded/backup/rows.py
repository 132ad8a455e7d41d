"""How each value of each table is written into an archive and read back exactly.

``Table`` reads a row from a database, writes it as one JSON line keyed by column,
decodes the line again, and builds the model instance a restore inserts. Every kind
of column has one rule in ``CODECS``; each rule is exact (decode(encode(v)) is v, of
the same type), and a column of a kind without a rule stops the backup.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core import serializers
from django.db import DEFAULT_DB_ALIAS, models

# Rows fetched per round trip when reading, and at most inserted per statement.
CHUNK = 2000

# Rows that ``migrate`` creates itself (restoring them would collide) or that are
# worthless after a restore (sessions: everyone signs in again).
SKIPPED = frozenset({"contenttypes.contenttype", "auth.permission", "sessions.session"})


class BackupError(Exception):
    """The archive or the database is not fit; the message says why. Nothing changed."""


def backed_up_models() -> list[type[models.Model]]:
    """Every concrete table, parents before the tables that refer to them, then the
    many-to-many tables."""
    app_list = [(config, None) for config in apps.get_app_configs()]
    ordered = serializers.sort_dependencies(app_list, allow_cycles=True)
    through = [m for m in apps.get_models(include_auto_created=True) if m._meta.auto_created]
    return [
        m
        for m in [*ordered, *through]
        if m._meta.label_lower not in SKIPPED and not m._meta.proxy and m._meta.managed
    ]


# --- values ---------------------------------------------------------------------------


def _encode_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return value.isoformat(timespec="microseconds")


def _decode_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return value


def _same(value: Any) -> Any:
    return value


def _expect(kind: type | tuple[type, ...]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        # bool is an int in Python, but a boolean column restored as 1 is not the same.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise ValueError(f"expected {kind}, got {value!r}")
        return value

    return check


# kind -> (encode, decode). Each pair must be exact: decode(encode(v)) == v, same type.
CODECS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "int": (_expect(int), _expect(int)),
    "bool": (_expect(bool), _expect(bool)),
    "text": (_expect(str), _expect(str)),
    "float": (_expect(float), _expect(float)),
    "uuid": (str, uuid.UUID),
    "datetime": (_encode_datetime, _decode_datetime),
    "date": (dt.date.isoformat, dt.date.fromisoformat),
    "time": (lambda v: v.isoformat(timespec="microseconds"), dt.time.fromisoformat),
    "decimal": (str, decimal.Decimal),
    "duration": (lambda v: v // dt.timedelta(microseconds=1), lambda n: dt.timedelta(0, 0, n)),
    "binary": (
        lambda v: base64.b64encode(bytes(v)).decode("ascii"),
        lambda s: base64.b64decode(s, validate=True),
    ),
    "json": (_same, _same),
}

KINDS = {
    "AutoField": "int",
    "BigAutoField": "int",
    "SmallAutoField": "int",
    "IntegerField": "int",
    "BigIntegerField": "int",
    "SmallIntegerField": "int",
    "PositiveIntegerField": "int",
    "PositiveBigIntegerField": "int",
    "PositiveSmallIntegerField": "int",
    "BooleanField": "bool",
    "CharField": "text",
    "TextField": "text",
    "SlugField": "text",
    "EmailField": "text",
    "GenericIPAddressField": "text",
    "FloatField": "float",
    "UUIDField": "uuid",
    "DateTimeField": "datetime",
    "DateField": "date",
    "TimeField": "time",
    "DecimalField": "decimal",
    "DurationField": "duration",
    "BinaryField": "binary",
    "JSONField": "json",
}
NATURAL_KEY = "natural-key"


def column_kind(field: models.Field) -> str:
    """How a column's values are written: a key of ``CODECS``, or ``natural-key`` for a
    reference to a row that ``migrate`` creates (a content type, a permission)."""
    if field.is_relation:
        if field.related_model._meta.label_lower in SKIPPED:
            return NATURAL_KEY
        return column_kind(field.target_field)
    kind = KINDS.get(field.get_internal_type())
    if kind is None:
        raise BackupError(
            f"{field.model._meta.label_lower}.{field.name}: heeded backup does not know how "
            f"to write a {field.get_internal_type()} exactly."
        )
    return kind


def columns_of(model: type[models.Model]) -> dict[str, str]:
    """Column name -> kind, in the model's field order."""
    return {f.attname: column_kind(f) for f in model._meta.concrete_fields}


def identical(a: Any, b: Any) -> bool:
    """Equal and of the same type all the way down (1, 1.0 and True are not the same
    JSON value), with the same UTC offset for times."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dt.datetime | dt.time):
        return a == b and a.utcoffset() == b.utcoffset()
    if isinstance(a, decimal.Decimal):
        return a.as_tuple() == b.as_tuple()
    return a == b


class Table:
    """Writes and reads the rows of one table in the archive's form."""

    def __init__(self, model: type[models.Model], alias: str) -> None:
        self.model = model
        self.label = model._meta.label_lower
        self.alias = alias
        self.columns = columns_of(model)
        self.fields = {f.attname: f for f in model._meta.concrete_fields}
        self._keys: dict[tuple[str, Any], Any] = {}

    def _natural_key(self, name: str, pk: Any) -> list[str]:
        if (name, pk) not in self._keys:
            target = self.fields[name].related_model
            row = target._base_manager.using(self.alias).get(pk=pk)
            self._keys[name, pk] = list(row.natural_key())
        return self._keys[name, pk]

    def _pk_of(self, name: str, key: list[str]) -> Any:
        if (name, tuple(key)) not in self._keys:
            target = self.fields[name].related_model
            manager = target._default_manager.db_manager(self.alias)
            self._keys[name, tuple(key)] = manager.get_by_natural_key(*key).pk
        return self._keys[name, tuple(key)]

    def read(self, obj: models.Model) -> dict[str, Any]:
        """The row's values as Python objects (binary as bytes, references by key)."""
        values = {}
        for name, kind in self.columns.items():
            value = getattr(obj, name)
            if value is not None and kind == NATURAL_KEY:
                value = self._natural_key(name, value)
            elif isinstance(value, memoryview):
                value = bytes(value)
            values[name] = value
        return values

    def encode(self, values: dict[str, Any]) -> str:
        row = {}
        for name, kind in self.columns.items():
            value = values[name]
            if value is not None and kind != NATURAL_KEY:
                value = CODECS[kind][0](value)
            row[name] = value
        return json.dumps(
            row, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )

    def decode(self, line: str, where: str) -> dict[str, Any]:
        """The values of one archived line; references by natural key stay keys."""
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise BackupError(f"{where}: not a JSON object ({exc}).") from None
        if not isinstance(row, dict) or row.keys() != self.columns.keys():
            raise BackupError(f"{where}: the row's columns are not the table's columns.")
        values = {}
        for name, kind in self.columns.items():
            value = row[name]
            if value is not None and kind == NATURAL_KEY:
                if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                    raise BackupError(f"{where}: {name} is not a natural key.")
            elif value is not None:
                try:
                    value = CODECS[kind][1](value)
                except (TypeError, ValueError, ArithmeticError) as exc:
                    raise BackupError(f"{where}: {name} is not a valid {kind} ({exc}).") from None
            values[name] = value
        return values

    def instance(self, values: dict[str, Any]) -> models.Model:
        """An unsaved model instance holding the values, keys resolved in ``alias``."""
        resolved = dict(values)
        for name, kind in self.columns.items():
            if kind == NATURAL_KEY and values[name] is not None:
                resolved[name] = self._pk_of(name, values[name])
        return self.model(**resolved)

    def lines(self, root: Path) -> Iterator[tuple[str, str]]:
        """(line, where) for every row of this table in an unpacked archive."""
        path = root / "db" / f"{self.label}.jsonl"
        if not path.exists():
            return
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                yield line, f"db/{self.label}.jsonl line {number}"


def logical_dump(alias: str = DEFAULT_DB_ALIAS) -> dict[str, list[str]]:
    """Every row of every archived table of ``alias``, as the archive writes it, in
    primary-key order: two databases holding the same data give equal dumps."""
    dump = {}
    for model in backed_up_models():
        table = Table(model, alias)
        rows = model._base_manager.using(alias).order_by("pk").iterator(chunk_size=CHUNK)
        dump[table.label] = [table.encode(table.read(obj)) for obj in rows]
    return dump
