"""Recording a decision a client contact gave, on any channel (link, portal, e-mail,
or taken down by staff): the checks every channel shares, then a Response when the
contact may decide, else a Proposal routed to those who may; and the receipt e-mailed
to the contact afterwards."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import User
from answers.choices import ProposalStatus
from answers.errors import AnswerRefused, Msg
from answers.models import Proposal
from answers.presentation import link_url_sealed, links_issue, reply_address
from answers.services.authority import (
    DUAL_APPROVAL_REASON,
    NO_AUTHORITY_REASON,
    authorised_contacts,
    contact_may_decide,
    needs_dual_approval,
)
from clients.models import Contact
from followup.services.outbox import outbox_enqueue_email
from ledger.actors import actor_label
from ledger.models import Anchor
from ledger.services import anchor_record, event_append
from recommendations import mail
from recommendations.choices import Decision
from recommendations.decisions import text_matches, validate_decision
from recommendations.lifecycle import DECISION_ACTIONS
from recommendations.models import Recommendation, Response
from recommendations.services import response_record


@dataclass
class AnswerItem:
    recommendation: Recommendation
    decision: str
    planned_for: dt.date | None = None
    deferred_until: dt.date | None = None
    justification: str = ""


def check_item(item: AnswerItem, rec: Recommendation, today: dt.date) -> None:
    """The lifecycle's decision rules, checked before anything is stored: a proposal
    never reaches ``response_record``, yet must meet the same rules."""
    if item.decision not in DECISION_ACTIONS:
        # The client pages send an empty decision when nothing was ticked: say so in
        # the words of the page rather than naming the lifecycle's values.
        raise AnswerRefused(Msg.DECISION_REQUIRED, field="decision", code="required")
    validate_decision(
        recommendation=rec,
        decision=item.decision,
        today=today,
        planned_for=item.planned_for,
        deferred_until=item.deferred_until,
        justification=item.justification,
    )


def check_text(rec: Recommendation, shown_sha256: str) -> None:
    """Refuse an answer given to a text other than the recommendation's current one;
    the same rule (``text_matches``) and the same refusal on every client channel."""
    if not text_matches(rec, shown_sha256):
        raise AnswerRefused(Msg.TEXT_CHANGED, code="text_changed")


def answer_record(
    *,
    rec: Recommendation,
    contact: Contact,
    item: AnswerItem,
    responder_name: str,
    channel: str,
    evidence_ref: str,
    now: dt.datetime,
    shown_text_sha256: str,
    recorded_by: User | None = None,
    attendees: str = "",
) -> Response | Proposal:
    """Record the decision, or a proposal when the contact lacks authority or when it
    is the first half of a dual approval. ``recorded_by`` names the staff member who
    took an answer down by phone or in a meeting: the same rules apply to it."""
    if not contact_may_decide(contact, rec.severity):
        return _propose(
            rec=rec,
            contact=contact,
            item=item,
            responder_name=responder_name,
            channel=channel,
            evidence_ref=evidence_ref,
            reason=NO_AUTHORITY_REASON,
            now=now,
            recorded_by=recorded_by,
            attendees=attendees,
        )
    first: Proposal | None = None
    if needs_dual_approval(rec, item.decision):
        first = (
            Proposal.objects.select_for_update()
            .filter(
                recommendation=rec,
                decision=Decision.REJECTED,
                status=ProposalStatus.OPEN,
                reason=DUAL_APPROVAL_REASON,
            )
            .exclude(contact=contact)
            .first()
        )
        if first is None:
            return _propose(
                rec=rec,
                contact=contact,
                item=item,
                responder_name=responder_name,
                channel=channel,
                evidence_ref=evidence_ref,
                reason=DUAL_APPROVAL_REASON,
                now=now,
                recorded_by=recorded_by,
                attendees=attendees,
            )
    response = response_record(
        recommendation=rec,
        decision=item.decision,
        channel=channel,
        now=now,
        recorded_by=recorded_by,
        responder=contact,
        responder_name=responder_name,
        justification=item.justification,
        planned_for=item.planned_for,
        deferred_until=item.deferred_until,
        attendees=attendees,
        shown_text_sha256=shown_text_sha256,
        evidence_ref=evidence_ref if first is None else f"{evidence_ref} {first.evidence_ref}",
    )
    if first is not None:
        Proposal.objects.filter(pk=first.pk).update(
            status=ProposalStatus.CONFIRMED, response=response
        )
    Proposal.objects.filter(recommendation=rec, status=ProposalStatus.OPEN).update(
        status=ProposalStatus.SUPERSEDED
    )
    return response


def _propose(
    *,
    rec: Recommendation,
    contact: Contact,
    item: AnswerItem,
    responder_name: str,
    channel: str,
    evidence_ref: str,
    reason: str,
    now: dt.datetime,
    recorded_by: User | None = None,
    attendees: str = "",
) -> Proposal:
    routed = [c for c in authorised_contacts(rec.client, rec.severity) if c.pk != contact.pk]
    proposal = Proposal.objects.create(
        recommendation=rec,
        contact=contact,
        decision=item.decision,
        planned_for=item.planned_for if item.decision == Decision.ACCEPTED else None,
        deferred_until=item.deferred_until if item.decision == Decision.DEFERRED else None,
        justification=item.justification.strip(),
        responder_name=responder_name,
        channel=channel,
        evidence_ref=evidence_ref,
        reason=reason,
        routed_to=[c.email for c in routed],
        created_at=now,
    )
    staff: dict[str, str] = {}
    if recorded_by is not None:
        # Taken down by staff: the ledger says who, as a staff-recorded Response does.
        staff = {"recorded_by": recorded_by.get_username(), "attendees": attendees.strip()}
    event_append(
        client=rec.client,
        kind="answers.proposal",
        actor=actor_label(recorded_by if recorded_by is not None else contact),
        at=now,
        recommendation_id=rec.pk,
        data={
            "proposal": proposal.pk,
            "decision": proposal.decision,
            "planned_for": proposal.planned_for.isoformat() if proposal.planned_for else None,
            "deferred_until": (
                proposal.deferred_until.isoformat() if proposal.deferred_until else None
            ),
            "justification": proposal.justification,
            "responder": contact.email,
            "responder_name": responder_name,
            "channel": channel,
            "reason": reason,
            "routed_to": proposal.routed_to,
            "shown_text_sha256": rec.text_sha256,
            "evidence_ref": evidence_ref,
            **staff,
        },
    )
    language = mail.language_for(rec.client)
    links = links_issue([(target, [rec]) for target in routed], now=now)
    for target, link in zip(routed, links, strict=True):
        key = f"proposal:{proposal.pk}:{target.pk}"
        with translation.override(language):
            labels = {
                "decision": mail.status_label(proposal.decision),
                "reason": gettext(proposal.reason),
                "severity": mail.severity_label(rec.severity),
            }
        context = {
            "rec": rec,
            "client": rec.client,
            "contact": target,
            "proposal": proposal,
            "url": link_url_sealed(link),
            "severity_colour": mail.severity_colour(rec.severity),
            "head": mail.client_head(rec.client, at=now, reference=key),
            **labels,
        }
        email = mail.render_email("proposal", context, language=language)
        outbox_enqueue_email(
            key=key,
            to=[target.email],
            subject=email.subject,
            text=email.text,
            html=email.html,
            reply_to=[reply_address(link)],
            now=now,
            client=rec.client,
            recommendation_id=rec.pk,
        )
    return proposal


def confirm_answer(
    *,
    contact: Contact,
    responses: list[Response],
    proposals: list[Proposal],
    reference: str,
    recommendation_id: int,
    now: dt.datetime,
) -> Anchor:
    """Anchor the head that now includes the answer, and e-mail the contact a receipt
    quoting it, so the answer can be checked against the ledger later."""
    anchor = anchor_record(
        client=contact.client, at=now, purpose="answer confirmation", reference=reference
    )
    language = mail.language_for(contact.client)
    with translation.override(language):
        for r in responses:
            r.decision_label = mail.status_label(r.decision)  # type: ignore[attr-defined]
        for p in proposals:
            p.decision_label = mail.status_label(p.decision)  # type: ignore[attr-defined]
            p.reason_label = gettext(p.reason)  # type: ignore[attr-defined]
    context = {
        "client": contact.client,
        "contact": contact,
        "responses": responses,
        "proposals": proposals,
        "portal_url": f"{settings.HEEDED_BASE_URL}/portal/sign-in/",
        "head": mail.Head(
            seq=anchor.seq,
            hash=anchor.hash,
            verify_command=mail.verify_command(contact.client, anchor.seq, anchor.hash),
        ),
    }
    email = mail.render_email("answer_confirmation", context, language=language)
    outbox_enqueue_email(
        key=f"answer-confirmation:{reference}",
        to=[contact.email],
        subject=email.subject,
        text=email.text,
        html=email.html,
        now=now,
        client=contact.client,
        recommendation_id=recommendation_id,
    )
    return anchor
