"""Answers by e-mail: store, match, verify, parse, record; and staff review of the
messages that did not count.

Every message is stored raw and encrypted before anything else is decided, so nothing
received is ever lost. It then has to be matched to a presentation (the reply token in
replies+TOKEN@, else the Message-ID of the presenting e-mail in In-Reply-To or
References), pass ``answers.mail.verify.verify_inbound`` for the client's domains, come
from an active contact of that client, not be a replay (``Replay``: identified by the
headers its signature covers, counted once by its Message-ID, its link neither expired nor
superseded, dated after the latest answer), and say a complete decision. Only then is it
recorded (or, from a contact without authority, proposed). The outcome is one of:

- recorded / proposal: exit 0
- unverified (authentication or sender refused): kept as evidence, exit 3
- unmatched / unreadable: kept, exit 2
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.models import User
from accounts.permissions import Capability, require
from answers.choices import Outcome
from answers.errors import AnswerRefused, Msg
from answers.mail.replies import parse_reply, reply_text
from answers.mail.verify import MailVerdict, verify_inbound
from answers.models import AnswerLink, InboundMessage, Proposal
from answers.services.recording import (
    AnswerItem,
    answer_record,
    check_item,
    check_text,
    confirm_answer,
)
from clients.models import Contact
from followup.models import OutboxMessage
from ledger.actors import actor_label
from ledger.services import event_append
from lib import crypto
from lib.securitylog import security_event
from recommendations.choices import Channel, Decision
from recommendations.lifecycle import LifecycleError
from recommendations.models import Recommendation, Response

EXIT_CODES: dict[str, int] = {
    Outcome.RECORDED: 0,
    Outcome.PROPOSAL: 0,
    Outcome.UNVERIFIED: 3,
    Outcome.UNMATCHED: 2,
    Outcome.UNREADABLE: 2,
}
MAX_BYTES = 25 * 1024 * 1024
#: The outcomes in which a message counted: its Message-ID may count no second time.
COUNTED = (Outcome.RECORDED, Outcome.PROPOSAL)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class Replay:
    """Why a message that passed ``verify_inbound`` still decides nothing: it is not
    identified by what its signature covers, or it was seen, expired or overtaken.
    Each is kept as evidence (``unverified``) and goes to review."""

    TOKEN_NOT_SIGNED = (
        "The reply token {token} is not in a To or Cc header that the signature covers, "  # noqa: S105
        "so the message may have been redirected to another recommendation."
    )
    REFERENCE_NOT_SIGNED = (
        "The In-Reply-To or References header that names the presenting e-mail is not "
        "covered by the signature."
    )
    MESSAGE_ID_MISSING = (
        "The message has no valid Message-ID, so a replay of it could not be told apart."
    )
    MESSAGE_ID_NOT_SIGNED = (
        "The signature does not cover the Message-ID header, so a replay of it could not "
        "be told apart."
    )
    DATE_MISSING = "The message has no valid Date, so it cannot be ordered against other answers."
    DATE_NOT_SIGNED = (
        "The signature does not cover the Date header, so the message cannot be ordered "
        "against other answers."
    )
    MESSAGE_ID_SEEN = (
        "Message-ID {message_id} already counted as inbound message {pk}; a message counts once."
    )
    LINK_EXPIRED = "The reply token belongs to a link that expired on {expired}."
    SUPERSEDED_BY_NEWER_LINK = (
        "The reply token was superseded: the recommendation was presented to this contact "
        "again on {on}."
    )
    SUPERSEDED_BY_ANSWER = (
        "The reply token was superseded: {contact} has answered this recommendation since "
        "it was sent."
    )
    OLDER_THAN_ANSWER = (
        "The message is dated {date}, not after the answer recorded at {recorded}; an older "
        "message never overturns a newer answer."
    )


@dataclass(frozen=True)
class InboundResult:
    message: InboundMessage
    exit_code: int
    line: str


def _headers(raw: bytes) -> EmailMessage | None:
    try:
        return BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    except Exception:
        return None


def _header_text(headers: EmailMessage | None, name: str) -> str:
    if headers is None:
        return ""
    try:
        return str(headers.get(name, "") or "")
    except Exception:  # a malformed header must not stop the message being kept
        return ""


# The reply token counts only from the headers the sender wrote (and, under DKIM, signed):
# To and Cc. Delivered-To and X-Original-To are written on the way by any relay, so they
# find the message's client for review but never decide which recommendation it answers.
_SIGNED_TOKEN_HEADERS = ("To", "Cc")
_ROUTING_HEADERS = ("Delivered-To", "X-Original-To")


def reply_token(headers: EmailMessage) -> tuple[str, str] | None:
    """(token, header) of the first replies+TOKEN@domain in To, Cc, Delivered-To or
    X-Original-To, in that order."""
    local, _, domain = settings.HEEDED_REPLY_ADDRESS.lower().partition("@")
    pattern = re.compile(rf"^{re.escape(local)}\+([0-9a-f]{{20}})@{re.escape(domain)}$")
    for name in _SIGNED_TOKEN_HEADERS + _ROUTING_HEADERS:
        values = [_header_text(headers, name)] if name in headers else []
        for _, address in getaddresses(values):
            found = pattern.match(address.strip().lower())
            if found:
                return found.group(1), name
    return None


@dataclass(frozen=True)
class _Matched:
    link: AnswerLink
    by: str  # for the evidence: "reply token …" or "In-Reply-To <…>"
    header: str  # the header the match was read from
    token: str = ""


def _match(headers: EmailMessage | None) -> _Matched | None:
    if headers is None:
        return None
    found = reply_token(headers)
    if found:
        token, header = found
        links = AnswerLink.objects.select_related("client", "contact").filter(reply_token=token)
        first = links.first()
        return _Matched(first, f"reply token {token}", header, token) if first else None
    for header in ("References", "In-Reply-To"):
        for message_id in reversed(_MESSAGE_ID.findall(_header_text(headers, header))):
            link = _link_of_presentation(message_id)
            if link is not None:
                return _Matched(link, f"{header} {message_id}", header)
    return None


def _link_of_presentation(message_id: str) -> AnswerLink | None:
    sent = (
        OutboxMessage.objects.filter(
            payload__message_id=message_id, idempotency_key__startswith="present:"
        )
        .exclude(recommendation_id__isnull=True)
        .first()
    )
    if sent is None:
        return None
    return (
        AnswerLink.objects.select_related("client", "contact")
        .filter(
            Q(client_id=sent.client_id),
            contact__email__iexact=sent.payload["to"][0],
            recommendations=sent.recommendation_id,
            # A batch e-mail's Message-ID names the batch, not its first item.
            is_batch=sent.idempotency_key.startswith("present:batch:"),
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def message_id_of(headers: EmailMessage | None) -> str:
    """The Message-ID's <id>, as the key a reply counts once by; empty without one."""
    found = _MESSAGE_ID.findall(_header_text(headers, "Message-ID"))
    return found[0] if len(found) == 1 else ""


