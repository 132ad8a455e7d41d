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
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from accounts.choices import Role
from accounts.models import User
from accounts.permissions import Capability, allows, require
from clients.models import Client
from clients.selectors import client_list_for
from clients.services import client_create, contact_create
from ledger.actors import actor_label
from ledger.models import Head
from ledger.services import event_append
from lib.errors import ServiceError
from recommendations import deadlines
from recommendations.choices import Channel, Decision, Status
from recommendations.lifecycle import LifecycleError
from recommendations.models import Recommendation
from recommendations.services import (
    recommendation_create,
    recommendation_expire_planned_date,
    recommendation_mark_ignored,
    recommendation_present,
    response_record,
)
from tracker.columns import HEADERS, REQUIRED, Column, fold, recognise
from tracker.reader import Sheet, UnreadableFile, read_sheet
from tracker.values import (
    AWAITING,
    IGNORED,
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

# Where a service's field error belongs in the sheet.
_FIELD_COLUMNS = {
    "title": Column.RECOMMENDATION,
    "body": Column.RECOMMENDATION,
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
    text: str
    date_made: dt.date
    category: str
    owner: str
    justification: str
    planned: dt.date | None
    severity: str
    tags: list[str]
    deferred_until: dt.date | None
    external_id: str


class _Refused(ServiceError):
    """A refused row; ``column`` is the sheet column at fault (also ``field``)."""

    def __init__(self, column: Column, message: str) -> None:
        super().__init__(message, field=str(column))
        self.column = column


def stable_external_id(*, client_name: str, text: str, date_made: dt.date) -> str:
    """The id of a row that has none: a hash of what identifies it in the sheet, so the
    same row imported again finds the same recommendation."""
    key = f"{fold(client_name)}\n{' '.join(text.split())}\n{date_made.isoformat()}"
    return "sheet-" + hashlib.sha256(key.encode()).hexdigest()[:20]


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
) -> ImportReport:
    """Import a CSV or XLSX tracker sheet given as bytes or as a path (str or Path).

    Every row is checked and counted. The rows are written only when this is not a dry
    run and either no row was refused or ``skip_invalid`` is set; otherwise the one
    transaction is rolled back. Raise UnreadableFile when the file as a whole cannot be
    read (no header, a required column missing, not CSV/XLSX), and PermissionDenied for
    a read-only account.
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
    parsed = read_sheet(data, filename=filename, sheet=sheet)
    report = ImportReport(
        filename=filename or "upload", file_sha256=hashlib.sha256(data).hexdigest(), dry_run=dry_run
    )
    importer = _Importer(parsed, report, actor=actor, now=now, create_missing=create_missing)
    with transaction.atomic():
        importer.run()
        report.committed = not dry_run and (skip_invalid or report.refused == 0)
        if not report.committed:
            transaction.set_rollback(True)
    return report


class _Importer:
    def __init__(
        self,
        sheet: Sheet,
        report: ImportReport,
        *,
        actor: User,
        now: dt.datetime,
        create_missing: bool,
    ) -> None:
        self.sheet = sheet
        self.report = report
        self.actor = actor
        self.now = now
        self.create_missing = create_missing
        self.index: dict[Column, int] = {}
        self.names: dict[Column, str] = {}
        for position, header in enumerate(sheet.headers):
            column = recognise(header)
            if column is None:
                continue
            if column in self.index:
                raise UnreadableFile(
                    f"Columns {self.names[column]!r} and {header!r} both mean "
                    f"{HEADERS['en'][column].lower()}; keep one."
                )
            self.index[column] = position
            self.names[column] = header
        missing = [HEADERS["en"][c] for c in REQUIRED if c not in self.index]
        if missing:
            raise UnreadableFile(
                f"The sheet has no {' or '.join(missing)} column "
                f"(recognised headers include {', '.join(HEADERS['en'].values())} "
                f"and {', '.join(HEADERS['it'].values())})."
            )
        # A technician imports into the clients they are assigned to; any other name
        # reads as unknown, so the sheet cannot probe for clients they may not see.
        self.clients = {fold(c.name): c for c in client_list_for(actor)}
        self.clients.update({fold(c.slug): c for c in self.clients.values()})
        self.users: dict[str, User] = {}
        for user in User.objects.all():
            for key in (user.username, user.email, user.get_full_name()):
                if key:
                    self.users.setdefault(fold(key), user)

    def column_name(self, column: Column) -> str:
        return self.names.get(column) or HEADERS["en"][column]

    def refuse(self, number: int, column: Column, message: str) -> None:
        self.report.errors.append(RowError(number, self.column_name(column), message))

    def run(self) -> None:
        rows: list[_Row] = []
        for number, cells in self.sheet.rows:
            self.report.rows += 1
            row = self.parse(number, cells)
            if row is None:
                self.report.refused += 1
            else:
                rows.append(row)
        self.sheet.rows = []  # the parsed rows replace the raw cells
        seen: dict[tuple[str, str], int] = {}
        # Oldest first, so each client's chain tells the imported history in order.
        for row in sorted(rows, key=lambda r: (r.date_made, r.number)):
            key = (fold(row.client), row.external_id)
            if key in seen:
                self.refuse(
                    row.number,
                    Column.EXTERNAL_ID
                    if Column.EXTERNAL_ID in self.index
                    else Column.RECOMMENDATION,
                    f"duplicate of row {seen[key]}; each recommendation may appear once.",
                )
                self.report.refused += 1
                continue
            seen[key] = row.number
            self.added: list[tuple[dict, str]] = []
            try:
                with transaction.atomic():
                    outcome = self.apply(row)
            except _Refused as exc:
                # What this row created was rolled back with its savepoint.
                for cache, key in self.added:
                    cache.pop(key, None)
                self.refuse(row.number, exc.column, exc.message)
                self.report.refused += 1
                continue
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)
            self.report.outcomes.append((row.number, outcome, row.external_id))
        self.report.errors.sort(key=lambda e: e.row)
        self.report.outcomes.sort()

    # --- reading a row ---------------------------------------------------------------

    def parse(self, number: int, cells: list[object]) -> _Row | None:
        errors = len(self.report.errors)

        def cell(column: Column) -> object:
            position = self.index.get(column)
            if position is None or position >= len(cells):
                return None
            value = cells[position]
            return None if value == "" else value

        def parsed(column: Column, parser, *args):  # type: ignore[no-untyped-def]
            try:
                return parser(cell(column), *args)
            except BadValue as exc:
                self.refuse(number, column, exc.message)
                return None

        client = text(cell(Column.CLIENT))
        body = text(cell(Column.RECOMMENDATION))
        if not client:
            self.refuse(number, Column.CLIENT, "the client is missing.")
        if not body:
            self.refuse(number, Column.RECOMMENDATION, "the recommendation is missing.")
        date_made = parsed(Column.DATE_MADE, parse_date)
        if date_made is None and len(self.report.errors) == errors:
            self.refuse(
                number, Column.DATE_MADE, "the date the recommendation was made is missing."
            )
        elif date_made is not None and date_made > self.now.date():
            self.refuse(number, Column.DATE_MADE, f"{date_made.isoformat()} is in the future.")
        category = parsed(Column.CATEGORY, parse_category)
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
            client_name=client, text=body, date_made=date_made
        )
        return _Row(
            number=number,
            client=client,
            text=body,
            date_made=date_made,
            category=category or AWAITING,
            owner=text(cell(Column.OWNER)),
            justification=text(cell(Column.JUSTIFICATION)),
            planned=planned,
            severity=severity or "medium",
            tags=parse_tags(cell(Column.TAGS)),
            deferred_until=deferred_until,
            external_id=external_id,
        )

    # --- writing a row ---------------------------------------------------------------

    def apply(self, row: _Row) -> str:
        client = self.client_for(row)
        owner = self.owner_for(row)
        existing = Recommendation.objects.filter(client=client, external_id=row.external_id).first()
        try:
            if existing is None:
                rec = self.create(row, client, owner)
                outcome = "created"
            else:
                rec = existing
                if sheet_state(rec) == _row_state(row):
                    return "unchanged"
                self.answer(rec, row, at=self.now)
                outcome = "updated"
        except LifecycleError as exc:
            raise _Refused(
                _FIELD_COLUMNS.get(exc.field or "", Column.CATEGORY), exc.message
            ) from None
        except ValidationError as exc:
            field_name, messages = next(iter(_error_dict(exc).items()))
            column = _FIELD_COLUMNS.get(field_name, Column.RECOMMENDATION)
            raise _Refused(column, " ".join(messages)) from None
        head = Head.objects.get(client=client)
        event_append(
            client=client,
            kind="tracker.imported",
            actor=actor_label(self.actor),
            at=self.now,
            recommendation_id=rec.pk,
            data={
                "file_sha256": self.report.file_sha256,
                "filename": self.report.filename,
                "row": row.number,
                "external_id": row.external_id,
                "outcome": outcome,
                "through_seq": head.seq,
            },
        )
        return outcome

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

    def owner_for(self, row: _Row) -> User | None:
        if not row.owner:
            return None
        user = self.users.get(fold(row.owner))
        if user is not None:
            return user
        if not self.create_missing:
            raise _Refused(
                Column.OWNER,
                f"no staff member is called {row.owner!r} (use --create-missing to add them).",
            )
        username = row.owner.lower() if "@" not in row.owner else row.owner.split("@")[0].lower()
        username = slugify(username).replace("-", ".")[:150] or "owner"
        if User.objects.filter(username=username).exists():
            raise _Refused(Column.OWNER, f"the username {username!r} is taken by someone else.")
        first, _, last = row.owner.partition(" ") if "@" not in row.owner else ("", "", "")
        user = User(
            username=username,
            email=row.owner if "@" in row.owner else "",
            first_name=first[:150],
            last_name=last[:150],
            role=Role.TECHNICIAN,
        )
        # No password: they sign in once an admin sets one or sends a reset link.
        user.set_unusable_password()
        user.save()
        self.users[fold(row.owner)] = user
        self.added.append((self.users, fold(row.owner)))
        return user

    def create(self, row: _Row, client: Client, owner: User | None) -> Recommendation:
        made_at = dt.datetime.combine(row.date_made, dt.time(12), tzinfo=client.tz)
        title = _title(row.text)
        rec = recommendation_create(
            client=client,
            actor=self.actor,
            now=made_at,
            title=title,
            body=row.text,
            severity=row.severity,
            tags=row.tags,
            owner=owner,
            external_id=row.external_id,
        )
        # The client was told back then: presenting imported history must not e-mail
        # them now, years later, nor make signed answer links.
        rec = recommendation_present(
            recommendation=rec, actor=self.actor, now=made_at, notify_client=False
        )
        if row.category:
            rec = self.answer(rec, row, at=made_at)
        return rec

    def answer(self, rec: Recommendation, row: _Row, *, at: dt.datetime) -> Recommendation:
        if row.category == AWAITING:
            raise _Refused(
                Column.CATEGORY,
                "the response category is blank, but a response is already recorded; "
                "an answer cannot be taken back, only replaced by a new one.",
            )
        if row.category == IGNORED:
            return recommendation_mark_ignored(
                recommendation=rec, now=at, actor=self.actor, reason="imported spreadsheet"
            )
        response_record(
            recommendation=rec,
            decision=row.category,
            channel=Channel.IMPORT,
            now=at,
            recorded_by=self.actor,
            responder_name=RESPONDER_NAME,
            justification=row.justification,
            planned_for=row.planned,
            deferred_until=row.deferred_until,
            evidence_ref=f"sha256:{self.report.file_sha256}#row={row.number}",
        )
        if row.category == Decision.ACCEPTED and row.planned and row.planned < self.now.date():
            # The planned date passed long ago: record its lapse as of the day after.
            lapse_at = deadlines.planned_date_lapses_at(row.planned, rec.client.tz)
            if lapse_at <= self.now:
                rec = recommendation_expire_planned_date(
                    recommendation=rec, now=lapse_at, actor=self.actor
                )
        return rec


def _title(body: str) -> str:
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
    if rec.status == Status.IGNORED:
        return (IGNORED, "", None, None)
    latest = rec.responses.order_by("-recorded_at", "-id").first()
    if latest is None:
        return (AWAITING, "", None, None)
    return (latest.decision, latest.justification, latest.planned_for, latest.deferred_until)


def _row_state(row: _Row) -> State:
    if row.category in (AWAITING, IGNORED):
        return (row.category, "", None, None)
    return (
        row.category,
        row.justification,
        row.planned if row.category == Decision.ACCEPTED else None,
        row.deferred_until if row.category == Decision.DEFERRED else None,
    )


__all__ = ["ImportReport", "RowError", "UnreadableFile", "sheet_state", "tracker_import"]
