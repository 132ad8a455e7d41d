"""Who may decide: authority rules, proposals routed to an authorised contact, dual
approval for rejecting a critical item, and presenting a batch."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from answers.choices import ProposalStatus
from answers.errors import AnswerRefused
from answers.models import AnswerLink, AnswerPolicy, Proposal
from answers.services.authority import DUAL_APPROVAL_REASON, NO_AUTHORITY_REASON, authority_set
from answers.services.links import recommendations_present
from answers.services.recording import AnswerItem
from answers.services.submissions import answer_submit
from answers.tests.conftest import links_in, mail_to
from clients.services import contact_create
from followup.models import OutboxMessage
from ledger.models import Event
from recommendations.choices import Channel, Status
from recommendations.models import Response
from recommendations.services import recommendation_create


@pytest.fixture
def carla(client_a, admin, now):
    return contact_create(
        client=client_a,
        name="Carla Verdi",
        email="carla@acme-dental.example",
        is_decision_maker=True,
        actor=admin,
        now=now,
    )


def _answer(contact, rec, decision, now, **fields):
    link = AnswerLink.objects.filter(contact=contact, recommendations=rec, used_at=None).latest(
        "pk"
    )
    return answer_submit(
        contact=contact,
        items=[AnswerItem(recommendation=rec, decision=decision, **fields)],
        typed_name=contact.name,
        consent=True,
        channel=Channel.SIGNED_LINK,
        now=now,
        link=link,
    )


def test_an_answer_without_authority_is_a_proposal_routed_to_an_authorised_contact(
    client_a, contact_a, carla, draft, admin, now
):
    authority_set(client=client_a, contact=contact_a, severities=["low"], actor=admin, now=now)
    authority_set(client=client_a, contact=carla, severities=["critical"], actor=admin, now=now)
    from recommendations.services import recommendation_present

    rec = recommendation_present(recommendation=draft, actor=admin, now=now)
    later = now + dt.timedelta(hours=1)
    outcome = _answer(contact_a, rec, "rejected", later, justification="Too costly")
    rec.refresh_from_db()
    assert rec.status == Status.AWAITING_RESPONSE
    assert outcome.responses == [] and Response.objects.count() == 0
    proposal = Proposal.objects.get()
    assert (proposal.reason, proposal.routed_to) == (NO_AUTHORITY_REASON, [carla.email])
    assert Event.objects.filter(kind="answers.proposal", recommendation_id=rec.pk).count() == 1
    routed = mail_to(carla.email, key_prefix="proposal:")
    assert "Too costly" in routed.payload["text"]
    # Carla confirms through the link she was sent: that is the decision.
    assert len(links_in(routed)) == 1
    _answer(carla, rec, "rejected", later, justification="Agreed, too costly")
    rec.refresh_from_db()
    assert rec.status == Status.REJECTED
    assert Response.objects.get().responder == carla
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUPERSEDED


def test_rejecting_a_critical_item_can_need_two_authorised_contacts(
    client_a, contact_a, carla, presented, now
):
    AnswerPolicy.objects.create(client=client_a, dual_approval_reject_critical=True)
    first = _answer(contact_a, presented, "rejected", now, justification="No budget")
    assert first.proposals[0].reason == DUAL_APPROVAL_REASON
    presented.refresh_from_db()
    assert presented.status == Status.AWAITING_RESPONSE
    assert mail_to(carla.email, key_prefix="proposal:").payload["to"] == [carla.email]
    second = _answer(carla, presented, "rejected", now, justification="No budget this year")
    assert len(second.responses) == 1
    presented.refresh_from_db()
    assert presented.status == Status.REJECTED
    assert Proposal.objects.get().status == ProposalStatus.CONFIRMED
    # Accepting needs only one.
    assert AnswerPolicy.objects.get().dual_approval_reject_critical


def test_a_refused_authority_rule_changes_nothing(client_a, client_b, contact_b, admin, now):
    with pytest.raises(
        AnswerRefused, match=re.escape("The responder is not a contact of this client.")
    ):
        authority_set(client=client_a, contact=contact_b, severities=["low"], actor=admin, now=now)
    with pytest.raises(AnswerRefused, match=re.escape("Unknown severity 'urgent'.")):
        authority_set(
            client=client_b, contact=contact_b, severities=["urgent"], actor=admin, now=now
        )
    assert not Event.objects.filter(kind="answers.authority_set").exists()


def test_presenting_a_batch_sends_one_mail_per_contact_with_a_batch_link(
    client, client_a, contact_a, carla, template_mfa, admin, now, time_machine
):
    recs = [
        recommendation_create(
            client=client_a, template_version=template_mfa, actor=admin, now=now, title=f"Item {n}"
        )
        for n in range(3)
    ]
    done = recommendations_present(recommendations=recs, actor=admin, now=now)
    assert [r.status for r in done] == [Status.AWAITING_RESPONSE] * 3
    for contact in (contact_a, carla):
        mails = OutboxMessage.objects.filter(payload__to=[contact.email])
        assert mails.count() == 1
        assert len(links_in(mails.get())) == 4  # one per item, then the batch link
    batch = links_in(mail_to(contact_a.email))[-1]
    time_machine.move_to(now + dt.timedelta(hours=1), tick=False)
    data = {"typed_name": "Alice Rossi", "consent": "on"}
    for rec in recs:
        data.update({f"r{rec.pk}-decision": "accepted", f"r{rec.pk}-planned_for": "2026-06-30"})
    page = client.post(f"/answer/{batch}/", data)
    assert page.status_code == 200, page.content.decode()
    assert Response.objects.filter(channel=Channel.SIGNED_LINK).count() == 3


def test_a_batch_must_hold_drafts_of_one_client(client_a, client_b, admin, now, template_mfa):
    with pytest.raises(
        AnswerRefused, match=re.escape("Choose at least one draft recommendation to present.")
    ):
        recommendations_present(recommendations=[], actor=admin, now=now)
    recs = [
        recommendation_create(client=c, template_version=template_mfa, actor=admin, now=now)
        for c in (client_a, client_b)
    ]
    with pytest.raises(
        AnswerRefused, match=re.escape("Present one client's recommendations at a time.")
    ):
        recommendations_present(recommendations=recs, actor=admin, now=now)
    assert not OutboxMessage.objects.exists()
