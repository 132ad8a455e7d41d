"""The staff pages: a client's QBR, its delivery, stored reports and the portfolio."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.models import Anchor
from reports.models import DeliveredReport

from .conftest import REPORT_NOW

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(REPORT_NOW, tick=False)


def test_a_manager_sees_the_qbr_of_a_client(scene, client_a, manager, client):
    client.force_login(manager)
    page = client.get(f"/reports/clients/{client_a.pk}/?period=2026-Q1")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Security review: Acme Dental" in html
    assert "50.0%" in html and "3 accepted of 6 decided" in html
    for key in ("mfa", "edr", "backup", "laps", "wifi", "dmarc"):
        assert scene[key].title.replace("'", "&#x27;") in html
    assert 'aria-current="page">Reports<' in html
    # No style attribute or inline script: the page keeps the strict CSP.
    assert " style=" not in html and "<script>" not in html


def test_the_current_quarter_is_the_default_period(scene, client_a, manager, client):
    client.force_login(manager)
    html = client.get(f"/reports/clients/{client_a.pk}/").content.decode()
    assert "(2026-Q1)" in html


def test_a_bad_period_is_refused_with_its_reason(client_a, manager, client):
    client.force_login(manager)
    page = client.get(f"/reports/clients/{client_a.pk}/?period=2026-13")
    assert page.status_code == 400
    assert "period: month must be 01 to 12, got &#x27;13&#x27;" in page.content.decode()


def test_a_technician_not_assigned_to_the_client_gets_404(client_a, client_b, technician, client):
    client.force_login(technician)
    assert client.get(f"/reports/clients/{client_b.pk}/").status_code == 404
    assert (
        client.post(f"/reports/clients/{client_b.pk}/deliver/", {"period": "2026-Q1"}).status_code
        == 404
    )
    assert client.get(f"/reports/clients/{client_a.pk}/").status_code == 200


def test_delivering_stores_the_pdf_once_and_downloads_serve_the_stored_bytes(
    scene, client_a, manager, client
):
    client.force_login(manager)
    answer = client.post(f"/reports/clients/{client_a.pk}/deliver/", {"period": "2026-Q1"})
    assert answer.status_code == 302
    assert answer["Location"] == f"/reports/clients/{client_a.pk}/?period=2026-Q1"
    report = DeliveredReport.objects.get()
    assert bytes(report.content).startswith(b"%PDF-")
    assert report.created_by == manager and report.channel == "web"
    assert Anchor.objects.filter(client=client_a, purpose="qbr report").count() == 1
    download = client.get(f"/reports/delivered/{report.pk}/")
    assert download.content == bytes(report.content)
    assert download["X-Content-SHA256"] == hashlib.sha256(download.content).hexdigest()
    page = client.get(f"/reports/clients/{client_a.pk}/?period=2026-Q1").content.decode()
    assert f"/reports/delivered/{report.pk}/" in page


def test_a_read_only_auditor_may_read_but_not_deliver(scene, client_a, auditor, client):
    client.force_login(auditor)
    assert client.get(f"/reports/clients/{client_a.pk}/").status_code == 200
    answer = client.post(f"/reports/clients/{client_a.pk}/deliver/", {"period": "2026-Q1"})
    assert answer.status_code == 403
    assert not DeliveredReport.objects.exists()


def test_another_clients_stored_report_is_404_for_an_unassigned_technician(
    client_a, client_b, technician, manager, client
):
    from reports.periods import parse_period
    from reports.services import report_deliver

    report = report_deliver(
        client=client_b,
        period=parse_period("2026-03"),
        fmt="html",
        now=REPORT_NOW,
        actor=manager,
        channel="web",
    )
    client.force_login(technician)
    assert client.get(f"/reports/delivered/{report.pk}/").status_code == 404


def test_the_portfolio_ranks_clients_and_reads_a_fixed_number_of_queries(
    scene, client_a, client_b, manager, client
):
    client.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("Acme Dental") < html.index("Bravo Legal")
    assert len(queries) <= 12
    pdf = client.get("/reports/portfolio.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")


def test_an_open_item_without_a_follow_up_owner_is_listed_with_a_dash(
    client_a, contact_a, admin, manager, client
):
    from recommendations.services import recommendation_create, recommendation_present

    rec = recommendation_create(
        client=client_a,
        title="Enable BitLocker on the reception laptop",
        body="Encrypt the disk.",
        severity="high",
        actor=admin,
        now=REPORT_NOW - dt.timedelta(days=40),
    )
    recommendation_present(recommendation=rec, actor=admin, now=REPORT_NOW - dt.timedelta(days=39))
    client.force_login(manager)
    html = client.get(f"/reports/clients/{client_a.pk}/?period=2026-Q1").content.decode()
    item = html[html.index(f"<b>#{rec.pk} ") :]
    item = item[: item.index("</p>")]
    assert "Enable BitLocker on the reception laptop" in item
    assert "Overdue" in item
    assert item.endswith(" · \u2013")


def test_the_client_page_links_to_its_qbr(client_a, manager, client):
    client.force_login(manager)
    html = client.get(f"/clients/{client_a.pk}/").content.decode()
    assert f'href="/reports/clients/{client_a.pk}/"' in html


# --- the report schedule -------------------------------------------------------------


def _schedule_post(client, client_obj, **fields):
    return client.post(f"/reports/clients/{client_obj.pk}/schedule/", fields)


def test_a_manager_sets_the_schedule_from_the_reports_page(client_a, contact_a, manager, client):
    from reports.models import ReportSchedule

    client.force_login(manager)
    page = client.get(f"/reports/clients/{client_a.pk}/")
    assert f'action="/reports/clients/{client_a.pk}/schedule/"' in page.content.decode()

    answer = _schedule_post(client, client_a, quarterly="on", contacts=[str(contact_a.pk)])

    assert answer.status_code == 302
    schedule = ReportSchedule.objects.get(client=client_a)
    assert (schedule.monthly, schedule.quarterly, schedule.open_risks) == (False, True, False)
    assert list(schedule.contacts.all()) == [contact_a]
    assert not schedule.to_account_owner
    html = client.get(f"/reports/clients/{client_a.pk}/").content.decode()
    assert f'name="contacts" value="{contact_a.pk}" checked' in html


def test_a_schedule_naming_another_clients_contact_is_refused(
    client_a, contact_a, contact_b, manager, client
):
    from reports.models import ReportSchedule

    client.force_login(manager)
    answer = _schedule_post(client, client_a, monthly="on", contacts=[str(contact_b.pk)])

    assert answer.status_code == 302
    assert not ReportSchedule.objects.exists()
    messages = [str(m) for m in answer.wsgi_request._messages]
    assert messages == [f"contacts: Contact {contact_b.pk} is not a contact of this client."]


def test_a_schedule_with_a_contact_that_is_not_a_number_is_refused(client_a, manager, client):
    from reports.models import ReportSchedule

    client.force_login(manager)
    answer = _schedule_post(client, client_a, monthly="on", contacts=["D'Angelo"])

    assert answer.status_code == 302
    assert not ReportSchedule.objects.exists()


def test_an_auditor_may_not_set_a_schedule(client_a, contact_a, auditor, client):
    client.force_login(auditor)
    answer = _schedule_post(client, client_a, monthly="on", contacts=[str(contact_a.pk)])
    assert answer.status_code == 403


def test_the_schedule_of_a_client_not_assigned_is_404(
    client_a, contact_a, technician, client_b, client
):
    client.force_login(technician)
    answer = _schedule_post(client, client_b, monthly="on", to_account_owner="on")
    assert answer.status_code == 404


# --- the evidence pack download ------------------------------------------------------


def _pack_post(client, client_obj, **fields):
    return client.post(f"/reports/clients/{client_obj.pk}/evidence-pack/", fields)


def test_a_manager_downloads_the_evidence_pack_and_the_download_is_on_the_ledger(
    scene, client_a, manager, client
):
    import io
    import zipfile

    from ledger.models import Event

    client.force_login(manager)
    answer = _pack_post(client, client_a, recommendation=str(scene["mfa"].pk))

    assert answer.status_code == 200 and answer.streaming
    data = b"".join(answer.streaming_content)
    assert answer["Content-Type"] == "application/zip"
    assert answer["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()
    assert "attachment" in answer["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {"manifest.json", "events.jsonl", "verify.py", "summary.pdf"} <= set(names)
    event = Event.objects.get(kind="evidence_pack.exported")
    assert event.actor.endswith(manager.username) or manager.username in event.actor
    assert event.recommendation_id == scene["mfa"].pk
    # The pack's chain includes the event of its own download.
    assert b"evidence_pack.exported" in zipfile.ZipFile(io.BytesIO(data)).read("events.jsonl")


def test_an_auditor_may_not_take_an_evidence_pack(client_a, auditor, client):
    from ledger.models import Event

    client.force_login(auditor)
    assert _pack_post(client, client_a).status_code == 403
    assert not Event.objects.filter(kind="evidence_pack.exported").exists()


def test_the_evidence_pack_of_a_client_not_assigned_is_404(client_a, client_b, technician, client):
    client.force_login(technician)
    assert _pack_post(client, client_b).status_code == 404


def test_an_evidence_pack_for_another_clients_recommendation_is_refused(
    scene, client_a, client_b, admin, manager, client, now
):
    from ledger.models import Event
    from recommendations.services import recommendation_create

    theirs = recommendation_create(
        client=client_b, actor=admin, now=now, title="Bravo's item", body="x", severity="low"
    )
    client.force_login(manager)
    for value, expected in ((str(theirs.pk), f"{theirs.pk} is not one"), ("D'Angelo", "number")):
        answer = _pack_post(client, client_a, recommendation=value)
        assert answer.status_code == 302
        message = [str(m) for m in answer.wsgi_request._messages][-1]
        assert message.startswith("recommendation: ") and expected in message
    assert not Event.objects.filter(kind="evidence_pack.exported").exists()
