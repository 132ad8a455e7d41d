"""The batch path of the import against the one-by-one path through the services: the
same sheet must leave the same ledger, rows, counters and webhook messages, and the
batch must cost a bounded number of queries per row."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from clients.models import Client
from followup.models import OutboxMessage
from followup.services.webhooks import webhook_endpoint_create
from ledger.models import Event
from ledger.verify import verify_all
from recommendations import tallies
from recommendations.models import Recommendation, Response
from tracker.services import tracker_import
from tracker.tests.conftest import csv_bytes

pytestmark = pytest.mark.django_db

HEADER = (
    "Client;Recommendation;Date made;Response category;Decision date;Follow-up owner;"
    "Justification;Planned implementation date;Severity;External id"
)
# Every kind of row: each category, dates left blank for the policy to choose, an
# accepted row whose planned date lapsed long ago, apostrophes and accents, a refused
# row in the middle, and (with create_missing) a new client and a new owner, which
# take the one-by-one path between rows of the batch.
ROWS = [
    "Acme Dental;Enable MFA on the VPN;2025-01-15;Accepted;2025-01-20;ada;;2025-02-28;High;",
    "acme dental;Replace the unsupported Windows 7 PCs;2025-03-03;Rejected;;ada;"
    "Il titolare dice: costa troppo, l'anno prossimo;;;",
    "Bravo Legal;Keep an offsite copy of the backups;2025-03-05;Deferred;;marco;"
    "Budget next year;2026-09-01;Medium;BL-7",
    "Bravo Legal;Security awareness training;2025-03-06;;;;;;Low;",
    "Acme Dental;Disable SMBv1;2025-04-02;Ignored;;;;;;",
    "Acme Dental;Encrypt the laptops;2025-04-10;Deferred;;ada;Waiting for new hardware;;;",
    "Bravo Legal;Adopt a password manager;2025-04-10;Accepted;;marco;;;Critical;",
    "Acme Dental;Retire the old NAS;2025-05-01;Withdrawn;;;Replaced by the new backup;;;",
    "Acme Dental;Filter inbound e-mail;2025-05-02;Rejected;;;;;;",  # refused: no justification
    "Zeta Srl;Segment the guest Wi-Fi;2025-05-03;Accepted;;;;2027-01-31;High;",
    "Acme Dental;Rotate the Wi-Fi key;2025-05-04;Accepted;;Giulia Neri;;2026-12-01;;",
    "Bravo Legal;Label the patch panel;2025-05-05;Accepted;;;;2026-11-30;Low;",
]


def _snapshot(admin_pk: int) -> dict[str, Any]:
    recs = {r.pk: r for r in Recommendation.objects.select_related("client")}

    def name(rec_id: int | None) -> str | None:
        return f"{recs[rec_id].client.name}/{recs[rec_id].external_id}" if rec_id else None

    def data(event: Event) -> dict[str, Any]:
        # A contact the import adds has another id each time (PostgreSQL's sequences
        # are not rolled back).
        if event.kind == "contact.added":
            return {**event.data, "contact": "(the new contact)"}
        return event.data

    events = [
        (e.client.name, e.seq, e.kind, e.actor, e.at, name(e.recommendation_id), data(e))
        for e in Event.objects.select_related("client").order_by("client__name", "seq")
    ]
    rows = sorted(
        (
            name(r.pk),
            r.status,
            r.severity,
            r.owner.username if r.owner else None,
            r.created_at,
            r.presented_at,
            r.response_due_at,
            r.decided_at,
            r.planned_for,
            r.planned_date_lapsed_on,
            r.deferred_until,
            r.deferral_count,
            r.review_at,
            r.closed_at,
            r.close_reason,
            r.next_action_at,
            r.text_sha256,
            r.tags,
        )
        for r in recs.values()
    )
    responses = sorted(
        (
            name(r.recommendation_id),
            r.decision,
            r.justification,
            r.planned_for,
            r.deferred_until,
            r.channel,
            r.responder_name,
            r.recorded_by_id == admin_pk,
            r.shown_text_sha256,
            r.evidence_ref,
            r.recorded_at,
            r.ledger_seq,
        )
        for r in Response.objects.all()
    )
    uuids = {str(c.uuid): c.name for c in Client.objects.all()}

    def key(text: str) -> str:
        # A client the import adds gets a new uuid each time.
        return ":".join(uuids.get(part, part) for part in text.split(":"))

    outbox = sorted(
        (m.kind, key(m.idempotency_key), m.payload["subject"], m.created_at)
        for m in OutboxMessage.objects.all()
    )
    return {
        "events": events,
        "recommendations": rows,
        "responses": responses,
        "outbox": outbox,
        "tallies": _tallies(),
    }


def _tallies() -> tuple[dict[Any, int], dict[Any, int]]:
    """The stored counters, clients by name (a client the import adds gets a new id)."""
    names = dict(Client.objects.values_list("pk", "name"))
    by_client, by_day = tallies.stored()
    return {(names[c], s, sev): n for (c, s, sev), n in by_client.items()}, by_day


def _import_both_ways(sheet: bytes, admin: Any, now: dt.datetime, **options: Any) -> list[Any]:
    """Import ``sheet`` one by one, snapshot, roll back; then batched, snapshot."""
    results = []
    for batched in (False, True):
        with transaction.atomic():
            report = tracker_import(
                source=sheet, actor=admin, now=now, batched=batched, filename="t.csv", **options
            )
            assert verify_all().ok
            results.append(
                (
                    [str(e) for e in report.errors],
                    report.outcomes,
                    report.defaults,
                    report.summary(),
                    _snapshot(admin.pk),
                )
            )
            transaction.set_rollback(True)
    return results


def test_the_batch_leaves_the_same_ledger_rows_and_messages_as_the_one_by_one_path(world, now):
    admin = world["admin"]
    webhook_endpoint_create(
        name="SIEM", url="https://siem.example/hook", kind="standard", now=now, actor=admin
    )
    one_by_one, batched = _import_both_ways(
        csv_bytes(HEADER, *ROWS), admin, now, skip_invalid=True, create_missing=True
    )
    assert one_by_one[4]["events"], "the sheet must write something to compare"
    kinds = {kind for _, _, kind, *_ in one_by_one[4]["events"]}
    assert {
        "recommendation.created",
        "recommendation.present",
        "recommendation.accept",
        "recommendation.defer",
        "recommendation.reject",
        "recommendation.mark_ignored",
        "recommendation.withdraw",
        "recommendation.expire_planned_date",
        "tracker.imported",
    } <= kinds
    assert one_by_one[0] == ["row 10, column Justification: A rejection needs a justification."]
    assert one_by_one[4]["outbox"], "the webhook endpoint must hear of the imported history"
    for part in ("events", "recommendations", "responses", "outbox", "tallies"):
        assert batched[4][part] == one_by_one[4][part], part
    assert batched[:4] == one_by_one[:4]


def test_without_skip_invalid_the_batch_writes_nothing_and_refuses_alike(world, now):
    admin = world["admin"]
    before = (Recommendation.objects.count(), Event.objects.count(), Response.objects.count())
    one_by_one, batched = _import_both_ways(csv_bytes(HEADER, *ROWS), admin, now)
    assert batched[:4] == one_by_one[:4]
    assert "nothing was imported because a row was refused" in batched[3]
    report = tracker_import(source=csv_bytes(HEADER, *ROWS), actor=admin, now=now)
    assert not report.committed
    after = (Recommendation.objects.count(), Event.objects.count(), Response.objects.count())
    assert after == before


def test_a_second_import_of_an_updated_sheet_matches_the_one_by_one_path(world, now):
    admin = world["admin"]
    tracker_import(source=csv_bytes(HEADER, *ROWS[:8]), actor=admin, now=now, skip_invalid=True)
    changed = [
        ROWS[3].replace("2025-03-06;;;;;;Low;", "2025-03-06;Accepted;;;;2026-10-01;Low;"),
        *ROWS[:3],
        *ROWS[4:8],
        "Bravo Legal;A brand new row after the update;2025-06-01;;;;;;;",
    ]
    one_by_one, batched = _import_both_ways(csv_bytes(HEADER, *changed), admin, now)
    assert "updated 1" in one_by_one[3] and "created 1" in one_by_one[3]
    for part in ("events", "recommendations", "responses", "tallies"):
        assert batched[4][part] == one_by_one[4][part], part
    assert batched[:4] == one_by_one[:4]


def _sheet(rows: int, name: str = "Recommendation") -> bytes:
    lines = []
    for i in range(rows):
        client = ("Acme Dental", "Bravo Legal")[i % 2]
        made = dt.date(2025, 1, 1) + dt.timedelta(days=i % 300)
        category, extra = [
            ("Accepted", ";;2026-12-01"),
            ("Deferred", ";Budget;2026-10-01"),
            ("Rejected", ";Too costly, dice l'ufficio;"),
            ("", ";;"),
        ][i % 4]
        lines.append(f"{client};{name} n° {i};{made};{category};;ada{extra};High;")
    return csv_bytes(HEADER, *lines)


def _queries(sheet: bytes, admin: Any, now: dt.datetime) -> int:
    with CaptureQueriesContext(connection) as ctx:
        report = tracker_import(source=sheet, actor=admin, now=now)
    assert report.committed and report.refused == 0
    return len(ctx.captured_queries)


def test_the_first_import_costs_a_bounded_number_of_queries_per_row(world, now):
    admin = world["admin"]
    small = _queries(_sheet(20, "Check"), admin, now)
    large = _queries(_sheet(80, "Patch"), admin, now)
    # The one-by-one path costs about 22 queries a row (1,300 more for 60 more rows);
    # the batch a few per client and per few hundred rows (28 and 32 when written).
    assert (large - small) / 60 <= 0.25, (small, large)


def test_an_unchanged_reimport_costs_no_query_per_row(world, now):
    admin = world["admin"]
    sheet_small, sheet_large = _sheet(20), _sheet(80)
    tracker_import(source=sheet_large, actor=admin, now=now)
    small = _queries(sheet_small, admin, now)
    large = _queries(sheet_large, admin, now)
    assert large - small <= 2, (small, large)
