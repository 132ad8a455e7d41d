"""The in-memory half of every transition: check the table, validate the inputs,
change the fields, return the ledger event's data. No database access.

``recommendations.services`` runs these under the row lock, one transition at a time;
``recommendations.batch`` runs the very same functions on many recommendations in
memory and then writes them set-based. So a rule lives here once, whichever path a
change takes (the decision rules themselves are ``decisions.validate_decision``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from accounts.models import User
from accounts.permissions import Capability, allows
from catalog.choices import Severity
from catalog.fields import clean_definitions, clean_values
from catalog.models import TemplateVersion
from clients.models import Client, Contact
from clients.policy import Policy
from ledger.actors import Actor
from lib.languages import Language
from recommendations import deadlines
from recommendations.choices import STAFF_CHANNELS, Decision, Status
from recommendations.decisions import validate_decision
from recommendations.lifecycle import (
    Action,
    InvalidValue,
    MissingField,
    Msg,
    NotDue,
    check_transition,
)
from recommendations.models import Recommendation, Response, snapshot_sha256

Apply = Callable[[Recommendation], dict[str, Any]]


def iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def stamp(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment else None


def advance(
    rec: Recommendation, action: Action, *, now: dt.datetime, policy: Policy, apply: Apply
) -> dict[str, Any]:
    """Move ``rec`` (in memory) by ``action``: the table first, then ``apply``'s checks
    and changes, then the new status and deadline. Returns the event data
    (``from``, ``to`` and the action's inputs); raises a LifecycleError and leaves
    the status as it was when refused."""
    source = rec.status
    target = check_transition(action, source)
    data = apply(rec)
    rec.status = target
    rec.updated_at = now
    rec.next_action_at = rec.compute_next_action_at(policy, now)
    return {"from": source, "to": rec.status, **data}


def present(
    *,
    now: dt.datetime,
    policy: Policy,
    recipients: Sequence[Contact],
    notify_client: bool = True,
) -> Apply:
    """``present``: the text is frozen, the response clock starts. ``recipients`` are
    the client's active decision makers, in pk order."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        if not rec.title or not rec.body:
            raise InvalidValue(Msg.NOT_PRESENTABLE)
        if not recipients:
            raise MissingField(Msg.NO_DECISION_MAKERS, field="contact")
        rec.text_sha256 = snapshot_sha256(
            title=rec.title, body=rec.body, risk_if_ignored=rec.risk_if_ignored
        )
        rec.presented_at = now
        rec.response_due_at = deadlines.response_due_at(
            policy=policy, severity=rec.severity, presented_at=now, tz=rec.client.tz
        )
        data: dict[str, Any] = {
            "text_sha256": rec.text_sha256,
            "response_due_at": stamp(rec.response_due_at),
            "recipients": sorted(c.email for c in recipients),
        }
        if not notify_client:
            data["notified"] = False
        return data

    return apply


def decision_actor(*, recorded_by: User | None, responder: Contact | None, channel: str) -> Actor:
    """Who a decision is recorded as: the staff member who took it, else the contact,
    else the answers capability; an answer taken by staff must name that staff member."""
    if recorded_by is None and channel in STAFF_CHANNELS:
        raise MissingField(
            gettext("An answer taken by staff must say which staff member recorded it."),
            field="recorded_by",
        )
    return recorded_by if recorded_by is not None else (responder or "answers")


def decide(
    *,
    decision: str,
    channel: str,
    now: dt.datetime,
    policy: Policy,
    recorded_by: User | None = None,
    responder: Contact | None = None,
    responder_name: str = "",
    justification: str = "",
    planned_for: dt.date | None = None,
    deferred_until: dt.date | None = None,
    attendees: str = "",
    shown_text_sha256: str = "",
    evidence_ref: str = "",
) -> Apply:
    """A client's decision (accept, defer, reject), checked by ``validate_decision``.
    The justification is stripped; the responder's name defaults to the contact's."""
    justification = justification.strip()
    responder_name = (responder_name or (responder.name if responder else "")).strip()

    def apply(rec: Recommendation) -> dict[str, Any]:
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
            responder_name=responder_name,
            shown_text_sha256=shown_text_sha256,
        )
        if decision == Decision.ACCEPTED:
            rec.planned_for = planned_for
            rec.planned_date_lapsed_on = None
            rec.deferred_until = None
            rec.review_at = None
        elif decision == Decision.DEFERRED:
            rec.deferred_until = deferred_until
            rec.deferral_count += 1
            rec.review_at = None
        else:
            rec.review_at = deadlines.rejection_review_at(
                policy=policy,
                decided_at=now,
                tz=rec.client.tz,
                qbr_cadence_months=int(rec.client.qbr_cadence_months),
            )
            rec.deferred_until = None
        rec.decided_at = now
        return {
            "decision": decision,
            "justification": justification,
            "planned_for": iso(planned_for if decision == Decision.ACCEPTED else None),
            "deferred_until": iso(deferred_until if decision == Decision.DEFERRED else None),
            "responder": responder.email if responder else None,
            "responder_name": responder_name,
            "channel": channel,
            "recorded_by": recorded_by.get_username() if recorded_by else None,
            "attendees": attendees.strip(),
            "shown_text_sha256": shown_text_sha256 or rec.text_sha256,
            "evidence_ref": evidence_ref,
        }

    return apply