def _date_of(headers: EmailMessage) -> dt.datetime | None:
    try:
        when = parsedate_to_datetime(_header_text(headers, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    # "-0000" (no zone given) parses as naive: RFC 5322 reads it as UTC.
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _replay_refusal(
    headers: EmailMessage,
    *,
    signed: set[str] | None,
    matched: _Matched,
    contact: Contact,
    rec: Recommendation,
    now: dt.datetime,
) -> str | None:
    """Why this authenticated reply still decides nothing, or None if it may.

    ``signed`` is the set of header names the counting DKIM signature covers, or None
    when the trusted server's Authentication-Results counted the message: the headers
    are then taken as delivered (docs/inbound-mail.md, section 8)."""

    def covered(name: str) -> bool:
        return signed is None or name.lower() in signed

    link = matched.link
    if matched.token and (matched.header in _ROUTING_HEADERS or not covered(matched.header)):
        return Replay.TOKEN_NOT_SIGNED.format(token=matched.token)
    if not matched.token and not covered(matched.header):
        return Replay.REFERENCE_NOT_SIGNED
    message_id = message_id_of(headers)
    if not message_id:
        return Replay.MESSAGE_ID_MISSING
    if not covered("Message-ID"):
        return Replay.MESSAGE_ID_NOT_SIGNED
    date = _date_of(headers)
    if date is None:
        return Replay.DATE_MISSING
    if not covered("Date"):
        return Replay.DATE_NOT_SIGNED
    seen = (
        InboundMessage.objects.filter(
            client_id=link.client_id, message_id=message_id, outcome__in=COUNTED
        )
        .order_by("pk")
        .first()
    )
    if seen is not None:
        return Replay.MESSAGE_ID_SEEN.format(message_id=message_id, pk=seen.pk)
    if now >= link.expires_at:
        return Replay.LINK_EXPIRED.format(expired=link.expires_at.date().isoformat())
    newer = (
        AnswerLink.objects.filter(recommendations=rec, contact=contact)
        .filter(Q(created_at__gt=link.created_at) | Q(created_at=link.created_at, pk__gt=link.pk))
        .order_by("created_at", "pk")
        .first()
    )
    if newer is not None:
        return Replay.SUPERSEDED_BY_NEWER_LINK.format(on=newer.created_at.date())
    if (
        link.used_at is not None
        or Response.objects.filter(
            recommendation=rec, responder=contact, recorded_at__gte=link.created_at
        ).exists()
        or Proposal.objects.filter(
            recommendation=rec, contact=contact, created_at__gte=link.created_at
        ).exists()
    ):
        return Replay.SUPERSEDED_BY_ANSWER.format(contact=contact.email)
    latest = Response.objects.filter(recommendation=rec).order_by("-recorded_at", "-pk").first()
    if latest is not None and date <= latest.recorded_at:
        return Replay.OLDER_THAN_ANSWER.format(
            date=date.astimezone(dt.UTC).isoformat(),
            recorded=latest.recorded_at.isoformat(),
        )
    return None


def inbound_receive(
    *,
    raw: bytes,
    now: dt.datetime,
    dnsfunc: Callable[..., Any] | None = None,
    _retried: bool = False,
) -> InboundResult:
    """Keep one received message and record the answer it carries, if it counts."""
    digest = hashlib.sha256(raw).hexdigest()
    previous = InboundMessage.objects.filter(raw_sha256=digest).order_by("pk").first()
    if previous is not None:
        # A redelivery of the same bytes counts once (a replay in other bytes is caught
        # by its Message-ID, see _replay_refusal).
        return _duplicate(previous)
    headers = _headers(raw[:MAX_BYTES])
    stored = InboundMessage(
        received_at=now,
        raw_encrypted=crypto.encrypt(raw),
        raw_sha256=digest,
        message_id=(message_id_of(headers) or _header_text(headers, "Message-ID"))[:998],
        subject=_header_text(headers, "Subject")[:998],
    )
    try:
        outcome, reason, _ = _process(raw, headers, stored, now=now, dnsfunc=dnsfunc)
    except IntegrityError:
        previous = InboundMessage.objects.filter(raw_sha256=digest).order_by("pk").first()
        if previous is not None:
            # The same bytes arrived concurrently and the other delivery stored them first.
            return _duplicate(previous)
        if _retried:
            raise
        # Other bytes with the same Message-ID counted concurrently (the unique constraint
        # "inbound_message_id_counts_once"); judged again, this one is refused as seen.
        return inbound_receive(raw=raw, now=now, dnsfunc=dnsfunc, _retried=True)
    stored.outcome, stored.reason = outcome, reason
    if outcome == Outcome.UNVERIFIED:
        # Who sent it is unproven: the claimed sender is a field, the actor nobody.
        security_event(
            "inbound_unverified",
            level=logging.WARNING,
            actor="anonymous",
            inbound=stored.pk,
            client=stored.client_id or "",
            claimed_from=stored.from_address,
            reason=reason,
        )
    return InboundResult(stored, EXIT_CODES[outcome], f"{outcome}: {reason}")


def _duplicate(previous: InboundMessage) -> InboundResult:
    line = f"{previous.outcome}: duplicate of inbound message {previous.pk}"
    return InboundResult(previous, EXIT_CODES[previous.outcome], line)


def _event(stored: InboundMessage) -> None:
    if stored.client is not None:
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
    dnsfunc: Callable[..., Any] | None,
) -> tuple[str, str, Response | None]:
    if headers is None or len(raw) > MAX_BYTES or not raw.strip():
        reason = "the message could not be parsed"
        _save(stored, Outcome.UNREADABLE, reason)
        return Outcome.UNREADABLE, reason, None
    matched = _match(headers)
    if matched is None:
        reason = "no reply token and no In-Reply-To of a presentation e-mail"
        _save(stored, Outcome.UNMATCHED, reason)
        return Outcome.UNMATCHED, reason, None
    link, matched_by = matched.link, matched.by
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
    by_server = verdict.checks.get("counted_by") == "authentication-results"
    return _judge_and_record(
        stored,
        headers,
        verdict,
        verdict.message,
        signed=None if by_server else set(verdict.checks.get("signed_headers") or ()),
        matched=matched,
        contact=contact,
        rec=rec,
        now=now,
    )


def _judge_and_record(
    stored: InboundMessage,
    headers: EmailMessage,
    verdict: MailVerdict,
    message: EmailMessage,
    *,
    signed: set[str] | None,
    matched: _Matched,
    contact: Contact,
    rec: Recommendation,
    now: dt.datetime,
) -> tuple[str, str, Response | None]:
    """Judge an authenticated reply against the answers already given and record it,
    all under the recommendation's row lock: a reply arriving at the same time waits,
    then is judged against the answer this one recorded, so of two concurrent replies
    an older one never overturns a newer answer (``Replay.OLDER_THAN_ANSWER``)."""
    link, client = matched.link, matched.link.client
    try:
        with transaction.atomic():
            rec = (
                Recommendation.objects.select_for_update(of=("self",))
                .select_related("client")
                .get(pk=rec.pk)
            )
            refusal = _replay_refusal(
                headers, signed=signed, matched=matched, contact=contact, rec=rec, now=now
            )
            if refusal is not None:
                _save(stored, Outcome.UNVERIFIED, refusal)
                return Outcome.UNVERIFIED, refusal, None
            today = now.astimezone(client.tz).date()
            parsed = parse_reply(reply_text(message), today=today)
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
            # The hash of the text the presenting e-mail was sent with, against the
            # current text: the rule and the refusal of the link and the portal.
            sent_with = link.text_sha256.get(str(rec.pk), "")
            check_text(rec, sent_with)
            check_item(item, rec, today)
            stored.outcome = Outcome.RECORDED
            stored.save()
            result = answer_record(
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
            else:
                outcome = Outcome.PROPOSAL
                reason = f"proposal by {contact.email}: {result.reason}"
            confirm_answer(
                contact=contact,
                responses=[result] if isinstance(result, Response) else [],
                proposals=[] if isinstance(result, Response) else [result],
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


# --- staff review of what did not count ---------------------------------------------


def inbound_review(
    *, message: InboundMessage, actor: User, note: str, now: dt.datetime
) -> InboundMessage:
    """Mark an uncounted message as reviewed by staff. It stays uncounted: a decision it
    reports must be recorded by staff as such (channel phone/meeting/staff)."""
    require(actor, Capability.WRITE)
    note = note.strip()
    if not note:
        raise AnswerRefused(Msg.REVIEW_NOTE_REQUIRED, field="review_note", code="required")
    with transaction.atomic():
        claimed = InboundMessage.objects.filter(pk=message.pk, reviewed_at__isnull=True).update(
            reviewed_at=now, reviewed_by=actor, review_note=note
        )
        if not claimed:
            raise AnswerRefused(Msg.ALREADY_REVIEWED, code="already_reviewed")
        message.refresh_from_db()
        if message.client is not None:
            event_append(
                client=message.client,
                kind="answers.inbound_reviewed",
                actor=actor_label(actor),
                at=now,
                recommendation_id=message.recommendation_id,
                data={"inbound": message.pk, "outcome": message.outcome, "note": note},
            )
    return message
