from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import AuditEvent, User
from answers.models import AnswerLink
from clients.models import Client
from followup.models import OutboxMessage
from ledger.models import Event
from ledger.verify import verify_all
from recommendations.models import Recommendation, Response
from tracker.reader import UnreadableFile
from tracker.services import tracker_import
from tracker.tests.conftest import csv_bytes

pytestmark = pytest.mark.django_db

MESSY_ERRORS = [
    "row 3, column Giustificazione: A rejection needs a justification.",
    "row 6, column Recommendation: duplicate of row 2; each recommendation may appear once.",
    "row 7, column Data: '31/02/2025' is not a real date.",
    "row 8, column Cliente: no client is called 'Zeta Srl' (use --create-missing to add it).",
    "row 9, column Follow-up owner: no staff member is called 'Giovanni Verdi' "
    "(use --create-missing to add them).",
    "row 11, column Planned implementation date: "
    "The planned implementation date cannot be in the past.",
    "row 13, column Categoria di risposta: 'maybe' is not a response category; use Accepted, "
    "Deferred, Rejected, Ignored, Withdrawn (or Accettata, Posticipata, Rifiutata, Ignorata, "
    "Ritirata), or leave it blank.",
]


def _stored() -> tuple[int, int, int, int]:
    return (
        Recommendation.objects.count(),
        Response.objects.count(),
        Event.objects.count(),
        OutboxMessage.objects.count(),
    )


def test_it_reports_every_bad_row_of_a_messy_sheet_and_imports_nothing(world, messy, now):
    before = _stored()
    report = tracker_import(source=messy, filename="messy.csv", actor=world["admin"], now=now)
    assert [str(e) for e in report.errors] == MESSY_ERRORS
    assert (report.created, report.unchanged, report.updated, report.refused) == (4, 0, 0, 7)
    assert not report.committed
    assert _stored() == before


def test_a_dry_run_writes_nothing_even_when_every_row_is_valid(world, now):
    sheet = csv_bytes("Client,Recommendation,Date made", "Acme Dental,Enable MFA,2025-01-10")
    before = _stored()
    report = tracker_import(source=sheet, actor=world["admin"], now=now, dry_run=True)
    assert (report.created, report.refused, report.committed) == (1, 0, False)
    assert report.summary() == (
        "dry run of upload: created 1, unchanged 0, updated 0, refused 0; nothing was written"
    )
    assert _stored() == before


def test_skip_invalid_imports_the_good_rows_with_their_history(world, messy, now):
    report = tracker_import(
        source=messy, filename="messy.csv", actor=world["admin"], now=now, skip_invalid=True
    )
    assert report.committed and (report.created, report.refused) == (4, 7)
    mfa = Recommendation.objects.get(title="Enable MFA on the VPN")
    assert mfa.status == "accepted" and mfa.severity == "high"
    assert mfa.planned_date_lapsed_on == dt.date(2025, 2, 28)
    assert mfa.created_at.date() == dt.date(2025, 1, 15) and mfa.owner == world["admin"]
    response = mfa.responses.get()
    assert response.channel == "import" and response.recorded_by == world["admin"]
    assert response.evidence_ref == f"sha256:{report.file_sha256}#row=2"
    backups = Recommendation.objects.get(title__startswith="Keep an offsite copy")
    assert backups.status == "deferred" and backups.deferred_until == dt.date(2026, 9, 1)
    training = Recommendation.objects.get(title="Security awareness training")
    assert training.status == "awaiting_response"
    assert training.presented_at.date() == dt.date(2025, 3, 4)
    # Presenting history must not e-mail the client today, nor issue answer links.
    assert not OutboxMessage.objects.exists() and not AnswerLink.objects.exists()
    marks = Event.objects.filter(kind="tracker.imported").order_by("data__row")
    assert [(e.data["row"], e.data["outcome"]) for e in marks] == [
        (2, "created"),
        (4, "created"),
        (5, "created"),
        (10, "created"),
    ]
    assert {e.data["file_sha256"] for e in marks} == {report.file_sha256}
    assert verify_all().ok


def test_importing_the_same_file_again_changes_nothing(world, messy, now):
    tracker_import(source=messy, actor=world["admin"], now=now, skip_invalid=True)
    before = _stored()
    again = tracker_import(source=messy, actor=world["admin"], now=now, skip_invalid=True)
    assert (again.created, again.unchanged, again.updated, again.refused) == (0, 4, 0, 7)
    assert _stored() == before


def test_a_changed_answer_is_recorded_as_a_new_response(world, now):
    header = "Client,Recommendation,Date made,Response category,Justification,Planned date"
    first = csv_bytes(header, "Acme Dental,Enable MFA,2025-01-10,Rejected,Too costly,")
    tracker_import(source=first, actor=world["admin"], now=now)
    second = csv_bytes(header, "Acme Dental,Enable MFA,2025-01-10,Accepted,,2026-04-30")
    report = tracker_import(source=second, actor=world["admin"], now=now)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    rec = Recommendation.objects.get()
    assert [r.decision for r in rec.responses.all()] == ["rejected", "accepted"]
    assert rec.status == "accepted" and rec.planned_for == dt.date(2026, 4, 30)
    blank = csv_bytes(header, "Acme Dental,Enable MFA,2025-01-10,,,")
    report = tracker_import(source=blank, actor=world["admin"], now=now)
    assert [str(e) for e in report.errors] == [
        "row 2, column Response category: the response category is blank, but a response is "
        "already recorded; an answer cannot be taken back, only replaced by a new one."
    ]
    assert rec.responses.count() == 2