def response_of(
    rec: Recommendation,
    data: dict[str, Any],
    *,
    seq: int,
    now: dt.datetime,
    recorded_by: User | None = None,
    responder: Contact | None = None,
    planned_for: dt.date | None = None,
    deferred_until: dt.date | None = None,
) -> Response:
    """The (unsaved) Response of a decision whose event data is ``data`` and whose
    ledger event has sequence number ``seq``."""
    decision = data["decision"]
    return Response(
        recommendation=rec,
        decision=decision,
        justification=data["justification"],
        planned_for=planned_for if decision == Decision.ACCEPTED else None,
        deferred_until=deferred_until if decision == Decision.DEFERRED else None,
        responder=responder,
        responder_name=data["responder_name"],
        channel=data["channel"],
        recorded_by=recorded_by,
        attendees=data["attendees"],
        shown_text_sha256=data["shown_text_sha256"],
        evidence_ref=data["evidence_ref"],
        recorded_at=now,
        ledger_seq=seq,
    )


def start_work(*, now: dt.datetime, note: str = "") -> Apply:
    """The MSP starts implementing an accepted recommendation."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        rec.work_started_at = now
        return {"note": note.strip()}

    return apply


def mark_implemented(*, now: dt.datetime, note: str = "", evidence_ref: str = "") -> Apply:
    """The work is done; verification (on endpoints or by staff) may follow."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        rec.implemented_at = now
        return {"note": note.strip(), "evidence_ref": evidence_ref}

    return apply


def mark_verified(*, now: dt.datetime, evidence_ref: str = "", note: str = "") -> Apply:
    """Evidence shows the recommendation is in effect (implemented now, if not before)."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        rec.verified_at = now
        if rec.implemented_at is None:
            rec.implemented_at = now
        return {"note": note.strip(), "evidence_ref": evidence_ref}

    return apply


def withdraw(*, now: dt.datetime, reason: str) -> Apply:
    """The MSP takes the recommendation back; a reason is required."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        if not reason.strip():
            raise MissingField(Msg.WITHDRAW_REASON_REQUIRED, field="reason")
        rec.closed_at = now
        rec.close_reason = reason.strip()
        return {"reason": reason.strip()}

    return apply


def expire_planned_date(*, now: dt.datetime) -> Apply:
    """The planned date passed without the work done: recorded once per date."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        if rec.planned_date_lapsed_on is not None and rec.planned_date_lapsed_on == rec.planned_for:
            raise NotDue(Msg.PLANNED_DATE_ALREADY_LAPSED)
        if rec.planned_for is None or now < deadlines.planned_date_lapses_at(
            rec.planned_for, rec.client.tz
        ):
            raise NotDue(Msg.PLANNED_DATE_NOT_DUE)
        rec.planned_date_lapsed_on = rec.planned_for
        return {"planned_for": iso(rec.planned_for)}

    return apply


def mark_ignored(*, now: dt.datetime, reason: str = "") -> Apply:
    """No answer after the whole escalation ladder."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        rec.decided_at = now
        return {"reason": reason.strip() or "no response after the escalation ladder"}

    return apply


# --- a new draft -----------------------------------------------------------------

# Once: ``Severity.values`` builds its list (and every label) again at each call.
_SEVERITIES = frozenset(Severity.values)


def check_text(errors: dict[str, list[str]], *, title: str, body: str, severity: str) -> None:
    """The rules every draft's text obeys, at creation and at each edit."""
    if not title:
        errors.setdefault("title", []).append("A recommendation needs a title.")
    if not body:
        errors.setdefault("body", []).append("A recommendation needs a body.")
    if severity not in _SEVERITIES:
        errors.setdefault("severity", []).append(
            f"Severity must be one of {', '.join(Severity.values)}."
        )


