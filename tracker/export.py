"""Export recommendations as the tracker sheet, in the columns import reads.

Rows are streamed from the database with ``.iterator()`` and written as they come:
CSV straight to the output, XLSX through xlsxwriter in constant-memory mode (each row
is flushed to a temporary file once written), so a large export needs little memory.

Text cells that a spreadsheet could run as a formula (starting with = + - @ or a tab
or carriage return) get a leading apostrophe, and other control characters are
dropped. Import removes that one apostrophe again, so export → import → export gives
the same file.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from typing import IO, Any

import xlsxwriter
from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import User
from recommendations.choices import Status
from recommendations.models import Recommendation, Response
from recommendations.selectors import recommendation_list_for
from tracker.columns import HEADERS, Column
from tracker.identity import DerivedIds

FORMATS = ("csv", "xlsx")
LANGUAGES = ("en", "it")
DELIMITER = {"en": ",", "it": ";"}  # what Excel expects in each locale

CATEGORY_LABELS = {
    "en": {
        "accepted": "Accepted",
        "deferred": "Deferred",
        "rejected": "Rejected",
        "ignored": "Ignored",
        "withdrawn": "Withdrawn",
    },
    "it": {
        "accepted": "Accettata",
        "deferred": "Posticipata",
        "rejected": "Rifiutata",
        "ignored": "Ignorata",
        "withdrawn": "Ritirata",
    },
}
SEVERITY_LABELS = {
    # Spelled out: the labels of Severity follow the active language.
    "en": {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"},
    "it": {"critical": "Critica", "high": "Alta", "medium": "Media", "low": "Bassa"},
}

# Statuses the sheet names by themselves; any other shows its latest answer.
_STATUS_CATEGORIES = {Status.IGNORED: "ignored", Status.WITHDRAWN: "withdrawn"}

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def neutralise(value: str) -> str:
    """A text cell no spreadsheet will evaluate."""
    value = _CONTROL.sub("", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def export_queryset(user: User | None, *, client_id: int | None = None) -> QuerySet[Recommendation]:
    """What the user may see (everything for None: an operator at the shell), minus
    drafts (never shown to a client, so not in the sheet), oldest first, with the
    latest response's fields joined in."""
    latest = Response.objects.filter(recommendation=OuterRef("pk")).order_by("-recorded_at", "-id")
    if user is None:
        qs = Recommendation.objects.select_related("client", "owner")
        qs = qs.filter(client_id=client_id) if client_id is not None else qs
    else:
        qs = recommendation_list_for(user, client_id=client_id)
    return (
        qs.exclude(status=Status.DRAFT)
        .annotate(
            last_decision=Subquery(latest.values("decision")[:1]),
            last_justification=Subquery(latest.values("justification")[:1]),
            last_planned=Subquery(latest.values("planned_for")[:1]),
            last_deferred=Subquery(latest.values("deferred_until")[:1]),
        )
        .order_by("client__name", "created_at", "id")
    )


def export_rows(
    user: User | None, *, language: str = "en", client_id: int | None = None
) -> Iterator[list[Any]]:
    """The header, then one list of cells per recommendation (dates as date objects)."""
    headers = HEADERS[language]
    yield [headers[column] for column in Column]
    categories, severities = CATEGORY_LABELS[language], SEVERITY_LABELS[language]
    derived = DerivedIds()
    for rec in export_queryset(user, client_id=client_id).iterator(chunk_size=2000):
        tz = rec.client.tz
        category = _STATUS_CATEGORIES.get(rec.status) or rec.last_decision or ""
        decided = category in ("accepted", "deferred", "rejected")
        made = rec.created_at.astimezone(tz).date()
        withdrawn = rec.status == Status.WITHDRAWN
        # When the answer (or the withdrawal) was recorded: import records it then,
        # so the review date and the QBR's "decisions of the period" come back too.
        decided_at = rec.closed_at if withdrawn else rec.decided_at
        cells = {
            Column.CLIENT: rec.client.name,
            Column.RECOMMENDATION: rec.title,
            # Blank when the text is the title (a one-column sheet's row): import
            # then takes the text from the recommendation column, as it came.
            Column.DETAILS: rec.body if rec.body != rec.title else "",
            Column.DECIDED_ON: decided_at.astimezone(tz).date()
            if category and decided_at
            else None,
            Column.DATE_MADE: made,
            Column.CATEGORY: categories.get(category, ""),
            Column.OWNER: rec.owner.get_username() if rec.owner else "",
            Column.JUSTIFICATION: rec.close_reason
            if withdrawn
            else ((rec.last_justification or "") if decided else ""),
            Column.PLANNED: rec.last_planned if category == "accepted" else None,
            Column.SEVERITY: severities.get(rec.severity, rec.severity),
            Column.TAGS: ", ".join(rec.tags),
            Column.DEFERRED_UNTIL: rec.last_deferred if category == "deferred" else None,
            Column.REVIEW_DATE: rec.review_at.astimezone(tz).date()
            if rec.review_at and rec.status == Status.REJECTED
            else None,
            # Always written, the derived id of a recommendation made in Heeded too,
            # so importing this file finds every row again (tracker.identity).
            Column.EXTERNAL_ID: rec.external_id
            or derived.next(client_name=rec.client.name, title=rec.title, date_made=made),
        }
        yield [cells[column] for column in Column]


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(str(value))


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_chunks(rows: Iterator[list[Any]], *, language: str = "en") -> Iterator[str]:
    """CSV text, one line at a time, starting with a byte-order mark so that Excel
    opens it as UTF-8."""
    writer = csv.writer(_Echo(), delimiter=DELIMITER[language], lineterminator="\r\n")
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([_csv_cell(v) for v in row])


def write_csv(out: IO[bytes], rows: Iterator[list[Any]], *, language: str = "en") -> int:
    """Write the CSV file; return the number of data rows."""
    chunks = 0
    for chunk in csv_chunks(rows, language=language):
        out.write(chunk.encode("utf-8"))
        chunks += 1
    return max(chunks - 2, 0)  # less the byte-order mark and the header


def write_xlsx(out: IO[bytes] | str, rows: Iterator[list[Any]], *, language: str = "en") -> int:
    """Write the workbook; return the number of data rows."""
    book = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            # A fixed creation date keeps two exports of the same data byte-identical.
            "default_date_format": "yyyy-mm-dd",
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    book.set_properties({"created": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)})
    sheet = book.add_worksheet("Tracker" if language == "en" else "Raccomandazioni")
    bold = book.add_format({"bold": True})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    count = 0
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
            else:
                sheet.write_string(r, c, neutralise(str(value)), bold if r == 0 else None)
        count = r
    book.close()
    return count
