"""What every list page shares: its state in the URL, its page size, its CSV export.

A list's filters, search, sort, page size and page are query parameters, so a list
is its address: it can be bookmarked, shared and opened again as it was. ``?format=csv``
on the same address downloads what the list shows — every row that matches, in the
list's order, with the list's columns — with text cells that a spreadsheet could
evaluate (starting with = + - @, a tab or a carriage return) neutralised by the
tracker export's rule (``tracker.export.neutralise``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.functional import cached_property

from tracker.export import neutralise

PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50


class CountedPaginator(Paginator):
    """A paginator told its total (from maintained counters) instead of counting the
    rows: a list of a million recommendations costs its page, not a COUNT over all."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def page_size(request: HttpRequest) -> int:
    """The ``per_page`` of the URL when it is one of ``PAGE_SIZES``, else the default."""
    raw = request.GET.get("per_page", "")
    return int(raw) if raw.isdigit() and int(raw) in PAGE_SIZES else DEFAULT_PAGE_SIZE


def sort_param(raw: str | None, allowed: Iterable[str], default: str) -> tuple[str, bool]:
    """("key", descending) from a ``sort`` value such as "name" or "-name"; an unknown
    key falls back to ``default`` (which may itself start with "-")."""
    raw = (raw or "").strip()
    key = raw.lstrip("-")
    if key not in set(allowed):
        return default.lstrip("-"), default.startswith("-")
    return key, raw.startswith("-")


def wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def csv_cell(value: Any) -> str:
    """One CSV cell: text neutralised, None empty, everything else as printed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """Stream ``rows`` under ``header`` as a UTF-8 CSV attachment named ``filename``."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow([csv_cell(h) for h in header])
        for row in rows:
            yield writer.writerow([csv_cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
