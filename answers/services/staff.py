"""Answers staff took down (by phone, in a meeting, from the CLI or the API), held to
the authority rules of the client channels."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import Capability, require
from answers.errors import AnswerRefused, Msg
from answers.models import Proposal
from answers.services.authority import authority_limited
from answers.services.recording import AnswerItem, answer_record
from clients.models import Client, Contact
from recommendations.decisions import validate_decision
from recommendations.models import Recommendation, Response
from recommendations.services import response_record


def _contact_named(client: Client, name: str) -> Contact | None:
    """The one active contact of ``client`` called ``name`` (case aside), if exactly
    one: the meeting page and the CLI say who decided by name, and authority belongs
    to a contact."""
    name = name.strip()
    if not name:
        return None
    found = list(Contact.objects.filter(client=client, is_active=True, name__iexact=name)[:2])
    return found[0] if len(found) == 1 else None


def staff_answer_record(
    *,
    recommendation: Recommendation,
    decision: str,
    channel: str,
    now: dt.datetime,
    recorded_by: User,
    responder: Contact | None = None,
    responder_name: str = "",
    justification: str = "",
    planned_for: dt.date | None = None,
    deferred_until: dt.date | None = None,
    attendees: str = "",
    shown_text_sha256: str = "",
    evidence_ref: str = "",
) -> Response | Proposal:
    """Record an answer staff took down (phone, meeting, ...) under the authority rules
    that hold for links, the portal and e-mail: from a contact who may not decide the
    recommendation's severity, or as the first of two approvals of a critical
    rejection, it becomes a Proposal routed to an authorised contact; otherwise
    ``response_record`` records it. The staff pages, the API, the CLI and meetings all
    come here, so a phone call is no way around the rules.

    A responder given only by name counts as the active contact of that name; when
    there is none and the client limits who may decide, the answer is refused
    (``Msg.RESPONDER_CONTACT_REQUIRED``), since authority cannot be judged.
    """
    # Checked here too: a proposal never reaches response_record's own check.
    require(recorded_by, Capability.WRITE)
    with transaction.atomic():
        rec = (
            Recommendation.objects.select_for_update(of=("self",))
            .select_related("client")
            .get(pk=recommendation.pk)
        )
        contact = responder if responder is not None else _contact_named(rec.client, responder_name)
        name = (responder_name or (contact.name if contact is not None else "")).strip()
        validate_decision(
            recommendation=rec,
            decision=decision,
            today=now.astimezone(rec.client.tz).date(),
            planned_for=planned_for,
            deferred_until=deferred_until,
            justification=justification,
            channel=channel,
            attendees=attendees,
            responder=responder,
            responder_name=name,
            shown_text_sha256=shown_text_sha256,
        )
        if contact is None:
            if authority_limited(rec, decision):
                raise AnswerRefused(
                    _(Msg.RESPONDER_CONTACT_REQUIRED).format(client=rec.client.name),
                    field="responder",
                    code="required",
                )
            return response_record(
                recommendation=rec,
                decision=decision,
                channel=channel,
                now=now,
                recorded_by=recorded_by,
                responder_name=name,
                justification=justification,
                planned_for=planned_for,
                deferred_until=deferred_until,
                attendees=attendees,
                shown_text_sha256=shown_text_sha256,
                evidence_ref=evidence_ref,
            )
        item = AnswerItem(
            recommendation=rec,
            decision=decision,
            planned_for=planned_for,
            deferred_until=deferred_until,
            justification=justification,
        )
        return answer_record(
            rec=rec,
            contact=contact,
            item=item,
            responder_name=name,
            channel=channel,
            evidence_ref=evidence_ref,
            now=now,
            shown_text_sha256=shown_text_sha256,
            recorded_by=recorded_by,
            attendees=attendees,
        )
