"""Writes of the answers app: issuing links, recording answers (or proposals when the
contact lacks authority), meetings. Each runs in one transaction; a refusal raises
``AnswerRefused`` or a ``LifecycleError`` and changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from accounts.models import User
from accounts.permissions import Capability, require
from answers import crypto
from answers.choices import ProposalStatus
from answers.errors import AnswerRefused, Msg
from answers.models import (
    AnswerLink,
    AnswerPolicy,
    AuthorityRule,
    InboundMessage,
    LinkAttempt,
    Meeting,
    PortalCode,
    Proposal,
    Submission,
)
from answers.presentation import (
    PORTAL_PURPOSE,
    collecting_batch,
    link_issue,
    link_url_sealed,
    present_to,
    reply_address,
    token_sha256,
)
from catalog.choices import Severity
from clients.models import Client, Contact
from followup.services import outbox_enqueue_email
from ledger.actors import actor_label
from ledger.models import Anchor
from ledger.services import anchor_record, event_append
from lib import sealed
from lib.canonical import canonical_json, sha256_hex
from recommendations import mail
from recommendations.choices import Channel, Decision
from recommendations.decisions import is_decidable, text_matches, validate_decision
from recommendations.lifecycle import DECISION_ACTIONS
from recommendations.lifecycle import Msg as LifecycleMsg
from recommendations.models import Recommendation, Response
from recommendations.services import recommendation_present, response_record

DUAL_APPROVAL_REASON = gettext_noop("first of two approvals needed to reject a critical item")
NO_AUTHORITY_REASON = gettext_noop("the contact may not decide this severity")
CONSENT_STATEMENTS = {
    "en": "I am authorised to decide for {client}.",
    "it": "Sono autorizzato a decidere per {client}.",
}


def language_of(client: Client) -> str:
    return client.language if client.language in CONSENT_STATEMENTS else "en"


def consent_statement(client: Client) -> str:
    return CONSENT_STATEMENTS[language_of(client)].format(client=client.name)


# --- authority ---------------------------------------------------------------------


def contact_may_decide(contact: Contact, severity: str) -> bool:
    """True when the contact is active and, if the client has authority rules, a rule
    grants it this severity; without rules every decision maker may decide."""
    if not contact.is_active:
        return False
    rules = {r.contact_id: r for r in AuthorityRule.objects.filter(client_id=contact.client_id)}
    if rules:
        rule = rules.get(contact.pk)
        return rule is not None and rule.allows(severity)
    return contact.is_decision_maker


def authorised_contacts(client: Client, severity: str) -> list[Contact]:
    """The active contacts of ``client`` who may decide ``severity``."""
    contacts = Contact.objects.filter(client=client, is_active=True).order_by("name", "pk")
    return [c for c in contacts if contact_may_decide(c, severity)]


def authority_set(
    *, client: Client, contact: Contact, severities: list[str], actor: User, now: dt.datetime
) -> AuthorityRule:
    """Say which severities ``contact`` may decide (an empty list: none)."""
    require(actor, Capability.WRITE)
    if contact.client_id != client.pk:
        raise AnswerRefused(LifecycleMsg.RESPONDER_OTHER_CLIENT, field="contact")
    unknown = sorted(set(severities) - set(Severity.values))
    if unknown:
        raise AnswerRefused(f"Unknown severity {unknown[0]!r}.", field="severities")
    with transaction.atomic():
        rule, _ = AuthorityRule.objects.update_or_create(
            contact=contact, defaults={"client": client, "severities": sorted(set(severities))}
        )
        event_append(
            client=client,
            kind="answers.authority_set",
            actor=actor_label(actor),
            at=now,
            data={"contact": contact.email, "severities": rule.severities},
        )
    return rule


def authority_replace(
    *,
    client: Client,
    rules: dict[int, list[str]] | None,
    dual_approval_reject_critical: bool,
    actor: User,
    now: dt.datetime,
) -> None:
    """Replace the client's whole authority table: ``rules`` maps contact ids to the
    severities they may decide (None: no rules, every decision maker decides)."""
    require(actor, Capability.WRITE)
    contacts = {c.pk: c for c in Contact.objects.filter(client=client)}
    for contact_id, severities in (rules or {}).items():
        if contact_id not in contacts:
            raise AnswerRefused(LifecycleMsg.RESPONDER_OTHER_CLIENT, field="contact")
        unknown = sorted(set(severities) - set(Severity.values))
        if unknown:
            raise AnswerRefused(f"Unknown severity {unknown[0]!r}.", field="severities")
    with transaction.atomic():
        AuthorityRule.objects.filter(client=client).delete()
        table = {}
        for contact_id, severities in sorted((rules or {}).items()):
            chosen = sorted(set(severities))
            AuthorityRule.objects.create(client=client, contact_id=contact_id, severities=chosen)
            table[contacts[contact_id].email] = chosen
        AnswerPolicy.objects.update_or_create(
            client=client,
            defaults={"dual_approval_reject_critical": dual_approval_reject_critical},
        )
        event_append(
            client=client,
            kind="answers.authority_set",
            actor=actor_label(actor),
            at=now,
            data={
                "rules": table if rules is not None else None,
                "dual_approval_reject_critical": dual_approval_reject_critical,
            },
        )


# --- links -------------------------------------------------------------------------


def link_attempt_record(
    *,
    link: AnswerLink | None,
    outcome: str,
    now: dt.datetime,
    method: str = "",
    detail: str = "",
    ip: str | None = None,
    user_agent: str = "",
) -> LinkAttempt:
    """Log one request to an answer link or a portal form (``link`` is None when the
    token named no link), whatever its outcome; long texts are cut to their columns."""
    return LinkAttempt.objects.create(
        link=link,
        at=now,
        method=method[:8],
        outcome=outcome[:20],
        detail=detail[:1000],
        ip=ip,
        user_agent=user_agent[:400],
    )


def link_renew(*, link: AnswerLink, now: dt.datetime) -> bool:
    """E-mail the link's contact (only them) fresh links for the recommendations of an
    expired link that still wait for a decision. Once per link; False when refused."""
    with transaction.atomic():
        link = (
            AnswerLink.objects.select_for_update().select_related("contact__client").get(pk=link.pk)
        )
        if link.used_at is not None or now < link.expires_at or not link.contact.is_active:
            return False
        if link.attempts.filter(outcome="renewed").exists():
            return False
        recs = [
            r
            for r in link.recommendations.select_related("client").order_by("pk")
            if is_decidable(r.status)
        ]
        if not recs:
            return False
        present_to(link.contact, recs, now=now, resend=f"link{link.pk}")
    return True


def recommendations_present(
    *, recommendations: list[Recommendation], actor: User, now: dt.datetime
) -> list[Recommendation]:
    """Present several drafts of one client at once: each decision maker gets one
    e-mail with a link per recommendation and a batch link for all of them."""
    require(actor, Capability.WRITE)
    if not recommendations:
        raise AnswerRefused(Msg.NOTHING_TO_PRESENT, field="recommendations", code="required")
    if len({r.client_id for r in recommendations}) > 1:
        raise AnswerRefused(Msg.ONE_CLIENT_PER_BATCH, field="recommendations")
    with transaction.atomic():
        with collecting_batch() as collected:
            done = [
                recommendation_present(recommendation=r, actor=actor, now=now)
                for r in recommendations
            ]
        per_contact: dict[int, tuple[Contact, list[Recommendation]]] = {}
        for rec, recipients in collected:
            for contact in recipients:
                per_contact.setdefault(contact.pk, (contact, []))[1].append(rec)
        for contact, recs in per_contact.values():
            present_to(contact, recs, now=now)
    return done


# --- answers -----------------------------------------------------------------------


@dataclass
class AnswerItem:
    recommendation: Recommendation
    decision: str
    planned_for: dt.date | None = None
    deferred_until: dt.date | None = None
    justification: str = ""


@dataclass
class AnswerOutcome:
    submissions: list[Submission] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    anchor: Anchor | None = None


def _check_item(item: AnswerItem, rec: Recommendation, today: dt.date) -> None:
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


def _check_text(rec: Recommendation, shown_sha256: str) -> None:
    """Refuse an answer given to a text other than the recommendation's current one;
    the same rule (``text_matches``) and the same refusal on every client channel."""
    if not text_matches(rec, shown_sha256):
        raise AnswerRefused(Msg.TEXT_CHANGED, code="text_changed")


def _needs_dual_approval(rec: Recommendation, decision: str) -> bool:
    """True when the client's policy wants two contacts to reject this critical item."""
    if rec.severity != Severity.CRITICAL or decision != Decision.REJECTED:
        return False
    policy = AnswerPolicy.objects.filter(client_id=rec.client_id).first()
    return policy is not None and policy.dual_approval_reject_critical