def clean_tags(tags: list[str] | None) -> list[str]:
    return sorted({t.strip().lower() for t in (tags or []) if t and t.strip()})


def owner_refusal(owner: User) -> str | None:
    """Why ``owner`` may not own a follow-up, or None: the account must be active and
    allowed to act (the role table's WRITE), since the owner is who does the work."""
    if not owner.is_active:
        return gettext(Msg.OWNER_DISABLED)
    if not allows(owner, Capability.WRITE):
        return gettext(Msg.OWNER_NOT_STAFF)
    return None


def draft(
    *,
    client: Client,
    actor: Actor,
    now: dt.datetime,
    external_id_taken: Callable[[str], bool],
    template_version: TemplateVersion | None = None,
    title: str = "",
    body: str = "",
    risk_if_ignored: str = "",
    severity: str = "",
    category: str = "",
    control_refs: list[dict[str, str]] | None = None,
    custom_fields: list[dict[str, Any]] | None = None,
    field_values: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    owner: User | None = None,
    contact: Contact | None = None,
    scope: str = "",
    external_id: str = "",
    language: str = "",
) -> tuple[Recommendation, dict[str, Any]]:
    """A new draft, unsaved, and the data of its ``recommendation.created`` event (see
    ``services.recommendation_create``). ``external_id_taken`` says whether the client
    already has a recommendation with that external id. Raises ValidationError with
    per-field messages."""
    errors: dict[str, list[str]] = {}
    if language and language not in Language.values:
        errors["language"] = [
            gettext("Language must be one of %(values)s.") % {"values": ", ".join(Language.values)}
        ]
        language = ""
    if template_version is not None:
        template = template_version.template
        text = template_version.text(language or client.language)
        if not (title or body or risk_if_ignored):
            language = text.language
        title = title or text.title
        body = body or text.body
        risk_if_ignored = risk_if_ignored or text.risk_if_ignored
        severity = severity or template.default_severity
        category = category or template.category
        control_refs = control_refs if control_refs is not None else template_version.control_refs
        custom_fields = (
            custom_fields if custom_fields is not None else template_version.custom_fields
        )
        tags = tags if tags is not None else list(template.tags)
        verification_rule = template_version.verification_rule
    else:
        verification_rule = ""
    language = language or client.language
    title, body = title.strip(), body.strip()
    check_text(errors, title=title, body=body, severity=severity)
    if contact is not None and contact.client_id != client.pk:
        errors.setdefault("contact", []).append(Msg.RESPONDER_OTHER_CLIENT)
    if owner is not None and (refused := owner_refusal(owner)):
        errors.setdefault("owner", []).append(refused)
    try:
        definitions = clean_definitions(custom_fields)
        values = clean_values(definitions, field_values)
    except ValidationError as exc:
        for key, messages in getattr(exc, "message_dict", {"field_values": exc.messages}).items():
            errors.setdefault(
                f"field_values.{key}" if key != "__all__" else "field_values", []
            ).extend(messages)
        definitions, values = [], {}
    external_id = external_id.strip()
    if external_id and external_id_taken(external_id):
        errors.setdefault("external_id", []).append(
            f"This client already has a recommendation with external id {external_id!r}."
        )
    if errors:
        raise ValidationError(errors)
    rec = Recommendation(
        client=client,
        template_version=template_version,
        title=title,
        body=body,
        risk_if_ignored=risk_if_ignored.strip(),
        text_sha256=snapshot_sha256(
            title=title, body=body, risk_if_ignored=risk_if_ignored.strip()
        ),
        language=language,
        category=category,
        control_refs=list(control_refs or []),
        verification_rule=verification_rule,
        custom_fields=definitions,
        field_values=values,
        severity=severity,
        tags=clean_tags(tags),
        scope=scope.strip(),
        owner=owner,
        contact=contact,
        external_id=external_id,
        status=Status.DRAFT,
        created_at=now,
        created_by=actor if isinstance(actor, User) else None,
        updated_at=now,
    )
    data = {
        "title": rec.title,
        "text_sha256": rec.text_sha256,
        "language": rec.language,
        "severity": rec.severity,
        "template_version": template_version.pk if template_version else None,
        "owner": owner.get_username() if owner else None,
        "contact": contact.pk if contact else None,
        "tags": rec.tags,
        "field_values": values,
        "external_id": rec.external_id or None,
    }
    return rec, data
