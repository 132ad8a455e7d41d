"""Answers a contact submits through a signed link or the client portal: the link is
claimed once, each answer is kept as an encrypted, hashed submission, then recorded
(or proposed) through ``answers.services.recording``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from answers.errors import AnswerRefused, Msg
from answers.models import AnswerLink, Proposal, Submission
from answers.services.recording import (
    AnswerItem,
    answer_record,
    check_item,
    check_text,
    confirm_answer,
)
from clients.models import Client, Contact
from ledger.models import Anchor
from lib import crypto
from lib.canonical import canonical_json, sha256_hex
from recommendations import mail
from recommendations.models import Recommendation, Response

CONSENT_STATEMENTS = {
    "en": "I am authorised to decide for {client}.",
    "it": "Sono autorizzato a decidere per {client}.",
}


def consent_statement(client: Client) -> str:
    return CONSENT_STATEMENTS[mail.language_for(client)].format(client=client.name)


@dataclass
class AnswerOutcome:
    submissions: list[Submission] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    anchor: Anchor | None = None


def _payload(form: dict[str, str], **extra: object) -> bytes:
    clean = {k: str(v) for k, v in form.items() if k != "csrfmiddlewaretoken"}
    return canonical_json({"form": clean, **{k: v for k, v in extra.items()}})


def answer_submit(
    *,
    contact: Contact,
    items: list[AnswerItem],
    typed_name: str,
    consent: bool,
    channel: str,
    now: dt.datetime,
    link: AnswerLink | None = None,
    form: dict[str, str] | None = None,
    ip: str | None = None,
    user_agent: str = "",
) -> AnswerOutcome:
    """Record a contact's answer from a signed link or the portal. A link is claimed
    with a conditional update, so of many concurrent submissions exactly one counts;
    any refusal rolls the claim back with everything else."""
    typed_name = typed_name.strip()
    user_agent = user_agent[:400]
    outcome = AnswerOutcome()
    with transaction.atomic():
        if link is not None:
            claimed = AnswerLink.objects.filter(
                pk=link.pk, used_at__isnull=True, expires_at__gt=now
            ).update(used_at=now)
            if not claimed:
                fresh = AnswerLink.objects.get(pk=link.pk)
                if fresh.used_at is not None:
                    raise AnswerRefused(Msg.LINK_USED, code="used")
                raise AnswerRefused(Msg.LINK_EXPIRED, code="expired")
        contact = Contact.objects.select_related("client").get(pk=contact.pk)
        if not contact.is_active:
            raise AnswerRefused(Msg.CONTACT_INACTIVE, field="contact")
        if not items:
            raise AnswerRefused(Msg.DECISION_REQUIRED, field="decision", code="required")
        today = now.astimezone(contact.client.tz).date()
        recs = []
        for item in items:
            rec = Recommendation.objects.select_related("client").get(pk=item.recommendation.pk)
            if rec.client_id != contact.client_id or (
                link is not None and str(rec.pk) not in link.text_sha256
            ):
                raise AnswerRefused(Msg.NOT_IN_LINK, code="not_found")
            # The portal shows the current text, so only a link's stored hash can differ.
            presented = link.text_sha256[str(rec.pk)] if link is not None else rec.text_sha256
            check_text(rec, presented)
            check_item(item, rec, today)
            recs.append(rec)
        if not typed_name:
            raise AnswerRefused(Msg.NAME_REQUIRED, field="typed_name", code="required")
        if not consent:
            raise AnswerRefused(
                _(Msg.CONSENT_REQUIRED).format(client=contact.client.name),
                field="consent",
                code="required",
            )
        statement = consent_statement(contact.client)
        for item, rec in zip(items, recs, strict=True):
            plain = _payload(
                form or {},
                channel=channel,
                link=link.pk if link is not None else None,
                contact=contact.email,
                typed_name=typed_name,
                consent=statement,
                recommendation=rec.pk,
                text_sha256=rec.text_sha256,
                ip=ip,
                user_agent=user_agent,
                at=now.astimezone(dt.UTC).isoformat(),
            )
            submission = Submission.objects.create(
                channel=channel,
                link=link,
                contact=contact,
                recommendation=rec,
                at=now,
                ip=ip,
                user_agent=user_agent,
                text_sha256=rec.text_sha256,
                payload_encrypted=crypto.encrypt(plain),
                payload_sha256=sha256_hex(plain),
            )
            outcome.submissions.append(submission)
            result = answer_record(
                rec=rec,
                contact=contact,
                item=item,
                responder_name=typed_name,
                channel=channel,
                evidence_ref=f"submission:{submission.pk}",
                now=now,
                shown_text_sha256=rec.text_sha256,
            )
            if isinstance(result, Response):
                submission.response = result
                outcome.responses.append(result)
            else:
                submission.proposal = result
                outcome.proposals.append(result)
            submission.save(update_fields=["response", "proposal"])
        if link is not None and len(outcome.responses) == 1 and not link.is_batch:
            AnswerLink.objects.filter(pk=link.pk).update(response=outcome.responses[0])
        first = outcome.submissions[0]
        outcome.anchor = confirm_answer(
            contact=contact,
            responses=outcome.responses,
            proposals=outcome.proposals,
            reference=f"submission:{first.pk}",
            recommendation_id=first.recommendation_id,
            now=now,
        )
    return outcome