def _record(
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
    if _needs_dual_approval(rec, item.decision):
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
    language = language_of(rec.client)
    for target in routed:
        link = link_issue(contact=target, recommendations=[rec], now=now)
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
            _check_text(rec, presented)
            _check_item(item, rec, today)
            recs.append(rec)
        if not typed_name:
            raise AnswerRefused(Msg.NAME_REQUIRED, field="typed_name", code="required")
        if not consent:
            raise AnswerRefused(
                Msg.CONSENT_REQUIRED.format(client=contact.client.name),
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
            result = _record(
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
    language = language_of(contact.client)
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


# --- answers taken down by staff ---------------------------------------------------


def _contact_named(client: Client, name: str) -> Contact | None:
    """The one active contact of ``client`` called ``name`` (case aside), if exactly
    one: the meeting page and the CLI say who decided by name, and authority belongs
    to a contact."""
    name = name.strip()
    if not name:
        return None
    found = list(Contact.objects.filter(client=client, is_active=True, name__iexact=name)[:2])
    return found[0] if len(found) == 1 else None


def _authority_limited(rec: Recommendation, decision: str) -> bool:
    """True when who decides matters: the client has authority rules, or this is the
    rejection of a critical item under dual approval."""
    return AuthorityRule.objects.filter(client_id=rec.client_id).exists() or _needs_dual_approval(
        rec, decision
    )


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
            if _authority_limited(rec, decision):
                raise AnswerRefused(
                    Msg.RESPONDER_CONTACT_REQUIRED.format(client=rec.client.name),
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
        return _record(
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


# --- meetings ----------------------------------------------------------------------


@dataclass
class MeetingDecision:
    recommendation: Recommendation
    decision: str
    responder_name: str
    planned_for: dt.date | None = None
    deferred_until: dt.date | None = None
    justification: str = ""
    responder: Contact | None = None


def meeting_record(
    *,
    client: Client,
    channel: str,
    held_on: dt.date,
    attendees: str,
    decisions: list[MeetingDecision],
    recorded_by: User,
    now: dt.datetime,
    notes: str = "",
) -> tuple[Meeting, list[Response | Proposal]]:
    """Record the decisions staff took down in a meeting or a call, all or none. Each
    goes through ``staff_answer_record``: one from someone without authority is a
    Proposal in the returned list, not a Response."""
    require(recorded_by, Capability.WRITE)
    if channel not in (Channel.MEETING, Channel.PHONE):
        raise AnswerRefused(f"Unknown channel {channel!r}.", field="channel")
    if not attendees.strip():
        raise AnswerRefused(Msg.ATTENDEES_REQUIRED, field="attendees", code="required")
    if not decisions:
        raise AnswerRefused(Msg.NO_DECISIONS, field="decisions", code="required")
    if any(d.recommendation.client_id != client.pk for d in decisions):
        raise AnswerRefused(Msg.OTHER_CLIENT, field="decisions")
    with transaction.atomic():
        meeting = Meeting.objects.create(
            client=client,
            channel=channel,
            held_on=held_on,
            attendees=attendees.strip(),
            notes=notes.strip(),
            recorded_by=recorded_by,
            recorded_at=now,
        )
        results = [
            staff_answer_record(
                recommendation=d.recommendation,
                decision=d.decision,
                channel=channel,
                now=now,
                recorded_by=recorded_by,
                responder=d.responder,
                responder_name=d.responder_name,
                justification=d.justification,
                planned_for=d.planned_for,
                deferred_until=d.deferred_until,
                attendees=meeting.attendees,
                evidence_ref=f"meeting:{meeting.pk}",
            )
            for d in decisions
        ]
    return meeting, results


# --- client portal -----------------------------------------------------------------

PORTAL_CODE_MINUTES = 15
PORTAL_CODES_PER_ADDRESS_PER_HOUR = 3
PORTAL_CODES_PER_IP_PER_HOUR = 10


def portal_code_request(*, email: str, now: dt.datetime, ip: str | None = None) -> int:
    """E-mail a one-time sign-in link to every active contact with this address; the
    number sent (0 when unknown or rate-limited: the page says the same either way)."""
    email = email.strip().lower()
    hour_ago = now - dt.timedelta(hours=1)
    with transaction.atomic():
        contacts = list(
            Contact.objects.select_related("client").filter(email__iexact=email, is_active=True)
        )
        recent = PortalCode.objects.filter(created_at__gt=hour_ago)
        if recent.filter(contact__email__iexact=email).count() >= (
            PORTAL_CODES_PER_ADDRESS_PER_HOUR
        ) or (ip and recent.filter(ip=ip).count() >= PORTAL_CODES_PER_IP_PER_HOUR):
            return 0
        for contact in contacts:
            # Only a nonce and the token's hash are stored; the worker makes the token.
            nonce = sealed.new_nonce()
            code = PortalCode.objects.create(
                contact=contact,
                code_sha256=token_sha256(sealed.token_for(PORTAL_PURPOSE, nonce)),
                code_nonce=nonce,
                created_at=now,
                expires_at=now + dt.timedelta(minutes=PORTAL_CODE_MINUTES),
                ip=ip,
            )
            language = language_of(contact.client)
            key = f"portal-sign-in:{code.pk}"
            context = {
                "contact": contact,
                "client": contact.client,
                "url": f"{settings.HEEDED_BASE_URL}/portal/sign-in/"
                f"{sealed.placeholder(PORTAL_PURPOSE, nonce)}/",
                "minutes": PORTAL_CODE_MINUTES,
                "head": mail.client_head(contact.client, at=now, reference=key),
            }
            parts = mail.render_email("portal_sign_in", context, language=language)
            outbox_enqueue_email(
                key=key,
                to=[contact.email],
                subject=parts.subject,
                text=parts.text,
                html=parts.html,
                now=now,
                client=contact.client,
            )
    return len(contacts)


def portal_sign_in(*, token: str, now: dt.datetime) -> Contact:
    """Spend a sign-in link: the contact it names, once, before it expires."""
    digest = token_sha256(token)
    claimed = PortalCode.objects.filter(
        code_sha256=digest, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    code = PortalCode.objects.select_related("contact").filter(code_sha256=digest).first()
    if not claimed or code is None or not code.contact.is_active:
        raise AnswerRefused(Msg.CODE_INVALID, code="invalid")
    return code.contact


# --- encryption at rest --------------------------------------------------------------

ROTATE_BATCH = 200


def evidence_rotate() -> dict[str, int]:
    """Re-encrypt every evidence blob with the newest key, in batches, each batch in
    one transaction; returns the count per kind. Raises InvalidToken (and stops) when a
    blob was made with a key no longer configured."""
    counts: dict[str, int] = {}
    for model, field_name, label in (
        (InboundMessage, "raw_encrypted", "inbound e-mails"),
        (Submission, "payload_encrypted", "form submissions"),
    ):
        done = 0
        last = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model.objects.select_for_update()
                    .filter(pk__gt=last)
                    .order_by("pk")
                    .values_list("pk", field_name)[:ROTATE_BATCH]
                )
                for pk, blob in rows:
                    model.objects.filter(pk=pk).update(**{field_name: crypto.rotate(blob)})
            if not rows:
                break
            done += len(rows)
            last = rows[-1][0]
        counts[label] = done
    return counts


# --- staff review of inbound e-mail --------------------------------------------------


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
