"""Import a tracker sheet: every row becomes a recommendation that went through the
lifecycle's own services (create, present, the client's answer), so an imported row
obeys the same rules and leaves the same ledger trail as one entered by hand.

The whole file runs in one transaction. Each row gets a savepoint: a refused row is
rolled back alone and reported; without ``skip_invalid`` one refused row rolls back
the whole file, and a dry run always does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from accounts.choices import Role
from accounts.models import User
from accounts.permissions import Capability, allows, require
from accounts.services import user_create
from clients.models import Client
from clients.policy import policy_for
from clients.selectors import client_list_for
from clients.services import client_create, contact_create
from lib.errors import ServiceError
from recommendations import deadlines
from recommendations.batch import Batch
from recommendations.choices import Channel, Decision, Status
from recommendations.lifecycle import LifecycleError
from recommendations.models import Recommendation
from tracker.columns import Column, fold, label, recognise
from tracker.identity import DerivedIds, stable_external_id
from tracker.layout import Layout, Mapping, locate
from tracker.marks import lookup_size, marks_add, marks_of, marks_replace
from tracker.paths import OneByOne, Stored, stored_rows
from tracker.reader import Sheet, UnreadableFile, read_sheet
from tracker.values import (
    AWAITING,
    IGNORED,
    WITHDRAWN,
    BadValue,
    parse_category,
    parse_date,
    parse_severity,
    parse_tags,
    text,
)

RESPONDER_NAME = "Client (imported spreadsheet)"
PLACEHOLDER_CONTACT = "Imported decision maker"
TITLE_MAX = 200
# Rows the batch holds before it writes them (memory stays flat on a large sheet).
BATCH_ROWS = 1000

# Where a service's field error belongs in the sheet.
_FIELD_COLUMNS = {
    "title": Column.RECOMMENDATION,
    "body": Column.DETAILS,
    "severity": Column.SEVERITY,
    "tags": Column.TAGS,
    "owner": Column.OWNER,
    "external_id": Column.EXTERNAL_ID,
    "planned_for": Column.PLANNED,
    "deferred_until": Column.DEFERRED_UNTIL,
    "justification": Column.JUSTIFICATION,
    "contact": Column.CLIENT,
    "responder": Column.CLIENT,
    "name": Column.CLIENT,
    "slug": Column.CLIENT,
}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class ImportReport:
    filename: str
    file_sha256: str
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    updated: int = 0
    refused: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    committed: bool = False
    # (row, outcome, external id) for the preview page
    outcomes: list[tuple[int, str, str]] = field(default_factory=list)
    # What the file as a whole did that the user should know: rows skipped above the
    # header, columns not imported, a decision column nobody mapped.
    notes: list[str] = field(default_factory=list)
    # (row, sentence): a date the import chose because the sheet left it blank.
    defaults: list[tuple[int, str]] = field(default_factory=list)
    # The columns the preview page offers to map by hand: (position, "column F
    # 'Stato'", header, the column it is mapped to or "").
    choosable: list[tuple[int, str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.refused == 0

    def summary(self) -> str:
        counts = (
            f"created {self.created}, unchanged {self.unchanged}, "
            f"updated {self.updated}, refused {self.refused}"
        )
        if self.dry_run:
            return f"dry run of {self.filename}: {counts}; nothing was written"
        if not self.committed:
            return (
                f"{self.filename}: {counts}; nothing was imported because a row was refused "
                "(fix the rows above, or import the rest with --skip-invalid)"
            )
        return f"imported {self.filename}: {counts}"


@dataclass(slots=True)
class _Row:
    number: int
    client: str
    title: str
    body: str
    date_made: dt.date
    decided_on: dt.date | None
    category: str
    owner: str
    justification: str
    planned: dt.date | None
    severity: str
    tags: list[str]
    deferred_until: dt.date | None
    external_id: str
    # The digest of the row's cells (``_Importer.digest``), for its mark.
    digest: str = ""


@dataclass(slots=True)
class _Known:
    """A row whose cells are those last imported into a recommendation that has not
    changed since (its ``RowMark``): unchanged, without its cells being read."""

    number: int
    client: str
    date_made: dt.date
    external_id: str


class _Refused(ServiceError):
    """A refused row; ``column`` is the sheet column at fault (also ``field``)."""

    def __init__(self, column: Column, message: str) -> None:
        super().__init__(message, field=str(column))
        self.column = column


def tracker_import(
    *,
    source: bytes | str | Path,
    actor: User,
    now: dt.datetime,
    filename: str = "",
    dry_run: bool = False,
    skip_invalid: bool = False,
    create_missing: bool = False,
    sheet: str | None = None,
    mapping: Mapping | None = None,
    batched: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a CSV or XLSX tracker sheet given as bytes or as a path (str or Path).

    ``mapping`` names columns by hand: {"Stato": Column.CATEGORY, "Note": None} (None
    leaves the column out), for headers the sheet's own words do not make clear.

    Every row is checked and counted. The rows are written only when this is not a dry
    run and either no row was refused or ``skip_invalid`` is set; otherwise the one
    transaction is rolled back. Raise UnreadableFile when the file as a whole cannot be
    read (no header, a required column missing, not CSV/XLSX), and PermissionDenied for
    a read-only account.

    The rows that create recommendations go through ``recommendations.batch``: each is
    checked in memory by the lifecycle's own steps, and written set-based every
    ``BATCH_ROWS`` rows. ``batched=False`` runs every row through the services one by
    one instead: the same outcome, refusals and ledger events, much slower (the
    reference the batch is tested against). ``progress(done, total)`` is called as
    rows are done.
    """
    require(actor, Capability.WRITE)
    if isinstance(source, str | Path):
        filename = filename or Path(source).name
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise UnreadableFile(f"Cannot open {source}: {exc.strerror}.") from None
    else:
        data = source
    parsed = _read(data, filename=filename, sheet=sheet, mapping=mapping)
    report = ImportReport(
        filename=filename or "upload", file_sha256=hashlib.sha256(data).hexdigest(), dry_run=dry_run
    )
    importer = _Importer(
        parsed,
        report,
        actor=actor,
        now=now,
        create_missing=create_missing,
        mapping=mapping,
        batched=batched,
        discard=lambda: dry_run or (not skip_invalid and report.refused > 0),
        progress=progress,
    )
    del data, parsed  # the importer reads the rows from here, and then lets go of them
    with transaction.atomic():
        importer.run()
        report.committed = not dry_run and (skip_invalid or report.refused == 0)
        if not report.committed:
            transaction.set_rollback(True)
    return report