def test_create_missing_adds_clients_and_owners(world, now):
    sheet = csv_bytes(
        "Cliente;Raccomandazione;Data;Responsabile del follow-up",
        "Zeta Srl;Segment the guest Wi-Fi;2025-01-01;Giovanni Verdi",
    )
    report = tracker_import(source=sheet, actor=world["admin"], now=now, create_missing=True)
    assert report.created == 1, report.errors
    rec = Recommendation.objects.get(client__name="Zeta Srl")
    assert rec.owner.get_full_name() == "Giovanni Verdi" and not rec.owner.has_usable_password()
    assert verify_all().ok
    (audit,) = AuditEvent.objects.all()
    assert (audit.kind, audit.actor, audit.user, audit.at) == (
        "user.created",
        "staff:ada",
        rec.owner,
        now,
    )


@pytest.mark.parametrize("role", ["manager", "technician"])
def test_only_an_admin_may_add_staff_accounts_by_import(request, client_a, now, role):
    actor = request.getfixturevalue(role)
    sheet = csv_bytes(
        "Client,Recommendation,Date made,Follow-up owner",
        "Acme Dental,Segment the guest Wi-Fi,2025-01-01,Giovanni Verdi",
    )
    users_before = User.objects.count()
    report = tracker_import(source=sheet, actor=actor, now=now, create_missing=True)
    assert [str(e) for e in report.errors] == [
        "row 2, column Follow-up owner: no staff member is called 'Giovanni Verdi'; only an "
        "admin may add staff accounts."
    ]
    assert User.objects.count() == users_before and not AuditEvent.objects.exists()
    assert not Recommendation.objects.filter(title="Segment the guest Wi-Fi").exists()


def test_a_technician_cannot_import_into_a_client_they_do_not_see(technician, contact_b, now):
    sheet = csv_bytes("Client,Recommendation,Date made", "Bravo Legal,Enable MFA,2025-01-10")
    report = tracker_import(source=sheet, actor=technician, now=now, create_missing=True)
    assert [str(e) for e in report.errors] == [
        "row 2, column Client: no client is called 'Bravo Legal'; only an admin or an account "
        "manager may add clients."
    ]
    assert Client.objects.count() == 2 and not Recommendation.objects.exists()


def test_an_auditor_may_not_import(auditor, now):
    with pytest.raises(PermissionDenied):
        tracker_import(source=b"Client,Recommendation,Date made\r\n", actor=auditor, now=now)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"Client;Notes\r\nAcme;x\r\n", "The sheet has no Recommendation or Date made column"),
        (b"Client,Cliente,Recommendation,Date\r\n", "Columns 'Client' and 'Cliente' both mean"),
        (b"PK\x03\x04garbage", "The workbook cannot be read"),
    ],
)
def test_an_unreadable_file_is_refused_as_a_whole(world, now, data, message):
    with pytest.raises(UnreadableFile, match=message):
        tracker_import(source=data, actor=world["admin"], now=now)
    assert not Recommendation.objects.exists()


UNDATED = "Client,Recommendation,Date made,Response category,Justification,Severity"


def test_a_deferral_without_a_date_is_deferred_to_the_policy_review_horizon(world, now):
    sheet = csv_bytes(
        UNDATED,
        "Acme Dental,Encrypt the laptops,2026-02-10,Deferred,Waiting for the new hardware,",
    )
    report = tracker_import(source=sheet, actor=world["admin"], now=now)
    assert report.ok and report.defaults == [
        (2, "no date; deferred to 2027-02-10, the policy default")
    ]
    rec = Recommendation.objects.get()
    assert (rec.status, rec.deferred_until) == ("deferred", dt.date(2027, 2, 10))
    mark = Event.objects.get(kind="tracker.imported")
    assert mark.data["defaulted_by_import"] == {"deferred_until": "2027-02-10"}
    assert verify_all().ok
    # The blank date does not contradict the chosen one: importing again changes nothing.
    before = _stored()
    again = tracker_import(source=sheet, actor=world["admin"], now=now)
    assert (again.unchanged, again.updated, again.defaults) == (1, 0, [])
    assert _stored() == before


def test_the_deferral_default_follows_the_clients_own_policy(world, now):
    from clients.models import Client, ClientPolicy

    acme = Client.objects.get(name="Acme Dental")
    ClientPolicy.objects.create(client=acme, tier="Gold", rejection_review_months=6)
    sheet = csv_bytes(UNDATED, "Acme Dental,Encrypt the laptops,2026-02-10,Deferred,Budget,")
    report = tracker_import(source=sheet, actor=world["admin"], now=now)
    assert report.defaults == [(2, "no date; deferred to 2026-08-10, the policy default")]


