"""Tickets mirrored to the PSA through the outbox: e-mail-to-ticket and Autotask."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from clients.services import client_update
from followup.choices import OutboxKind, OutboxStatus
from followup.delivery import deliver_due
from followup.models import OutboxMessage, Ticket
from followup.psa.outbox import psa_enqueue
from followup.sweep import sweep
from followup.tests.autotask_fake import SPEC_PATH, FakeAutotask, load_spec
from recommendations.choices import Channel
from recommendations.services import response_record

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
SPEC = load_spec()


def test_each_ticket_event_mails_the_psa_mailbox_with_a_stable_token(settings, presented, now):
    settings.HEEDED_PSA_EMAIL_TO = "help@psa.msp.example"
    sweep(now=now + 8 * DAY)
    sweep(now=now + 11 * DAY)
    ticket = Ticket.objects.get()
    mails = OutboxMessage.objects.filter(idempotency_key__startswith="psa-mail:").order_by("id")
    assert [m.payload["subject"] for m in mails] == [
        f"[Heeded T{ticket.pk}] Follow up: Require MFA for all remote access"
    ] * 2
    assert ["Ticket event: opened" in m.payload["text"] for m in mails] == [True, False]
    assert "Escalation level 2" in mails[1].payload["text"]


def test_nothing_goes_to_a_psa_that_is_not_configured(presented, now):
    sweep(now=now + 8 * DAY)
    assert not OutboxMessage.objects.filter(kind=OutboxKind.PSA).exists()
    assert not OutboxMessage.objects.filter(idempotency_key__startswith="psa-mail:").exists()


@pytest.fixture
def autotask(settings) -> Iterator[FakeAutotask]:
    if SPEC is None:
        pytest.skip(f"the Autotask API description is not at {SPEC_PATH}")
    fake = FakeAutotask(SPEC)
    settings.HEEDED_AUTOTASK_URL = fake.url
    settings.HEEDED_AUTOTASK_INTEGRATION_CODE = "CODE"
    settings.HEEDED_AUTOTASK_USERNAME = "api@msp.example"
    settings.HEEDED_AUTOTASK_SECRET = "s"
    settings.HEEDED_AUTOTASK_COMPANY_ID = 174
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.errors == []


def _deliver_psa(at: dt.datetime) -> list:
    return [r for r in deliver_due(now=at, worker="w", limit=50) if r.message.kind == "psa"]


def test_a_ticket_gets_one_autotask_twin_through_retries_and_is_closed_on_rejection(
    autotask, presented, contact_a, now
):
    sweep(now=now + 8 * DAY)
    autotask.faults = [429]
    (busy,) = _deliver_psa(now + 8 * DAY)
    assert busy.status == OutboxStatus.PENDING
    (done,) = _deliver_psa(now + 8 * DAY + dt.timedelta(minutes=2))
    assert done.status == OutboxStatus.SENT
    ticket = Ticket.objects.get()
    assert ticket.external_ref == "1"

    response_record(
        recommendation=presented,
        decision="rejected",
        channel=Channel.SIGNED_LINK,
        responder=contact_a,
        justification="Too costly.",
        now=now + 9 * DAY,
    )
    assert all(r.ok for r in _deliver_psa(now + 9 * DAY))
    assert list(autotask.tickets) == [1]
    assert autotask.tickets[1]["Status"] == 5  # complete
    assert autotask.tickets[1]["ExternalID"] == f"heeded-ticket-{ticket.pk}"
    assert [n["Title"] for n in autotask.notes] == ["Heeded: opened", "Heeded: closed"]
    assert "Client answered: Rejected" in autotask.notes[1]["Description"]


def test_a_clients_tickets_open_in_its_own_autotask_company(
    autotask, presented, client_a, admin, now
):
    # Before: the installation's default company.
    sweep(now=now + 8 * DAY)
    assert all(r.ok for r in _deliver_psa(now + 8 * DAY))
    assert autotask.tickets[1]["CompanyID"] == 174
    # The client gets its own company: the next ticket opens there.
    client_update(client=client_a, actor=admin, now=now + 9 * DAY, psa_company_id=29_683_512)
    Ticket.objects.update(external_ref="")
    OutboxMessage.objects.filter(kind=OutboxKind.PSA).delete()
    second = Ticket.objects.get()
    psa_enqueue(ticket=second, event="updated", note="", seq=99, now=now + 9 * DAY)
    autotask.tickets.clear()
    assert all(r.ok for r in _deliver_psa(now + 9 * DAY))
    assert [t["CompanyID"] for t in autotask.tickets.values()] == [29_683_512]


def test_without_any_company_the_call_is_refused_for_good_naming_the_setting(
    autotask, settings, presented, now
):
    settings.HEEDED_AUTOTASK_COMPANY_ID = 0
    sweep(now=now + 8 * DAY)
    (result,) = _deliver_psa(now + 8 * DAY)
    assert result.status == OutboxStatus.FAILED
    assert "PSA company ID" in result.error and "Acme Dental" in result.error
    assert autotask.tickets == {}
