"""Insert many model rows with the cost of a plain multi-row INSERT.

Django's ``bulk_create`` prepares every value of every row through the field's whole
``get_db_prep_save`` chain and compiles a statement per batch; for wide rows that is
most of the time of a large insert. ``insert_rows`` works out once per field how its
values are adapted for the database at hand (most pass through untouched: text,
numbers, booleans, foreign key ids), then sends one ``INSERT ... VALUES (...), (...)``
per batch, with ``RETURNING`` the new ids when asked.

It writes exactly what ``bulk_create`` would for the field types it knows, and falls
back to the field's own preparation for any other; a test compares the stored rows of
both for every field type the project uses. Like ``bulk_create`` it calls no
``save()`` and sends no signals; ``auto_now``/``auto_now_add`` fields are filled.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

M = TypeVar("M", bound=models.Model)

_PLAIN = frozenset({str, int, bool, float, type(None)})

# Values of these pass to the driver unchanged.
_AS_IS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "EmailField",
        "FloatField",
        "ForeignKey",
        "IntegerField",
        "OneToOneField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallAutoField",
        "SmallIntegerField",
        "TextField",
        "URLField",
    }
)


def _adapter(
    field: models.Field[Any, Any], connection: BaseDatabaseWrapper
) -> Callable[[Any], Any]:
    """How one field's Python value becomes the value sent to the database."""

    def own(value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    # A project field (an encrypted one, say) is always prepared its own way.
    if not type(field).__module__.startswith("django.db.models."):
        return own
    kind = field.get_internal_type()
    ops = connection.ops
    if kind in _AS_IS:

        def as_is(value: Any) -> Any:
            # An enum member, a lazy string or a Decimal in an integer column goes the
            # field's way, which turns it into the plain value bulk_create would send.
            return value if type(value) in _PLAIN else own(value)

        return as_is
    if kind == "DateTimeField":
        return ops.adapt_datetimefield_value
    if kind == "DateField":
        return ops.adapt_datefield_value
    if kind == "JSONField":
        encoder = getattr(field, "encoder", None)

        def json_value(value: Any) -> Any:
            return None if value is None else ops.adapt_json_value(value, encoder)

        return json_value
    # Anything else (UUIDs, decimals, binary) the field's own way.
    return own


def _passes_as_is(field: models.Field[Any, Any]) -> bool:
    """Whether ``_adapter`` passes the field's plain values through unchanged."""
    return (
        type(field).__module__.startswith("django.db.models.")
        and field.get_internal_type() in _AS_IS
    )


def _one(name: str) -> Callable[[dict[str, Any]], tuple[Any]]:
    def fetch(values: dict[str, Any]) -> tuple[Any]:
        return (values[name],)

    return fetch


def insert_rows(
    objs: Sequence[M], *, returning_ids: bool = False, using: str = DEFAULT_DB_ALIAS
) -> Sequence[M]:
    """Insert ``objs`` (all of one model, ids not set) and return them; with
    ``returning_ids`` each gets its new id, as ``bulk_create`` does."""
    if not objs:
        return objs
    model = type(objs[0])
    meta = model._meta
    connection = connections[using]
    fields = [f for f in meta.local_concrete_fields if not (f.primary_key and f.auto_created)]
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    attnames = [f.attname for f in fields]
    # A row's values are fetched in one C call; only the values that need adapting
    # (dates, JSON, a project field's) go through Python one by one, and the rest
    # are checked plain in one C call too (else the row takes the careful way).
    fetch = operator.itemgetter(*attnames) if len(attnames) > 1 else _one(attnames[0])
    adapters = [_adapter(f, connection) for f in fields]
    as_is = [i for i, f in enumerate(fields) if _passes_as_is(f)]
    adapted = [(i, adapters[i]) for i in range(len(fields)) if i not in set(as_is)]
    fetch_as_is = operator.itemgetter(*as_is) if as_is else (lambda row: ())
    quote = connection.ops.quote_name
    head = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    )
    row_marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    tail = f" RETURNING {quote(meta.pk.column)}" if returning_ids else ""
    size = max(1, connection.ops.bulk_batch_size(fields, objs))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), size):
            batch = objs[start : start + size]
            params: list[Any] = []
            for obj in batch:
                for field in stamped:
                    field.pre_save(obj, add=True)
                values = obj.__dict__
                row = list(fetch(values))
                plain = fetch_as_is(row)
                for i, adapt in adapted:
                    row[i] = adapt(row[i])
                if not _PLAIN.issuperset(map(type, plain if len(as_is) > 1 else (plain,))):
                    row = [
                        adapt(values[name]) for adapt, name in zip(adapters, attnames, strict=True)
                    ]
                params.extend(row)
            cursor.execute(head + ", ".join([row_marks] * len(batch)) + tail, params)
            if returning_ids:
                for obj, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                    obj.pk = pk
                    obj._state.adding = False
                    obj._state.db = using
    return objs
