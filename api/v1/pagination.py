"""Cursor pagination everywhere: a page costs the same at any depth, and rows added
while a client pages through a list neither repeat nor go missing."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class CursorByIdPagination(CursorPagination):
    """Newest first, by id: the order rows were created in."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


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