def _read(data: bytes, *, filename: str, sheet: str | None, mapping: Mapping | None) -> Sheet:
    mapped = {fold(header) for header, column in (mapping or {}).items() if column is not None}
    return read_sheet(
        data,
        filename=filename,
        sheet=sheet,
        is_header=lambda h: recognise(h) is not None or fold(h) in mapped,
    )


def sheet_layout(
    data: bytes, *, filename: str = "", sheet: str | None = None, mapping: Mapping | None = None
) -> Layout:
    """Where the header of ``data`` is and what its columns mean, without importing;
    raise UnreadableFile as tracker_import would."""
    return locate(_read(data, filename=filename, sheet=sheet, mapping=mapping).head(), mapping)


class _Importer:
    def __init__(
        self,
        sheet: Sheet,
        report: ImportReport,
        *,
        actor: User,
        now: dt.datetime,
        create_missing: bool,
        mapping: Mapping | None = None,
        batched: bool = True,
        discard: Callable[[], bool] = lambda: False,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.report = report
        self.one_by_one = OneByOne(actor=actor)
        self.batch = Batch(actor=actor) if batched else None
        # Whether what the batch holds will be rolled back anyway (a dry run, or a
        # refused row without skip_invalid): then it is not written at all.
        self.discard = discard
        self.progress = progress
        self.stored: dict[tuple[int, str], Stored] = {}
        # (digest, date made, the recommendation or its pk) of the rows imported
        # since the marks were last written.
        self.marks: list[tuple[str, dt.date, Recommendation | int]] = []
        self.fresh_marks: list[tuple[str, dt.date, Recommendation]] = []
        self.names: dict[str, str] = {}
        self.values: dict[tuple[type, object], object] = {}
        self.applied: Recommendation | int | None = None
        self.actor = actor
        self.now = now
        self.create_missing = create_missing
        self.sheet = sheet
        self.layout: Layout = locate(sheet.head(), mapping)
        self.index = self.layout.index
        # A row's digest covers the cells of the imported columns, each under the
        # column it is read as, so the same values mean the same whatever the order.
        self.digest_positions = [position for _, position in sorted(self.index.items())]
        self.digest_prefix = repr(sorted(self.index)).encode()
        self.digest_last = max(self.digest_positions)
        # Three columns at least are required, so the getter always gives a tuple.
        self.digest_cells = itemgetter(*self.digest_positions)
        self.note_layout(sheet)
        # A technician imports into the clients they are assigned to; any other name
        # reads as unknown, so the sheet cannot probe for clients they may not see.
        self.clients = {fold(c.name): c for c in client_list_for(actor)}
        self.clients.update({fold(c.slug): c for c in self.clients.values()})
        # An owner is matched by username first (what export writes), then e-mail,
        # then loosely by name: "marco.verdi" must find marco.verdi even when someone
        # else's full name folds to the same letters.
        self.users_exact: dict[str, User] = {}
        self.users_loose: dict[str, User] = {}
        users = list(User.objects.all())
        for user in users:
            self.users_exact.setdefault(user.username.casefold(), user)
        for user in users:
            if user.email:
                self.users_exact.setdefault(user.email.casefold(), user)
            for key in (user.username, user.get_full_name()):
                if key:
                    self.users_loose.setdefault(fold(key), user)
        # Per client, the derived ids of its recommendations that have no external id
        # (made in Heeded), filled when a row of that client first needs them.
        self.derived: dict[int, dict[str, int]] = {}

    def column_name(self, column: Column) -> str:
        return self.layout.name(column)

    def note_layout(self, sheet: Sheet) -> None:
        layout, notes = self.layout, self.report.notes
        if layout.skipped:
            above = "; ".join(f"row {n} {line[:80]!r}" for n, line in layout.skipped)
            notes.append(f"the header is row {layout.header_row}; skipped above it: {above}")
        if sheet.sep_line:
            notes.append(f"the first line {sheet.sep_line!r} set the delimiter")
        for position in layout.unused:
            shadow = layout.shadowed.get(position)
            why = (
                f" ({layout.describe(layout.index[shadow])} is the {label(shadow)})"
                if shadow is not None
                else ""
            )
            notes.append(f"{layout.describe(position)} was not imported{why}")
        for position, column in sorted(layout.mapped.items()):
            target = f"imported as the {label(column)}" if column else "left out, as mapped"
            notes.append(f"{layout.describe(position)} is {target}")
        self.report.choosable = layout.choosable()

    def data_rows(self) -> Iterator[tuple[int, list[object]]]:
        """The rows below the header, read as they are asked for; the header and what
        is above it are not data."""
        for number, cells in self.sheet.iter_rows():
            if number > self.layout.header_row:
                yield number, cells

    def survey(self, cells: list[object]) -> None:
        """Note, for the report, the values of ``cells`` that are not imported."""
        headers = self.layout.headers
        for position in range(len(headers), len(cells)):
            if text(cells[position]):
                self.unnamed[position] = self.unnamed.get(position, 0) + 1
        for position in self.blank_headers:
            if position < len(cells) and text(cells[position]):
                self.unnamed[position] = self.unnamed.get(position, 0) + 1
        for position, seen in self.undecided.items():
            value = text(cells[position]) if position < len(cells) else ""
            if not value:
                continue
            seen[0] += 1
            try:
                category = parse_category(value)
            except BadValue:
                continue
            if category != AWAITING:
                seen[1] += 1
                seen[2] = seen[2] or value

    def note_unnamed_columns(self) -> None:
        """Values under no header are not imported either; say where they are."""
        for position, count in sorted(self.unnamed.items()):
            self.report.notes.append(
                f"{self.layout.describe(position)} has no header; its values ({count} "
                f"row{'s' if count != 1 else ''}) were not imported"
            )

    def warn_unmapped_decisions(self) -> None:
        """A sheet with no response category column whose decisions sit in a column we
        did not recognise would import every row as awaiting a response: say so."""
        for position, (filled, decisions, example) in self.undecided.items():
            if decisions and decisions * 2 >= filled:
                header = self.layout.headers[position]
                self.report.notes.append(
                    f"warning: {self.layout.describe(position)} holds response categories "
                    f"({decisions} of {filled} filled cells, e.g. {example!r}) but the sheet "
                    "has no response category column, so every row is imported as awaiting "
                    f'a response; map it with --map "{header}=response category" or on '
                    "the preview page."
                )

    def refuse(self, number: int, column: Column, message: str) -> None:
        self.report.errors.append(RowError(number, self.column_name(column), message))

    def run(self) -> None:
        headers = self.layout.headers
        self.unnamed: dict[int, int] = {}
        self.blank_headers = [p for p, header in enumerate(headers) if not header]
        # Unrecognised columns that may hold the decisions: [filled, decisions, example].
        self.undecided: dict[int, list[Any]] = (
            {} if Column.CATEGORY in self.index else {p: [0, 0, ""] for p in self.layout.unused}
        )
        rows: list[_Row | _Known] = []
        # The sheet is read in chunks: each chunk's digests are looked up at once, and
        # its cells let go once its rows are parsed, so a large sheet is never held as
        # cells and as parsed rows at the same time.
        chunk: list[tuple[int, list[object], str]] = []
        read_size = lookup_size()
        for number, cells in self.data_rows():
            self.survey(cells)
            self.report.rows += 1
            chunk.append((number, cells, self.digest(cells)))
            if len(chunk) == read_size:
                self.read_chunk(chunk, rows)
                chunk = []
        self.read_chunk(chunk, rows)
        # Every cell has been read: the workbook's cells need not stay in memory while
        # the rows are written.
        self.sheet.release()
        self.note_unnamed_columns()
        self.warn_unmapped_decisions()
        # {folded client name: {external id: row}}: no key tuple held per row.
        seen: dict[str, dict[str, int]] = {}
        # Oldest first, so each client's chain tells the imported history in order.
        # The rows are in sheet order already: a stable sort by date keeps it per day.
        rows.sort(key=attrgetter("date_made"))
        if self.batch is not None:
            self.stored = stored_rows(self.keys(rows))
        total = len(rows)
        for done in range(1, total + 1):
            # A row is let go once done, so what the loop keeps grows as they go.
            row, rows[done - 1] = rows[done - 1], None  # type: ignore[call-overload]
            if self.progress is not None and (done % 100 == 0 or done == total):
                self.progress(done, total)
            of_client = seen.setdefault(fold(row.client), {})
            if row.external_id in of_client:
                self.refuse(
                    row.number,
                    Column.EXTERNAL_ID
                    if Column.EXTERNAL_ID in self.index
                    else Column.RECOMMENDATION,
                    f"duplicate of row {of_client[row.external_id]}; each recommendation may "
                    "appear once.",
                )
                self.report.refused += 1
                continue
            of_client[row.external_id] = row.number
            if isinstance(row, _Known):
                self.report.unchanged += 1
                self.report.outcomes.append((row.number, "unchanged", row.external_id))
                continue
            self.applied = None
            self.added: list[tuple[dict[str, Any], str]] = []
            self.row_defaults: list[str] = []
            try:
                outcome = self.batched(row) if self.batch is not None else None
                # A recommendation the batch creates is, once written, as it is held.
                fresh = outcome == "created"
                if outcome is None:
                    # The one-by-one path writes now: what the batch holds goes first,
                    # so each client's chain keeps the sheet's order.
                    self.flush()
                    with transaction.atomic():
                        outcome = self.apply(row, self.one_by_one, self.find)
            except _Refused as exc:
                # What this row created was rolled back with its savepoint.
                for cache, cached in self.added:
                    cache.pop(cached, None)
                self.refuse(row.number, exc.column, exc.message)
                self.report.refused += 1
                continue
            self.remember(row, self.applied, fresh=fresh)
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)
            self.report.outcomes.append((row.number, outcome, row.external_id))
            self.report.defaults += [(row.number, line) for line in self.row_defaults]
            if self.batch is not None and len(self.batch) >= BATCH_ROWS * 4:
                self.flush()
        self.flush()
        self.report.errors.sort(key=lambda e: e.row)
        self.report.outcomes.sort()
        self.report.defaults.sort()

    # --- row marks --------------------------------------------------------------------

    def digest(self, cells: list[object]) -> str:
        """The digest of the imported cells of a row: the same cells under the same
        columns give the same digest, any changed cell another."""
        if len(cells) > self.digest_last:
            values = self.digest_cells(cells)
        else:
            values = tuple(cells[p] if p < len(cells) else None for p in self.digest_positions)
        # 128 bits are plenty to tell a sheet's rows apart, and half the memory.
        return hashlib.sha256(self.digest_prefix + repr(values).encode()).hexdigest()[:32]

    def read_chunk(
        self, chunk: list[tuple[int, list[object], str]], rows: list[_Row | _Known]
    ) -> None:
        """Add the chunk's rows to ``rows``: a ``_Known`` for a row its mark says is
        unchanged, else the parsed row (a refused one is counted and reported)."""
        marks = marks_of([digest for _, _, digest in chunk])
        client_at = self.index[Column.CLIENT]
        owner_at = self.index.get(Column.OWNER)
        for number, cells, digest in chunk:
            mark = marks.get(digest)
            if mark is not None and mark[3]:
                client_id, external_id, made_on, _ = mark
                name = text(cells[client_at]) if client_at < len(cells) else ""
                owner = (
                    text(cells[owner_at]) if owner_at is not None and owner_at < len(cells) else ""
                )
                client = self.clients.get(fold(name))
                # The client must still go by that name for this user, and the owner
                # be known (else the full path refuses the row, or adds the owner).
                if (
                    client is not None
                    and client.pk == client_id
                    and (not owner or self.known_owner(owner) is not None)
                ):
                    name = self.names.setdefault(name, name)
                    rows.append(_Known(number, name, made_on, external_id))
                    continue
            row = self.parse(number, cells, digest)
            if row is None:
                self.report.refused += 1
            else:
                rows.append(row)
        chunk.clear()

    def remember(self, row: _Row, rec: Recommendation | int | None, *, fresh: bool) -> None:
        """Mark ``rec`` as what ``row`` imported into (written with the batch);
        ``fresh``: the batch created it, so its state is the one it holds."""
        if rec is None or not row.digest:
            return
        if isinstance(rec, Recommendation) and rec.external_id != row.external_id:
            return  # made in Heeded and found by its derived id: nothing to key it by
        if fresh and isinstance(rec, Recommendation):
            self.fresh_marks.append((row.digest, row.date_made, rec))
        else:
            self.marks.append((row.digest, row.date_made, rec))

    def write_marks(self) -> None:
        """Replace the marks of the recommendations the rows since the last write
        imported into, with their state as stored now: a few statements per few hundred
        rows (a recommendation the batch created has no mark yet, and its state is in
        hand)."""
        marks_add(self.fresh_marks)
        self.fresh_marks = []
        pending: dict[int, tuple[str, dt.date]] = {}
        for digest, made_on, rec in self.marks:
            pk = rec if isinstance(rec, int) else rec.pk
            if pk is not None:
                pending[pk] = (digest, made_on)
        self.marks = []
        marks_replace(pending)

    # --- the batch --------------------------------------------------------------------

    def keys(self, rows: list[_Row | _Known]) -> Iterator[tuple[int, str]]:
        """(client id, external id) of every row to import whose client exists."""
        for row in rows:
            if isinstance(row, _Known):
                continue
            client = self.clients.get(fold(row.client))
            if client is not None:
                yield client.pk, row.external_id

    def batched(self, row: _Row) -> str | None:
        """The row's outcome through the batch, or None when it takes the one-by-one
        path (it adds a client or an owner, or changes a stored recommendation).
        Raises _Refused, and then the batch holds nothing of the row."""
        assert self.batch is not None
        client = self.clients.get(fold(row.client))
        if client is None:
            return None
        if row.owner and self.known_owner(row.owner) is None:
            return None
        stored = self.stored.get((client.pk, row.external_id))
        if stored is not None:
            _, status, reason, latest = stored
            if _matches(_state(status, reason, latest), row):
                self.applied = stored[0]
                return "unchanged"
            return None
        if row.external_id.startswith("sheet-") and row.external_id in self.derived_ids(client):
            return None
        mark = self.batch.mark()
        try:
            return self.apply(row, self.batch, lambda client, external_id: None)
        except _Refused:
            self.batch.rollback(mark)
            raise

    def flush(self) -> None:
        if self.discard():
            # All of it is rolled back at the end: write none of it.
            if self.batch is not None:
                self.batch.rollback((0, 0))
            self.marks, self.fresh_marks = [], []
            return
        if self.batch is not None:
            self.batch.write()
        self.write_marks()

    # --- reading a row ---------------------------------------------------------------

    def parse(self, number: int, cells: list[object], digest: str = "") -> _Row | None:
        errors = len(self.report.errors)

        def cell(column: Column) -> object:
            position = self.index.get(column)
            if position is None or position >= len(cells):
                return None
            value = cells[position]
            return None if value == "" else value

        def parsed(column: Column, parser, *args):  # type: ignore[no-untyped-def]
            try:
                value = parser(cell(column), *args)
            except BadValue as exc:
                self.refuse(number, column, exc.message)
                return None
            # A sheet's dates and categories repeat: one object each, not one a row.
            if value is None:
                return None
            return self.values.setdefault((type(value), value), value)

        # A sheet names its few clients and owners on every row: one string each.
        client = self.names.setdefault(name := text(cell(Column.CLIENT)), name)
        title = text(cell(Column.RECOMMENDATION))
        if not client:
            self.refuse(number, Column.CLIENT, "the client is missing.")
        if not title:
            self.refuse(number, Column.RECOMMENDATION, "the recommendation is missing.")
        date_made = parsed(Column.DATE_MADE, parse_date)
        if date_made is None and len(self.report.errors) == errors:
            self.refuse(
                number, Column.DATE_MADE, "the date the recommendation was made is missing."
            )
        elif date_made is not None and date_made > self.now.date():
            self.refuse(number, Column.DATE_MADE, f"{date_made.isoformat()} is in the future.")
        category = parsed(Column.CATEGORY, parse_category)
        decided_on = parsed(Column.DECIDED_ON, parse_date)
        if decided_on is not None and not category:
            self.refuse(
                number,
                Column.DECIDED_ON,
                "a decision date needs a response category; fill in the category or clear "
                "the date.",
            )
        elif decided_on is not None and date_made is not None and decided_on < date_made:
            self.refuse(
                number,
                Column.DECIDED_ON,
                f"the decision ({decided_on.isoformat()}) cannot come before the "
                f"recommendation was made ({date_made.isoformat()}).",
            )
        elif decided_on is not None and decided_on > self.now.date():
            self.refuse(number, Column.DECIDED_ON, f"{decided_on.isoformat()} is in the future.")
        planned = parsed(Column.PLANNED, parse_date)
        deferred_until = parsed(Column.DEFERRED_UNTIL, parse_date)
        parsed(Column.REVIEW_DATE, parse_date)  # checked, not stored: the policy sets it
        severity = parsed(Column.SEVERITY, parse_severity)
        if len(self.report.errors) > errors:
            return None
        if category == Decision.DEFERRED and deferred_until is None:
            # The seven-column template has one date column for "when": a deferred
            # row's date there is the date it was deferred to.
            deferred_until, planned = planned, None
        external_id = text(cell(Column.EXTERNAL_ID)) or stable_external_id(
            client_name=client, text=title, date_made=date_made
        )
        return _Row(
            number=number,
            client=client,
            title=_title(title),
            # A sheet with only one text column has the whole text there.
            body=text(cell(Column.DETAILS)) or title,
            date_made=date_made,
            decided_on=decided_on,
            category=category or AWAITING,
            owner=self.names.setdefault(owner := text(cell(Column.OWNER)), owner),
            justification=text(cell(Column.JUSTIFICATION)),
            planned=planned,
            severity=severity or "medium",
            tags=parse_tags(tags) if (tags := cell(Column.TAGS)) is not None else _NO_TAGS,
            deferred_until=deferred_until,
            external_id=external_id,
            digest=digest,
        )

    # --- writing a row ---------------------------------------------------------------

    def apply(
        self,
        row: _Row,
        ops: Batch | OneByOne,
        find: Callable[[Client, str], Recommendation | None],
    ) -> str:
        self.defaulted: dict[str, str] = {}
        client = self.client_for(row)
        owner = self.owner_for(row)
        existing = find(client, row.external_id)
        try:
            if existing is None:
                rec = self.create(row, client, owner, ops)
                outcome = "created"
            else:
                rec = existing
                if _matches(sheet_state(rec), row):
                    self.applied = rec
                    return "unchanged"
                self.answer(rec, row, ops, at=self.now)
                outcome = "updated"
        except LifecycleError as exc:
            raise _Refused(
                _FIELD_COLUMNS.get(exc.field or "", Column.CATEGORY), exc.message
            ) from None
        except ValidationError as exc:
            field_name, messages = next(iter(_error_dict(exc).items()))
            column = _FIELD_COLUMNS.get(field_name, Column.RECOMMENDATION)
            raise _Refused(column, " ".join(messages)) from None
        data: dict[str, object] = {
            "file_sha256": self.report.file_sha256,
            "filename": self.report.filename,
            "row": row.number,
            "external_id": row.external_id,
            "outcome": outcome,
        }
        if self.defaulted:
            # The dates the import chose because the row left them blank, so the
            # ledger tells a client's own date from the policy's.
            data["defaulted_by_import"] = dict(self.defaulted)
        # "through_seq": the client's head once the row's own events are appended.
        ops.note(rec, kind="tracker.imported", at=self.now, data=data, head_key="through_seq")
        self.applied = rec
        return outcome

    def find(self, client: Client, external_id: str) -> Recommendation | None:
        rec = Recommendation.objects.filter(client=client, external_id=external_id).first()
        if rec is not None or not external_id.startswith("sheet-"):
            return rec
        pk = self.derived_ids(client).get(external_id)
        return Recommendation.objects.get(pk=pk) if pk is not None else None

    def derived_ids(self, client: Client) -> dict[str, int]:
        """{derived id: pk} of the client's recommendations made in Heeded (no external
        id): their exported rows carry the derived id, which finds them here, so
        re-importing an export creates nothing. Ordered as export orders them, so
        "-2" ids match too."""
        if client.pk not in self.derived:
            ids = DerivedIds()
            self.derived[client.pk] = {
                ids.next(
                    client_name=client.name,
                    title=title,
                    date_made=created_at.astimezone(client.tz).date(),
                ): pk
                for pk, title, created_at in Recommendation.objects.filter(
                    client=client, external_id=""
                )
                .exclude(status=Status.DRAFT)
                .order_by("created_at", "id")
                .values_list("pk", "title", "created_at")
            }
        return self.derived[client.pk]

    def client_for(self, row: _Row) -> Client:
        client = self.clients.get(fold(row.client))
        if client is not None:
            return client
        if not self.create_missing:
            raise _Refused(
                Column.CLIENT,
                f"no client is called {row.client!r} (use --create-missing to add it).",
            )
        if not allows(self.actor, Capability.MANAGE_CLIENTS):
            raise _Refused(
                Column.CLIENT,
                f"no client is called {row.client!r}; only an admin or an account manager "
                "may add clients.",
            )
        try:
            client = client_create(name=row.client, actor=self.actor, now=self.now)
            # Presenting needs a decision maker; the real ones are added afterwards.
            contact_create(
                client=client,
                name=PLACEHOLDER_CONTACT,
                email=f"imported@{client.slug or 'client'}.invalid",
                is_decision_maker=True,
                actor=self.actor,
                now=self.now,
            )
        except ValidationError as exc:
            raise _Refused(Column.CLIENT, " ".join(exc.messages)) from None
        self.clients[fold(client.name)] = client
        self.added.append((self.clients, fold(client.name)))
        return client

    def known_owner(self, name: str) -> User | None:
        return self.users_exact.get(name.casefold()) or self.users_loose.get(fold(name))

    def owner_for(self, row: _Row) -> User | None:
        if not row.owner:
            return None
        user = self.known_owner(row.owner)
        if user is not None:
            return user
        if not self.create_missing:
            raise _Refused(
                Column.OWNER,
                f"no staff member is called {row.owner!r} (use --create-missing to add them).",
            )
        # A staff account sees client data: only an admin adds one, by import too.
        if not allows(self.actor, Capability.MANAGE_USERS):
            raise _Refused(
                Column.OWNER,
                f"no staff member is called {row.owner!r}; only an admin may add staff accounts.",
            )
        email = "@" in row.owner
        local = row.owner.split("@")[0] if email else row.owner
        if _USERNAME.match(local):
            # A username (what export writes) or an address's local part is kept as it
            # is, so "marco.verdi" comes back as marco.verdi.
            username = local
        else:
            username = slugify(local).replace("-", ".")[:150] or "owner"
        if User.objects.filter(username=username).exists():
            raise _Refused(Column.OWNER, f"the username {username!r} is taken by someone else.")
        first, _, last = row.owner.partition(" ") if " " in row.owner else ("", "", "")
        try:
            # No password: they sign in once an admin sets one or sends a reset link.
            user = user_create(
                username=username,
                email=row.owner if email else "",
                first_name=first,
                last_name=last,
                role=Role.TECHNICIAN,
                actor=self.actor,
                now=self.now,
            )
        except ValidationError as exc:
            raise _Refused(Column.OWNER, " ".join(exc.messages)) from None
        self.users_exact[row.owner.casefold()] = user
        self.added.append((self.users_exact, row.owner.casefold()))
        return user

    def create(
        self, row: _Row, client: Client, owner: User | None, ops: Batch | OneByOne
    ) -> Recommendation:
        made_at = dt.datetime.combine(row.date_made, dt.time(12), tzinfo=client.tz)
        rec = ops.create(
            client=client,
            now=made_at,
            external_id_taken=lambda wanted: (client.pk, wanted) in self.stored,
            title=row.title,
            body=row.body,
            severity=row.severity,
            tags=row.tags,
            owner=owner,
            external_id=row.external_id,
        )
        # The client was told back then: presenting imported history must not e-mail
        # them now, years later, nor make signed answer links.
        rec = ops.present(rec, now=made_at, notify_client=False)
        if row.category:
            # Answered on the decision date when the sheet has one, else (as the
            # seven-column template cannot say) on the date made.
            decided_at = (
                dt.datetime.combine(row.decided_on, dt.time(12), tzinfo=client.tz)
                if row.decided_on
                else made_at
            )
            rec = self.answer(rec, row, ops, at=decided_at)
        return rec

    def answer(
        self, rec: Recommendation, row: _Row, ops: Batch | OneByOne, *, at: dt.datetime
    ) -> Recommendation:
        if row.category == AWAITING:
            raise _Refused(
                Column.CATEGORY,
                "the response category is blank, but a response is already recorded; "
                "an answer cannot be taken back, only replaced by a new one.",
            )
        if row.category == IGNORED:
            return ops.mark_ignored(rec, now=at, reason="imported spreadsheet")
        if row.category == WITHDRAWN:
            # The MSP took it back; the sheet's justification is why.
            return ops.withdraw(
                rec,
                now=at,
                reason=row.justification or "withdrawn, as the imported spreadsheet says",
            )
        planned, deferred_until = row.planned, row.deferred_until
        if row.category == Decision.ACCEPTED and planned is None:
            planned = self.default_date(rec, row, at=at, field="planned_for")
        elif row.category == Decision.DEFERRED and deferred_until is None:
            deferred_until = self.default_date(rec, row, at=at, field="deferred_until")
        ops.decide(
            rec,
            decision=row.category,
            channel=Channel.IMPORT,
            now=at,
            recorded_by=self.actor,
            responder_name=RESPONDER_NAME,
            justification=row.justification,
            planned_for=planned,
            deferred_until=deferred_until,
            evidence_ref=f"sha256:{self.report.file_sha256}#row={row.number}",
        )
        if row.category == Decision.ACCEPTED and planned and planned < self.now.date():
            # The planned date passed long ago: record its lapse as of the day after.
            lapse_at = deadlines.planned_date_lapses_at(planned, rec.client.tz)
            if lapse_at <= self.now:
                rec = ops.expire_planned_date(rec, now=lapse_at)
        return rec

    def default_date(
        self, rec: Recommendation, row: _Row, *, at: dt.datetime, field: str
    ) -> dt.date:
        """The date a row that left it blank gets, from the client's follow-up policy,
        counted from when the answer is recorded (``at``):

        - accepted, no planned date: the policy's response window for the severity
          (7 days for critical … 30 for low by default): accepting without a date
          means "soon", and that window is how soon the MSP expects action;
        - deferred, no date: when the policy would put a rejection decided then to
          the client again (12 months, or the next QBR): "not now, ask us later".

        A date already past (a row from years ago) is kept, as a dated row's would be:
        the lapse of a planned date is recorded below, and the follow-up sweep asks
        again about a deferral that has ended.
        """
        tz = rec.client.tz
        if field == "planned_for":
            due = deadlines.response_due_at(
                policy=policy_for(rec.client), severity=rec.severity, presented_at=at, tz=tz
            )
            day, verb = due.astimezone(tz).date(), "planned for"
        else:
            review = deadlines.rejection_review_at(
                policy=policy_for(rec.client),
                decided_at=at,
                tz=tz,
                qbr_cadence_months=int(rec.client.qbr_cadence_months),
            )
            day, verb = review.astimezone(tz).date(), "deferred to"
        line = f"no date; {verb} {day.isoformat()}, the policy default"
        if day < self.now.date():
            line += (
                ", already past (recorded as lapsed)"
                if field == "planned_for"
                else ", already past (the follow-up sweep will ask the client again)"
            )
        self.row_defaults.append(line)
        self.defaulted[field] = day.isoformat()
        return day


