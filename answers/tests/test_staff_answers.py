"""Answers taken down by staff (phone, meeting) follow the client's authority rules, as
answers by link, portal and e-mail do, whichever entry point records them: the
recommendation page, the API, the CLI or the meeting page."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from answers.choices import ProposalStatus
from answers.errors import AnswerRefused, Msg
from answers.models import AnswerLink, AnswerPolicy, Meeting, Proposal
from answers.services.authority import DUAL_APPROVAL_REASON, NO_AUTHORITY_REASON, authority_set
from answers.services.recording import AnswerItem
from answers.services.staff import staff_answer_record
from answers.services.submissions import answer_submit
from clients.services import contact_create
from ledger.models import Event
from recommendations.choices import Channel, Status
from recommendations.lifecycle import LifecycleError
from recommendations.lifecycle import Msg as LifecycleMsg
from recommendations.models import Response

PAGE_NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(PAGE_NOW, tick=False)


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


@pytest.fixture
def restricted(client_a, contact_a, carla, admin, now):
    """Alice may decide low items only; Carla decides critical ones."""
    authority_set(client=client_a, contact=contact_a, severities=["low"], actor=admin, now=now)
    authority_set(client=client_a, contact=carla, severities=["critical"], actor=admin, now=now)


def _by_phone(rec, responder, actor, **extra):
    fields = {"justification": "Too costly", **extra}
    return staff_answer_record(
        recommendation=rec,
        decision="rejected",
        channel=Channel.PHONE,
        now=PAGE_NOW,
        recorded_by=actor,
        responder=responder,
        **fields,
    )


def _assert_proposed_not_recorded(rec, reason=NO_AUTHORITY_REASON) -> Proposal:
    rec.refresh_from_db()
    assert rec.status == Status.AWAITING_RESPONSE
    assert not Response.objects.exists()
    proposal = Proposal.objects.get()
    assert (proposal.reason, proposal.status) == (reason, ProposalStatus.OPEN)
    return proposal


def test_a_critical_rejection_by_phone_from_a_contact_without_authority_is_a_proposal(
    restricted, presented, contact_a, carla, admin
):
    result = _by_phone(presented, contact_a, admin)
    proposal = _assert_proposed_not_recorded(presented)
    assert result == proposal
    assert (proposal.contact, proposal.channel, proposal.routed_to) == (
        contact_a,
        Channel.PHONE,
        [carla.email],
    )
    event = Event.objects.get(kind="answers.proposal")
    assert event.actor == "staff:ada"
    assert event.data["recorded_by"] == "ada"


def test_the_same_answer_by_link_is_a_proposal_too(restricted, presented, contact_a):
    link = AnswerLink.objects.filter(contact=contact_a).latest("pk")
    answer_submit(
        contact=contact_a,
        items=[AnswerItem(recommendation=presented, decision="rejected", justification="No")],
        typed_name=contact_a.name,
        consent=True,
        channel=Channel.SIGNED_LINK,
        now=PAGE_NOW,
        link=link,
    )
    _assert_proposed_not_recorded(presented)


def test_a_critical_rejection_by_phone_from_a_contact_with_authority_is_recorded(
    restricted, presented, carla, admin
):
    result = _by_phone(presented, carla, admin)
    presented.refresh_from_db()
    assert presented.status == Status.REJECTED
    assert isinstance(result, Response)
    assert (result.responder, result.channel, result.recorded_by) == (carla, "phone", admin)
    assert not Proposal.objects.exists()


def test_a_critical_rejection_by_phone_is_the_first_of_two_approvals(
    client_a, contact_a, carla, presented, admin
):
    AnswerPolicy.objects.create(client=client_a, dual_approval_reject_critical=True)
    _by_phone(presented, contact_a, admin)
    _assert_proposed_not_recorded(presented, DUAL_APPROVAL_REASON)
    second = _by_phone(presented, carla, admin)
    assert isinstance(second, Response)
    presented.refresh_from_db()
    assert presented.status == Status.REJECTED
    assert Proposal.objects.get().status == ProposalStatus.CONFIRMED


def test_someone_who_is_no_contact_cannot_decide_when_the_client_limits_who_may(
    restricted, presented, admin
):
    with pytest.raises(AnswerRefused, match=re.escape(Msg.RESPONDER_CONTACT_REQUIRED[:30])):
        _by_phone(presented, None, admin, responder_name="Someone at reception")
    presented.refresh_from_db()
    assert presented.status == Status.AWAITING_RESPONSE
    assert not Response.objects.exists() and not Proposal.objects.exists()


def test_a_name_that_is_a_contacts_name_is_judged_as_that_contact(restricted, presented, admin):
    _by_phone(presented, None, admin, responder_name="alice rossi")
    assert _assert_proposed_not_recorded(presented).responder_name == "alice rossi"


def test_a_read_only_account_can_neither_record_nor_propose(
    restricted, presented, contact_a, auditor
):
    with pytest.raises(PermissionDenied):
        _by_phone(presented, contact_a, auditor)
    assert not Proposal.objects.exists() and not Response.objects.exists()


def test_the_decision_rules_hold_before_a_proposal_is_made(restricted, presented, contact_a, admin):
    with pytest.raises(LifecycleError, match=re.escape(LifecycleMsg.REJECT_JUSTIFICATION_REQUIRED)):
        _by_phone(presented, contact_a, admin, justification="")
    assert not Proposal.objects.exists()


# --- every entry point -------------------------------------------------------------------


def test_the_recommendation_page_proposes_a_phone_rejection_without_authority(
    client, restricted, presented, contact_a, admin
):
    client.force_login(admin)
    page = client.post(
        f"/recommendations/{presented.pk}/respond/",
        {
            "decision": "rejected",
            "channel": "phone",
            "responder": contact_a.pk,
            "justification": "Too costly",
            "shown_text_sha256": presented.text_sha256,
        },
        follow=True,
    )
    assert page.status_code == 200
    assert "Not recorded yet" in page.content.decode()
    _assert_proposed_not_recorded(presented)


def test_the_api_proposes_a_phone_rejection_without_authority(
    api, restricted, presented, contact_a, carla, admin
):
    reply = api(admin).post(
        f"/api/v1/recommendations/{presented.pk}/responses/",
        {
            "decision": "rejected",
            "channel": "phone",
            "responder": contact_a.pk,
            "justification": "Too costly",
        },
        format="json",
    )
    assert reply.status_code == 202, reply.content
    body = reply.json()
    assert (body["reason"], body["routed_to"], body["status"]) == (
        NO_AUTHORITY_REASON,
        [carla.email],
        "open",
    )
    _assert_proposed_not_recorded(presented)
    refused = api(admin).post(
        f"/api/v1/recommendations/{presented.pk}/responses/",
        {
            "decision": "rejected",
            "channel": "phone",
            "responder_name": "Nobody",
            "justification": "x",
        },
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "responder"


def test_the_cli_proposes_a_phone_rejection_without_authority(
    restricted, presented, contact_a, carla
):
    out = io.StringIO()
    call_command(
        "recommendation",
        "--as",
        "ada",
        "respond",
        str(presented.pk),
        "rejected",
        "--contact",
        str(contact_a.pk),
        "--justification",
        "Too costly",
        stdout=out,
    )
    assert out.getvalue() == (
        f"proposed: #{presented.pk} stays awaiting_response; {NO_AUTHORITY_REASON}. "
        f"Sent to {carla.email} to confirm.\n"
    )
    _assert_proposed_not_recorded(presented)


def test_the_meeting_page_proposes_a_decision_without_authority(
    client, restricted, presented, client_a, admin
):
    client.force_login(admin)
    page = client.post(
        f"/clients/{client_a.pk}/meeting/",
        {
            "channel": "meeting",
            "held_on": "2026-03-01",
            "attendees": "Alice Rossi, Ada (MSP)",
            "decided_by": "Alice Rossi",
            f"r{presented.pk}-decision": "rejected",
            f"r{presented.pk}-justification": "Too costly",
        },
        follow=True,
    )
    assert "1 taken as a proposal" in page.content.decode()
    proposal = _assert_proposed_not_recorded(presented)
    meeting = Meeting.objects.get()
    assert (proposal.channel, proposal.evidence_ref) == (Channel.MEETING, f"meeting:{meeting.pk}")
