"""Ids as the API takes them: integers that fit the database's bigint column.

A path id that is not such an integer is a 404, like any id the user may not see (the
router only routes digits; ``IdLookupMixin`` refuses the rest); an id in a body must be a
JSON integer (not ``true``, ``1.5`` or ``"7"``) and in range, or the field is refused.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from lib.jsonlimits import BIGINT_MAX, fits_bigint

ID_PATTERN = "[0-9]+"


def id_or_404(value: Any) -> int:
    """The path id as an int, or NotFound when it cannot name a row."""
    try:
        number = int(str(value))
    except ValueError:
        raise NotFound() from None
    if not 1 <= number <= BIGINT_MAX:
        raise NotFound()
    return number


class IdLookupMixin:
    """Routes only digits as ``{id}`` and answers 404 for ids past the bigint range."""

    lookup_value_regex = ID_PATTERN

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if "pk" in kwargs:
            id_or_404(kwargs["pk"])


class StrictIdMixin:
    """For related fields: a JSON integer within the bigint range, nothing else."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)  # type: ignore[attr-defined]
        if not fits_bigint(data):
            self.fail("does_not_exist", pk_value=data)  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class IdField(StrictIdMixin, serializers.PrimaryKeyRelatedField):
    pass


def id_integer_field(**kwargs: Any) -> serializers.IntegerField:
    """An integer id in a body or a query: at least 1, at most the bigint maximum."""
    return serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, **kwargs)
