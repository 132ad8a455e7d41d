"""Staff pages of the answers app: the inbound review queue, meetings, batch presenting."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from answers.choices import Outcome
from answers.models import InboundMessage, Meeting
from ledger.models import Event
from lib import crypto
from recommendations.choices import Channel, Status
from recommendations.models import Response
from recommendations.services import recommendation_create

PAGE_NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(PAGE_NOW, tick=False)


def _inbound(client, outcome=Outcome.UNVERIFIED, raw=b"From: x@y\r\n\r\nhello") -> InboundMessage:
    return InboundMessage.objects.create(
        received_at=PAGE_NOW,
        raw_encrypted=crypto.encrypt(raw),
        raw_sha256=hashlib.sha256(raw + str(client).encode() + outcome.encode()).hexdigest(),
        from_address="x@y",
        client=client,
        outcome=outcome,
        reason="not authenticated",
        verification={"counted": False},
    )


def test_the_review_queue_lists_uncounted_mail_of_visible_clients(
    client, admin, technician, client_a, client_b, django_assert_max_num_queries
):
    mine, other, unmatched = _inbound(client_a), _inbound(client_b), _inbound(None)
    _inbound(client_a, Outcome.RECORDED)
    client.force_login(admin)
    with django_assert_max_num_queries(8):
        page = client.get("/answers/review/")
    assert page.context["page"].paginator.count == 3
    client.force_login(technician)
    page = client.get("/answers/review/")
    assert [m.pk for m in page.context["page"].object_list] == [mine.pk]
    assert client.get(f"/answers/inbound/{other.pk}/").status_code == 404
    assert client.get(f"/answers/inbound/{unmatched.pk}/").status_code == 404
    detail = client.get(f"/answers/inbound/{mine.pk}/")
    assert "hello" in detail.content.decode()


def test_marking_reviewed_needs_a_note_and_happens_once(client, admin, auditor, client_a):
    message = _inbound(client_a)
    client.force_login(auditor)
    assert client.post(f"/answers/inbound/{message.pk}/", {"review_note": "ok"}).status_code == 403
    client.force_login(admin)
    refused = client.post(f"/answers/inbound/{message.pk}/", {"review_note": " "})
    assert refused.status_code == 400 and "Say what you found or did." in refused.content.decode()
    message.refresh_from_db()
    assert message.reviewed_at is None
    done = client.post(f"/answers/inbound/{message.pk}/", {"review_note": "Phoned Alice: spoof"})
    assert done.status_code == 302
    message.refresh_from_db()
    assert (message.reviewed_by, message.review_note, message.outcome) == (
        admin,
        "Phoned Alice: spoof",
        Outcome.UNVERIFIED,
    )
    assert Event.objects.filter(kind="answers.inbound_reviewed").count() == 1
    again = client.post(f"/answers/inbound/{message.pk}/", {"review_note": "again"})
    assert "This message has already been reviewed." in again.content.decode()
    assert client.get("/answers/review/").context["page"].paginator.count == 0


MEETING = {
    "channel": "meeting",
    "held_on": "2026-03-01",
    "attendees": "Alice Rossi, Ada (MSP)",
    "decided_by": "Alice Rossi",
}


def test_a_meeting_records_many_decisions_or_none(
    client, admin, presented, client_a, template_mfa, now
):
    second = recommendation_create(
        client=client_a, template_version=template_mfa, actor=admin, now=now
    )
    from recommendations.services import recommendation_present

    second = recommendation_present(recommendation=second, actor=admin, now=now)
    client.force_login(admin)
    url = f"/clients/{client_a.pk}/meeting/"
    bad = {
        **MEETING,
        f"r{presented.pk}-decision": "accepted",
        f"r{presented.pk}-planned_for": "2026-05-01",
        f"r{second.pk}-decision": "rejected",
    }
    page = client.post(url, bad)
    assert page.status_code == 400 and "A rejection needs a justification." in page.content.decode()
    assert not Meeting.objects.exists() and not Response.objects.exists()
    assert client.post(url, {**bad, "attendees": ""}).status_code == 400
    good = {**bad, f"r{second.pk}-justification": "Out of scope"}
    assert client.post(url, good).status_code == 302
    meeting = Meeting.objects.get()
    responses = list(Response.objects.order_by("pk"))
    assert [r.channel for r in responses] == [Channel.MEETING] * 2
    assert {r.evidence_ref for r in responses} == {f"meeting:{meeting.pk}"}
    assert responses[0].attendees == "Alice Rossi, Ada (MSP)" and responses[0].recorded_by == admin


def test_a_technician_cannot_record_a_meeting_of_another_client(client, technician, client_b):
    client.force_login(technician)
    assert client.get(f"/clients/{client_b.pk}/meeting/").status_code == 404
    assert client.post(f"/clients/{client_b.pk}/present/", {}).status_code == 404


def test_presenting_drafts_from_the_client_page(client, admin, draft, client_a, contact_a):
    client.force_login(admin)
    url = f"/clients/{client_a.pk}/present/"
    refused = client.post(url, {})
    assert "Choose at least one draft recommendation to present." in refused.content.decode()
    assert client.post(url, {"recommendation": [draft.pk]}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == Status.AWAITING_RESPONSE


def test_staff_set_who_may_decide(client, admin, auditor, client_a, contact_a):
    from answers.models import AnswerPolicy, AuthorityRule
    from answers.services.authority import contact_may_decide

    url = f"/clients/{client_a.pk}/authority/"
    client.force_login(auditor)
    assert client.post(url, {"use_rules": "on"}).status_code == 403
    assert not AuthorityRule.objects.exists()
    client.force_login(admin)
    saved = client.post(
        url, {"use_rules": "on", f"contact-{contact_a.pk}": ["low", "medium"], "dual": "on"}
    )
    assert saved.status_code == 302
    assert AuthorityRule.objects.get().severities == ["low", "medium"]
    assert AnswerPolicy.objects.get(client=client_a).dual_approval_reject_critical
    assert not contact_may_decide(contact_a, "critical") and contact_may_decide(contact_a, "low")
    refused = client.post(url, {"use_rules": "on", f"contact-{contact_a.pk}": ["urgent"]})
    assert "Unknown severity &#x27;urgent&#x27;." in refused.content.decode()
    assert AuthorityRule.objects.get().severities == ["low", "medium"]
    assert client.post(url, {}).status_code == 302  # no table: decision makers decide
    assert not AuthorityRule.objects.exists() and contact_may_decide(contact_a, "critical")
    assert Event.objects.filter(kind="answers.authority_set").count() == 2


def _queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _recommendations(n, *, client_, contact, owners, template, now, present=True):
    from recommendations.services import recommendation_present

    made = []
    for i in range(n):
        rec = recommendation_create(
            client=client_,
            template_version=template,
            title=f"Patch the reception PC n°{i} (Windows 11)",
            actor=owners[0],
            now=now,
            owner=owners[i % len(owners)],
            contact=contact,
        )
        if present:
            rec = recommendation_present(recommendation=rec, actor=owners[0], now=now)
        made.append(rec)
    return made


def test_the_review_queue_makes_as_many_queries_for_thirty_messages_as_for_three(
    client, admin, presented, contact_a, client_b, django_assert_max_num_queries
):
    def add(n, start):
        for i in range(start, start + n):
            message = _inbound([contact_a.client, client_b, None][i % 3], raw=f"n°{i}".encode())
            if i % 3 == 0:
                message.contact, message.recommendation = contact_a, presented
                message.save(update_fields=["contact", "recommendation"])
            if i % 4 == 0:
                message.reviewed_at, message.reviewed_by = PAGE_NOW, admin
                message.review_note = "Phoned Alice: it's hers."
                message.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])

    add(3, 0)
    client.force_login(admin)
    budget = _queries(client, "/answers/review/?all=1")
    add(27, 3)

    with django_assert_max_num_queries(budget):
        page = client.get("/answers/review/?all=1")

    assert page.context["page"].paginator.count == 30


def test_the_meeting_page_makes_as_many_queries_for_twelve_recommendations_as_for_one(
    client, admin, technician, contact_a, template_mfa, now, django_assert_max_num_queries
):
    spread = {
        "client_": contact_a.client,
        "contact": contact_a,
        "owners": [admin, technician],
        "template": template_mfa,
        "now": now,
    }
    _recommendations(1, **spread)
    client.force_login(admin)
    url = f"/clients/{contact_a.client.pk}/meeting/"
    budget = _queries(client, url)
    _recommendations(11, **spread)

    with django_assert_max_num_queries(budget):
        page = client.get(url)

    assert len(page.context["rows"]) == 12


def test_the_present_page_makes_as_many_queries_for_twelve_drafts_as_for_one(
    client, admin, technician, contact_a, template_mfa, now, django_assert_max_num_queries
):
    spread = {
        "client_": contact_a.client,
        "contact": contact_a,
        "owners": [admin, technician],
        "template": template_mfa,
        "now": now,
        "present": False,
    }
    _recommendations(1, **spread)
    client.force_login(admin)
    url = f"/clients/{contact_a.client.pk}/present/"
    budget = _queries(client, url)
    _recommendations(11, **spread)

    with django_assert_max_num_queries(budget):
        page = client.get(url)

    assert len(page.context["drafts"]) == 12


def test_the_authority_page_makes_as_many_queries_for_twelve_contacts_as_for_one(
    client, admin, contact_a, now, django_assert_max_num_queries
):
    from answers.services.authority import authority_replace
    from clients.services import contact_create

    client_ = contact_a.client

    def add(n, start):
        for i in range(start, start + n):
            contact_create(
                client=client_,
                name=f"Dott. Nicolò D'Errico {i}",
                email=f"nicolo.derrico{i}@acme-dental.example",
                is_decision_maker=i % 2 == 0,
                actor=admin,
                now=now,
            )
        contacts = client_.contacts.all()
        authority_replace(
            client=client_,
            rules={c.pk: ["critical", "low"][: 1 + c.pk % 2] for c in contacts},
            dual_approval_reject_critical=True,
            actor=admin,
            now=now,
        )

    add(0, 0)
    client.force_login(admin)
    url = f"/clients/{client_.pk}/authority/"
    budget = _queries(client, url)
    add(11, 1)

    with django_assert_max_num_queries(budget):
        page = client.get(url)

    assert len(page.context["rows"]) == 12
    assert all(allowed for _, allowed in page.context["rows"])


def test_the_meeting_page_lists_every_item_the_table_lets_the_client_decide(
    client, admin, presented, client_a, template_mfa, now
):
    from recommendations.decisions import DECIDABLE_STATUSES
    from recommendations.services import (
        recommendation_mark_ignored,
        recommendation_present,
        recommendation_start_work,
        response_record,
    )

    def presented_one(title):
        rec = recommendation_create(
            client=client_a, template_version=template_mfa, actor=admin, now=now, title=title
        )
        return recommendation_present(recommendation=rec, actor=admin, now=now)

    ignored = recommendation_mark_ignored(recommendation=presented_one("Ignored"), now=now)
    working = presented_one("Working")
    response_record(
        recommendation=working,
        decision="accepted",
        channel=Channel.PHONE,
        now=now,
        recorded_by=admin,
        responder_name="Alice Rossi",
        planned_for=dt.date(2026, 4, 1),
    )
    working = recommendation_start_work(recommendation=working, actor=admin, now=now)
    draft = recommendation_create(
        client=client_a, template_version=template_mfa, actor=admin, now=now, title="Draft"
    )
    client.force_login(admin)
    page = client.get(f"/clients/{client_a.pk}/meeting/")
    listed = {rec.pk for rec, _ in page.context["rows"]}
    assert {ignored.pk, working.pk, presented.pk} <= listed
    assert draft.pk not in listed
    assert {Status.IGNORED, Status.IN_PROGRESS} <= DECIDABLE_STATUSES
    # An ignored item's answer recorded in the meeting changes its status.
    done = client.post(
        f"/clients/{client_a.pk}/meeting/",
        {
            **MEETING,
            "decided_by": "Somebody Else",
            f"r{ignored.pk}-decision": "rejected",
            f"r{ignored.pk}-justification": "We accept the risk",
        },
    )
    assert done.status_code == 302
    ignored.refresh_from_db()
    assert ignored.status == Status.REJECTED