_USERNAME = re.compile(r"^[\w.+-]{1,150}$")
# The tags of every row without any (never changed in place: ``draft`` copies them).
_NO_TAGS: list[str] = []
# What ``str.splitlines`` splits on.
_LINE_BREAK = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def _title(body: str) -> str:
    if (
        len(body) <= TITLE_MAX
        and not _LINE_BREAK.search(body)
        and not (body[:1].isspace() or body[-1:].isspace())
    ):
        return body  # already one trimmed line: the same string, not a copy
    first_line = body.strip().splitlines()[0].strip()
    if len(first_line) <= TITLE_MAX:
        return first_line
    return first_line[: TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"


def _error_dict(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {k: [m for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"": exc.messages}


State = tuple[str, str, dt.date | None, dt.date | None]


def sheet_state(rec: Recommendation) -> State:
    """What the sheet says about a recommendation's answer: (category, justification,
    planned date, deferred-until date), from its latest response."""
    if rec.status in (Status.IGNORED, Status.WITHDRAWN):
        return _state(rec.status, rec.close_reason, None)
    latest = rec.responses.order_by("-recorded_at", "-id").first()
    answer = (
        (latest.decision, latest.justification, latest.planned_for, latest.deferred_until)
        if latest is not None
        else None
    )
    return _state(rec.status, rec.close_reason, answer)


def _state(
    status: str, close_reason: str, latest: tuple[str, str, dt.date | None, dt.date | None] | None
) -> State:
    """``sheet_state`` of a recommendation with ``status`` and ``close_reason`` whose
    latest response is ``latest`` (decision, justification, planned, deferred until)."""
    if status == Status.IGNORED:
        return (IGNORED, "", None, None)
    if status == Status.WITHDRAWN:
        return (WITHDRAWN, close_reason, None, None)
    if latest is None:
        return (AWAITING, "", None, None)
    return latest


def _matches(state: State, row: _Row) -> bool:
    """Whether the row says what ``state`` says. A blank date says nothing: the row
    that had its date chosen by the policy default is unchanged when imported again."""
    category, justification, planned, deferred_until = state
    if row.category in (AWAITING, IGNORED):
        return state == (row.category, "", None, None)
    if row.category == WITHDRAWN:
        return category == WITHDRAWN and row.justification in ("", justification)
    return (
        category == row.category
        and justification == row.justification
        and (row.category != Decision.ACCEPTED or row.planned in (None, planned))
        and (row.category != Decision.DEFERRED or row.deferred_until in (None, deferred_until))
    )


__all__ = [
    "ImportReport",
    "RowError",
    "UnreadableFile",
    "sheet_layout",
    "sheet_state",
    "tracker_import",
]