def test_an_acceptance_without_a_date_is_planned_within_the_response_window(world, now):
    sheet = csv_bytes(
        UNDATED,
        # Critical: 7 days, already past at the import, so its lapse is recorded too.
        "Acme Dental,Patch the firewall,2026-02-20,Accepted,,critical",
        "Acme Dental,Filter inbound e-mail,2026-02-25,Accettata,,",
    )
    report = tracker_import(source=sheet, actor=world["admin"], now=now)
    assert report.defaults == [
        (
            2,
            "no date; planned for 2026-02-27, the policy default, "
            "already past (recorded as lapsed)",
        ),
        (3, "no date; planned for 2026-03-11, the policy default"),
    ]
    firewall = Recommendation.objects.get(title="Patch the firewall")
    assert firewall.planned_for == firewall.planned_date_lapsed_on == dt.date(2026, 2, 27)
    mail = Recommendation.objects.get(title="Filter inbound e-mail")
    assert (mail.status, mail.planned_for) == ("accepted", dt.date(2026, 3, 11))


def test_an_old_undated_deferral_keeps_its_past_default_for_the_sweep_to_ask_again(world, now):
    from clients.policy import policy_for
    from recommendations.deadlines import next_step

    sheet = csv_bytes(UNDATED, "Bravo Legal,Offsite backups,12/05/2023,Posticipata,Budget,")
    report = tracker_import(source=sheet, actor=world["admin"], now=now)
    assert report.defaults == [
        (
            2,
            "no date; deferred to 2024-05-11, the policy default, already past "
            "(the follow-up sweep will ask the client again)",
        )
    ]
    rec = Recommendation.objects.get()
    assert rec.status == "deferred" and next_step(rec, policy_for(rec.client)).at < now


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (
            "Acme Dental,Encrypt,2025-03-10,Deferred,Budget,,2025-03-01,",
            "row 2, column Deferred until: The deferral date must be in the future.",
        ),
        (
            "Acme Dental,Encrypt,2025-03-10,Deferred,Budget,,31/02/2026,",
            "row 2, column Deferred until: '31/02/2026' is not a real date.",
        ),
        (
            "Acme Dental,Encrypt,2025-03-10,Rejected,Too costly,,,2025-03-09",
            "row 2, column Decided on: the decision (2025-03-09) cannot come before the "
            "recommendation was made (2025-03-10).",
        ),
        (
            "Acme Dental,Encrypt,2025-03-10,,,,,2025-03-11",
            "row 2, column Decided on: a decision date needs a response category; fill in the "
            "category or clear the date.",
        ),
    ],
)
def test_wrong_dates_are_still_refused(world, now, row, error):
    header = (
        "Client,Recommendation,Date made,Response category,Justification,Severity,"
        "Deferred until,Decided on"
    )
    report = tracker_import(source=csv_bytes(header, row), actor=world["admin"], now=now)
    assert [str(e) for e in report.errors] == [error]
    assert report.defaults == [] and not Recommendation.objects.exists()


def test_the_decision_is_recorded_on_its_own_date(world, now):
    sheet = csv_bytes(
        "Client,Recommendation,Date made,Response category,Justification,Decided on",
        "Bravo Legal,Offsite backups,2025-03-05,Rejected,Troppo caro per quest'anno,2025-04-01",
    )
    tracker_import(source=sheet, actor=world["admin"], now=now)
    rec = Recommendation.objects.get()
    local = rec.client.tz
    assert rec.decided_at.astimezone(local) == dt.datetime(2025, 4, 1, 12, tzinfo=local)
    assert rec.review_at.astimezone(local).date() == dt.date(2026, 4, 1)


def test_an_owner_is_found_by_username_first_and_created_with_it(world, now):
    from accounts.models import User

    # "m.arco" folds to the same letters as the manager's username "marco".
    other = User.objects.create_user(username="m.arco", role="technician", first_name="Mârco")
    sheet = csv_bytes(
        "Client,Recommendation,Date made,Follow-up owner",
        "Acme Dental,Enable MFA,2025-01-10,m.arco",
        "Acme Dental,Patch the firewall,2025-01-11,MARCO",
        "Acme Dental,Disable SMBv1,2025-01-12,marco.verdi",
        "Acme Dental,Filter e-mail,2025-01-13,Giovanni D'Angelo",
        "Acme Dental,Offsite backups,2025-01-14,luca.bianchi@msp.example",
    )
    report = tracker_import(source=sheet, actor=world["admin"], now=now, create_missing=True)
    assert report.created == 5, report.errors
    owners = dict(Recommendation.objects.values_list("title", "owner__username"))
    assert owners == {
        "Enable MFA": other.username,
        "Patch the firewall": "marco",
        "Disable SMBv1": "marco.verdi",
        "Filter e-mail": "giovanni.dangelo",
        "Offsite backups": "luca.bianchi",
    }
    assert User.objects.get(username="luca.bianchi").email == "luca.bianchi@msp.example"
