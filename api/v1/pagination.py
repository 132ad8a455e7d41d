"""Cursor pagination everywhere: a page costs the same at any depth, and rows added
while a client pages through a list neither repeat nor go missing."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from lib.jsonlimits import fits_bigint


class CursorByIdPagination(CursorPagination):
    """Newest first, by id: the order rows were created in."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    # Orderings whose cursor position is an integer column.
    integer_orderings = frozenset({"id", "seq"})

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters

    def get_page_size(self, request: Request) -> int:
        """DRF's page size, but a ``page_size`` that is not a whole number from 1 up is
        refused (400) rather than silently replaced by the default."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            try:
                size = int(raw)
            except ValueError:
                size = 0
            if size < 1:
                raise ValidationError(
                    {self.page_size_query_param: ["A page size is a whole number from 1."]}
                )
            return min(size, self.max_page_size)
        return self.page_size

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's cursor, also refused (404, like any cursor it cannot read) when its
        position cannot be a value of the ordering column: a forged ``p=abc`` on an
        id would otherwise reach the database as a ValueError."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        ordering = self.ordering if isinstance(self.ordering, str) else self.ordering[0]
        if ordering.lstrip("-") in self.integer_orderings and not _is_bigint(cursor.position):
            raise NotFound(self.invalid_cursor_message)
        return cursor


def _is_bigint(value: Any) -> bool:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return False
    return fits_bigint(number)


class CursorByNamePagination(CursorByIdPagination):
    """Alphabetical; for lists whose ``name`` is unique (clients)."""

    ordering = "name"


class CursorByKeyPagination(CursorByIdPagination):
    """Alphabetical by catalog key (templates)."""

    ordering = "key"


class CursorByIdAscendingPagination(CursorByIdPagination):
    """Oldest first (contacts)."""

    ordering = "id"


class CursorBySeqPagination(CursorByIdPagination):
    """A ledger chain in order, from its first event: ``seq`` is unique per client."""

    ordering = "seq"
    page_size = 100
    max_page_size = 1000
