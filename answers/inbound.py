"""Answers by e-mail: store, match, verify, parse, record.

Every message is stored raw and encrypted before anything else is decided, so nothing
received is ever lost. It then has to be matched to a presentation (the reply token in
replies+TOKEN@, else the Message-ID of the presenting e-mail in In-Reply-To or
References), pass ``answers.mail.verify.verify_inbound`` for the client's domains, come
from an active contact of that client, and say a complete decision. Only then is it
recorded (or, from a contact without authority, proposed). The outcome is one of:

- recorded / proposal: exit 0
- unverified (authentication or sender refused): kept as evidence, exit 3
- unmatched / unreadable: kept, exit 2
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from django.conf import settings
from django.db import IntegrityError, transaction

from answers import crypto
from answers.choices import Outcome
from answers.errors import AnswerRefused
from answers.mail.replies import parse_reply, reply_text
from answers.mail.verify import verify_inbound
from answers.models import AnswerLink, InboundMessage
from answers.services import AnswerItem, _check_item, _check_text, _record, confirm_answer
from clients.models import Contact
from followup.models import OutboxMessage
from ledger.services import event_append
from recommendations.choices import Channel, Decision
from recommendations.lifecycle import LifecycleError
from recommendations.models import Recommendation, Response

EXIT_CODES = {
    Outcome.RECORDED: 0,
    Outcome.PROPOSAL: 0,
    Outcome.UNVERIFIED: 3,
    Outcome.UNMATCHED: 2,
    Outcome.UNREADABLE: 2,
}
MAX_BYTES = 25 * 1024 * 1024
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class InboundResult:
    message: InboundMessage
    exit_code: int
    line: str


def _headers(raw: bytes) -> EmailMessage | None:
    try:
        return BytesHeaderParser(policy=email.policy.default).parsebytes(raw)  # type: ignore[return-value]
    except Exception:
        return None


def _header_text(headers: EmailMessage | None, name: str) -> str:
    if headers is None:
        return ""
    try:
        return str(headers.get(name, "") or "")
    except Exception:  # a malformed header must not stop the message being kept
        return ""


def reply_token(headers: EmailMessage) -> str | None:
    """The token of replies+TOKEN@domain in Delivered-To, X-Original-To, To or Cc."""
    local, _, domain = settings.HEEDED_REPLY_ADDRESS.lower().partition("@")
    pattern = re.compile(rf"^{re.escape(local)}\+([0-9a-f]{{20}})@{re.escape(domain)}$")
    for name in ("Delivered-To", "X-Original-To", "To", "Cc"):
        values = [_header_text(headers, name)] if name in headers else []
        for _, address in getaddresses(values):
            found = pattern.match(address.strip().lower())
            if found:
                return found.group(1)
    return None


def _match(headers: EmailMessage | None) -> tuple[AnswerLink | None, str]:
    if headers is None:
        return None, ""
    token = reply_token(headers)
    if token:
        link = AnswerLink.objects.select_related("client", "contact").filter(reply_token=token)
        return link.first(), f"reply token {token}"
    ids = _MESSAGE_ID.findall(
        f"{_header_text(headers, 'In-Reply-To')} {_header_text(headers, 'References')}"
    )
    for message_id in reversed(ids):
        sent = (
            OutboxMessage.objects.filter(
                payload__message_id=message_id, idempotency_key__startswith="present:"
            )
            .exclude(recommendation_id=None)
            .first()
        )
        if sent is None:
            continue
        link = (
            AnswerLink.objects.select_related("client", "contact")
            .filter(
                contact__email__iexact=sent.payload["to"][0],
                recommendations=sent.recommendation_id,
                client_id=sent.client_id,
                # A batch e-mail's Message-ID names the batch, not its first item.
                is_batch=sent.idempotency_key.startswith("present:batch:"),
            )
            .order_by("-created_at", "-pk")
            .first()
        )
        if link is not None:
            return link, f"In-Reply-To {message_id}"
    return None, ""


def inbound_receive(
    *, raw: bytes, now: dt.datetime, dnsfunc: Callable | None = None
) -> InboundResult:
    """Keep one received message and record the answer it carries, if it counts."""
    digest = hashlib.sha256(raw).hexdigest()
    previous = InboundMessage.objects.filter(raw_sha256=digest).order_by("pk").first()
    if previous is not None:
        # A redelivery (or a replay) of the same bytes counts once.
        return _duplicate(previous)
    headers = _headers(raw[:MAX_BYTES])
    stored = InboundMessage(
        received_at=now,
        raw_encrypted=crypto.encrypt(raw),
        raw_sha256=digest,
        message_id=_header_text(headers, "Message-ID")[:998],
        subject=_header_text(headers, "Subject")[:998],
    )
    try:
        outcome, reason, _ = _process(raw, headers, stored, now=now, dnsfunc=dnsfunc)
    except IntegrityError:
        # The same bytes arrived concurrently and the other delivery stored them first.
        return _duplicate(InboundMessage.objects.get(raw_sha256=digest))
    stored.outcome, stored.reason = outcome, reason
    return InboundResult(stored, EXIT_CODES[outcome], f"{outcome}: {reason}")


def _duplicate(previous: InboundMessage) -> InboundResult:
    line = f"{previous.outcome}: duplicate of inbound message {previous.pk}"
    return InboundResult(previous, EXIT_CODES[previous.outcome], line)


def _event(stored: InboundMessage) -> None:
    if stored.client_id:
        event_append(
            client=stored.client,
            kind="answers.inbound",
            actor="system:mail-in",
            at=stored.received_at,
            recommendation_id=stored.recommendation_id,
            data={
                "inbound": stored.pk,
                "raw_sha256": stored.raw_sha256,
                "from": stored.from_address,
                "outcome": stored.outcome,
                "reason": stored.reason,
            },
        )


def _save(stored: InboundMessage, outcome: str, reason: str) -> None:
    stored.outcome, stored.reason = outcome, reason
    with transaction.atomic():
        stored.save()
        _event(stored)


def _process(
    raw: bytes,
    headers: EmailMessage | None,
    stored: InboundMessage,
    *,
    now: dt.datetime,
    dnsfunc: Callable | None,
) -> tuple[str, str, Response | None]:
    if headers is None or len(raw) > MAX_BYTES or not raw.strip():
        reason = "the message could not be parsed"
        _save(stored, Outcome.UNREADABLE, reason)
        return Outcome.UNREADABLE, reason, None
    link, matched_by = _match(headers)
    if link is None:
        reason = "no reply token and no In-Reply-To of a presentation e-mail"
        _save(stored, Outcome.UNMATCHED, reason)
        return Outcome.UNMATCHED, reason, None
    client = link.client
    stored.client, stored.link = client, link
    verdict = verify_inbound(
        raw,
        allowed_domains=list(client.domains.values_list("domain", flat=True)),
        trusted_authserv_id=settings.HEEDED_TRUSTED_AUTHSERV_ID or None,
        auth_mode=settings.HEEDED_MAIL_AUTH_MODE,
        exchange_tenant_id=settings.HEEDED_EXCHANGE_TENANT_ID or None,
        dnsfunc=dnsfunc,
        now=now,
    )
    stored.from_address = (verdict.from_address or "")[:320]
    stored.verification = {**verdict.checks, "matched_by": matched_by}
    if verdict.message is None:
        _save(stored, Outcome.UNREADABLE, verdict.reason)
        return Outcome.UNREADABLE, verdict.reason, None
    if not verdict.counted:
        _save(stored, Outcome.UNVERIFIED, verdict.reason)
        return Outcome.UNVERIFIED, verdict.reason, None
    contact = (
        Contact.objects.select_related("client")
        .filter(client=client, email__iexact=verdict.from_address, is_active=True)
        .first()
    )
    if contact is None:
        reason = f"{verdict.from_address} is not an active contact of {client.name}"
        _save(stored, Outcome.UNVERIFIED, reason)
        return Outcome.UNVERIFIED, reason, None
    stored.contact = contact
    recs = list(link.recommendations.select_related("client").order_by("pk"))
    if len(recs) != 1:
        reason = "a reply to several recommendations names none of them; answer with the links"
        _save(stored, Outcome.UNMATCHED, reason)
        return Outcome.UNMATCHED, reason, None
    rec = recs[0]
    stored.recommendation = rec
    parsed = parse_reply(reply_text(verdict.message), today=now.astimezone(client.tz).date())
    if parsed.error is not None or parsed.decision is None:
        reason = parsed.error or "the reply says no decision"
        _save(stored, Outcome.UNREADABLE, reason)
        return Outcome.UNREADABLE, reason, None
    item = AnswerItem(
        recommendation=rec,
        decision=parsed.decision,
        planned_for=parsed.date if parsed.decision == Decision.ACCEPTED else None,
        deferred_until=parsed.date if parsed.decision == Decision.DEFERRED else None,
        justification=parsed.reason,
    )
    try:
        with transaction.atomic():
            rec = Recommendation.objects.select_related("client").get(pk=rec.pk)
            # The hash of the text the presenting e-mail was sent with, against the
            # current text: the rule and the refusal of the link and the portal.
            sent_with = link.text_sha256.get(str(rec.pk), "")
            _check_text(rec, sent_with)
            _check_item(item, rec, now.astimezone(client.tz).date())
            stored.outcome = Outcome.RECORDED
            stored.save()
            result = _record(
                rec=rec,
                contact=contact,
                item=item,
                responder_name=contact.name,
                channel=Channel.EMAIL,
                evidence_ref=f"inbound:{stored.pk}",
                now=now,
                shown_text_sha256=sent_with,
            )
            if isinstance(result, Response):
                outcome = Outcome.RECORDED
                reason = f"{result.get_decision_display()} by {contact.email} ({verdict.reason})"
                stored.response = result
                confirm_answer(
                    contact=contact,
                    responses=[result],
                    proposals=[],
                    reference=f"inbound:{stored.pk}",
                    recommendation_id=rec.pk,
                    now=now,
                )
            else:
                outcome = Outcome.PROPOSAL
                reason = f"proposal by {contact.email}: {result.reason}"
                confirm_answer(
                    contact=contact,
                    responses=[],
                    proposals=[result],
                    reference=f"inbound:{stored.pk}",
                    recommendation_id=rec.pk,
                    now=now,
                )
            stored.outcome, stored.reason = outcome, reason
            stored.save(update_fields=["outcome", "reason", "response"])
            _event(stored)
    except (AnswerRefused, LifecycleError) as refused:
        # Everything above was rolled back: keep the message as a new row.
        stored.pk, stored.response = None, None
        stored._state.adding = True
        reason = f"refused: {refused.message}"
        _save(stored, Outcome.UNREADABLE, reason)
        return Outcome.UNREADABLE, reason, None
    return outcome, reason, stored.response
