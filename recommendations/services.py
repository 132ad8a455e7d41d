"""Every change to a recommendation. One function per transition of the table in
``lifecycle.py``; each validates, writes, recomputes ``next_action_at`` and appends
its ledger event in one transaction, or raises a ``LifecycleError`` and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from accounts.permissions import Capability, require
from catalog.choices import Severity
from catalog.fields import clean_definitions, clean_values
from catalog.models import TemplateVersion
from clients.models import Client, Contact
from clients.policy import policy_for
from ledger.actors import Actor, actor_label
from ledger.models import Event
from ledger.services import event_append
from recommendations import deadlines
from recommendations.choices import STAFF_CHANNELS, Decision, Status
from recommendations.decisions import decision_action, validate_decision
from recommendations.events import Transitioned, announce
from recommendations.lifecycle import (
    Action,
    InvalidValue,
    MissingField,
    Msg,
    NotDue,
    check_transition,
)
from recommendations.models import Recommendation, Response, snapshot_sha256
from recommendations.tallies import key_of, track


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _stamp(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment else None


def _transition(
    recommendation: Recommendation,
    action: Action,
    *,
    actor: Actor,
    now: dt.datetime,
    apply: Callable[[Recommendation], dict[str, Any]],
    record: Callable[[Recommendation, Event], Response] | None = None,
    recipients: list[Contact] | None = None,
    notify_client: bool = True,
) -> tuple[Recommendation, Event, Response | None]:
    """Lock the row, check the table, let ``apply`` validate and change fields (it
    returns the event data), then save, recompute the deadline, append the event,
    let ``record`` write the decision's Response, and announce the transition to its
    subscribers (``recommendations.events``) — all in one transaction."""
    require(actor, Capability.WRITE)
    with transaction.atomic():
        rec = (
            Recommendation.objects.select_for_update(of=("self",))
            .select_related("client", "client__followup_policy")
            .get(pk=recommendation.pk)
        )
        source = rec.status
        counted = key_of(rec)
        target = check_transition(action, source)
        data = apply(rec)
        rec.status = target
        rec.updated_at = now
        rec.next_action_at = rec.compute_next_action_at(policy_for(rec.client), now)
        rec.save()
        # The dashboard's counters move in this transaction (recommendations.tallies).
        track(counted, key_of(rec))
        event = event_append(
            client=rec.client,
            kind=f"recommendation.{action.value}",
            actor=actor_label(actor),
            at=now,
            recommendation_id=rec.pk,
            data={"from": source, "to": rec.status, **data},
        )
        response = record(rec, event) if record is not None else None
        announce(
            Transitioned(
                action=action,
                recommendation=rec,
                source=source,
                target=rec.status,
                inputs=event.data,
                actor=actor,
                now=now,
                ledger_event=event,
                response=response,
                recipients=tuple(recipients or ()),
                notify_client=notify_client,
            )
        )
    return rec, event, response


# --- creation --------------------------------------------------------------------


def recommendation_create(
    *,
    client: Client,
    actor: Actor,
    now: dt.datetime,
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
) -> Recommendation:
    """Create a draft, from a template version (its text is copied) or ad hoc.

    Explicit arguments override the template's values. Raises ValidationError with
    per-field messages when something is missing or invalid.
    """
    require(actor, Capability.WRITE)
    errors: dict[str, list[str]] = {}
    if template_version is not None:
        template = template_version.template
        title = title or template_version.title
        body = body or template_version.body
        risk_if_ignored = risk_if_ignored or template_version.risk_if_ignored
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
    title, body = title.strip(), body.strip()
    if not title:
        errors.setdefault("title", []).append("A recommendation needs a title.")
    if not body:
        errors.setdefault("body", []).append("A recommendation needs a body.")
    if severity not in Severity.values:
        errors.setdefault("severity", []).append(
            f"Severity must be one of {', '.join(Severity.values)}."
        )
    if contact is not None and contact.client_id != client.pk:
        errors.setdefault("contact", []).append(Msg.RESPONDER_OTHER_CLIENT)
    if owner is not None and not owner.is_active:
        errors.setdefault("owner", []).append("The follow-up owner's account is disabled.")
    try:
        definitions = clean_definitions(custom_fields)
        values = clean_values(definitions, field_values)
    except ValidationError as exc:
        for key, messages in getattr(exc, "message_dict", {"field_values": exc.messages}).items():
            errors.setdefault(
                f"field_values.{key}" if key != "__all__" else "field_values", []
            ).extend(messages)
        definitions, values = [], {}
    clean_tags = sorted({t.strip().lower() for t in (tags or []) if t and t.strip()})
    external_id = external_id.strip()
    if (
        external_id
        and Recommendation.objects.filter(client=client, external_id=external_id).exists()
    ):
        errors.setdefault("external_id", []).append(
            f"This client already has a recommendation with external id {external_id!r}."
        )
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        rec = Recommendation.objects.create(
            client=client,
            template_version=template_version,
            title=title,
            body=body,
            risk_if_ignored=risk_if_ignored.strip(),
            text_sha256=snapshot_sha256(
                title=title, body=body, risk_if_ignored=risk_if_ignored.strip()
            ),
            category=category,
            control_refs=list(control_refs or []),
            verification_rule=verification_rule,
            custom_fields=definitions,
            field_values=values,
            severity=severity,
            tags=clean_tags,
            scope=scope.strip(),
            owner=owner,
            contact=contact,
            external_id=external_id,
            status=Status.DRAFT,
            created_at=now,
            created_by=actor if isinstance(actor, User) else None,
            updated_at=now,
        )
        track(None, key_of(rec))
        event_append(
            client=client,
            kind="recommendation.created",
            actor=actor_label(actor),
            at=now,
            recommendation_id=rec.pk,
            data={
                "title": rec.title,
                "text_sha256": rec.text_sha256,
                "severity": rec.severity,
                "template_version": template_version.pk if template_version else None,
                "owner": owner.get_username() if owner else None,
                "contact": contact.pk if contact else None,
                "tags": rec.tags,
                "field_values": values,
                "external_id": rec.external_id or None,
            },
        )
    return rec


# --- transitions -----------------------------------------------------------------


def recommendation_present(
    *,
    recommendation: Recommendation,
    actor: Actor,
    now: dt.datetime,
    notify_client: bool = True,
) -> Recommendation:
    """Put a draft to the client and start the response clock. The presentation is
    announced with its decision makers; the answers app e-mails each of them (through
    the outbox, in this transaction).

    ``notify_client=False`` records a presentation that happened elsewhere (imported
    history): no one is e-mailed and no answer link is made, and the ledger event
    says so (``"notified": false``).
    """
    recipients: list[Contact] = []

    def apply(rec: Recommendation) -> dict[str, Any]:
        if not rec.title or not rec.body:
            raise InvalidValue(Msg.NOT_PRESENTABLE)
        recipients.extend(
            Contact.objects.filter(
                client=rec.client, is_decision_maker=True, is_active=True
            ).order_by("pk")
        )
        if not recipients:
            raise MissingField(Msg.NO_DECISION_MAKERS, field="contact")
        rec.text_sha256 = snapshot_sha256(
            title=rec.title, body=rec.body, risk_if_ignored=rec.risk_if_ignored
        )
        rec.presented_at = now
        rec.response_due_at = deadlines.response_due_at(
            policy=policy_for(rec.client), severity=rec.severity, presented_at=now, tz=rec.client.tz
        )
        data: dict[str, Any] = {
            "text_sha256": rec.text_sha256,
            "response_due_at": _stamp(rec.response_due_at),
            "recipients": sorted(c.email for c in recipients),
        }
        if not notify_client:
            data["notified"] = False
        return data

    rec, _, _ = _transition(
        recommendation,
        Action.PRESENT,
        actor=actor,
        now=now,
        apply=apply,
        recipients=recipients,
        notify_client=notify_client,
    )
    return rec


def response_record(
    *,
    recommendation: Recommendation,
    decision: str,
    channel: str,
    now: dt.datetime,
    recorded_by: User | None = None,
    responder: Contact | None = None,
    responder_name: str = "",
    justification: str = "",
    planned_for: dt.date | None = None,
    deferred_until: dt.date | None = None,
    attendees: str = "",
    shown_text_sha256: str = "",
    evidence_ref: str = "",
) -> Response:
    """Record a client's decision as a new Response (never an edit of an old one).

    The decision is checked by ``decisions.validate_decision``, the same rules every
    answer channel applies. Who at the client may decide is the answers app's
    concern: staff entry points go through ``answers.services.staff_answer_record``,
    which calls this once the contact's authority allows it."""
    action = decision_action(decision)
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
                policy=policy_for(rec.client),
                decided_at=now,
                tz=rec.client.tz,
                qbr_cadence_months=int(rec.client.qbr_cadence_months),
            )
            rec.deferred_until = None
        rec.decided_at = now
        return {
            "decision": decision,
            "justification": justification,
            "planned_for": _iso(planned_for if decision == Decision.ACCEPTED else None),
            "deferred_until": _iso(deferred_until if decision == Decision.DEFERRED else None),
            "responder": responder.email if responder else None,
            "responder_name": responder_name,
            "channel": channel,
            "recorded_by": recorded_by.get_username() if recorded_by else None,
            "attendees": attendees.strip(),
            "shown_text_sha256": shown_text_sha256 or rec.text_sha256,
            "evidence_ref": evidence_ref,
        }

    actor: Actor = recorded_by if recorded_by is not None else (responder or "answers")
    if recorded_by is None and channel in STAFF_CHANNELS:
        raise MissingField(
            "An answer taken by staff must say which staff member recorded it.", field="recorded_by"
        )

    def record(rec: Recommendation, event: Event) -> Response:
        # Written in the transaction of the state and the event, before subscribers
        # (a ticket note, a webhook) hear of the decision.
        data = event.data
        return Response.objects.create(
            recommendation=rec,
            decision=decision,
            justification=data["justification"],
            planned_for=planned_for if decision == Decision.ACCEPTED else None,
            deferred_until=deferred_until if decision == Decision.DEFERRED else None,
            responder=responder,
            responder_name=responder_name,
            channel=channel,
            recorded_by=recorded_by,
            attendees=data["attendees"],
            shown_text_sha256=data["shown_text_sha256"],
            evidence_ref=evidence_ref,
            recorded_at=now,
            ledger_seq=event.seq,
        )

    _, _, response = _transition(
        recommendation, action, actor=actor, now=now, apply=apply, record=record
    )
    assert response is not None
    return response


def recommendation_start_work(
    *, recommendation: Recommendation, actor: Actor, now: dt.datetime, note: str = ""
) -> Recommendation:
    """The MSP starts implementing an accepted recommendation."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        rec.work_started_at = now
        return {"note": note.strip()}

    rec, _, _ = _transition(recommendation, Action.START_WORK, actor=actor, now=now, apply=apply)
    return rec


def recommendation_mark_implemented(
    *,
    recommendation: Recommendation,
    actor: Actor,
    now: dt.datetime,
    note: str = "",
    evidence_ref: str = "",
) -> Recommendation:
    """The work is done; verification (on endpoints or by staff) may follow."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        rec.implemented_at = now
        return {"note": note.strip(), "evidence_ref": evidence_ref}

    rec, _, _ = _transition(
        recommendation, Action.MARK_IMPLEMENTED, actor=actor, now=now, apply=apply
    )
    return rec


def recommendation_mark_verified(
    *,
    recommendation: Recommendation,
    actor: Actor,
    now: dt.datetime,
    evidence_ref: str = "",
    note: str = "",
) -> Recommendation:
    """Evidence shows the recommendation is in effect."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        rec.verified_at = now
        if rec.implemented_at is None:
            rec.implemented_at = now
        return {"note": note.strip(), "evidence_ref": evidence_ref}

    rec, _, _ = _transition(recommendation, Action.MARK_VERIFIED, actor=actor, now=now, apply=apply)
    return rec


def recommendation_drift(
    *, recommendation: Recommendation, actor: Actor, now: dt.datetime, reason: str
) -> Recommendation:
    """Evidence for a verified recommendation was lost: back to accepted."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        if not reason.strip():
            raise MissingField("Say what evidence was lost.", field="reason")
        rec.verified_at = None
        rec.implemented_at = None
        rec.planned_date_lapsed_on = None
        # Work is due again at once: the accepted item is overdue from today.
        rec.planned_for = now.astimezone(rec.client.tz).date()
        return {"reason": reason.strip()}

    rec, _, _ = _transition(recommendation, Action.DRIFT, actor=actor, now=now, apply=apply)
    return rec


def recommendation_withdraw(
    *, recommendation: Recommendation, actor: Actor, now: dt.datetime, reason: str
) -> Recommendation:
    """The MSP takes the recommendation back (superseded, no longer relevant, ...)."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        if not reason.strip():
            raise MissingField(Msg.WITHDRAW_REASON_REQUIRED, field="reason")
        rec.closed_at = now
        rec.close_reason = reason.strip()
        return {"reason": reason.strip()}

    rec, _, _ = _transition(recommendation, Action.WITHDRAW, actor=actor, now=now, apply=apply)
    return rec


def recommendation_expire_deferral(
    *, recommendation: Recommendation, now: dt.datetime, actor: Actor = "followup"
) -> Recommendation:
    """The deferral date has come: the client is asked again, with a new due date."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        if rec.deferred_until is None:
            # A deferral always has a date; a row changed behind the services' back
            # gets a refusal that names the field, not a TypeError.
            raise MissingField(Msg.DEFER_DATE_REQUIRED, field="deferred_until")
        due = deadlines.start_of_day(rec.deferred_until, rec.client.tz)
        if now < due:
            raise NotDue(Msg.DEFERRAL_NOT_DUE)
        lapsed = rec.deferred_until
        rec.deferred_until = None
        rec.response_due_at = deadlines.response_due_at(
            policy=policy_for(rec.client), severity=rec.severity, presented_at=now, tz=rec.client.tz
        )
        return {
            "deferred_until": _iso(lapsed),
            "deferral_count": rec.deferral_count,
            "response_due_at": _stamp(rec.response_due_at),
        }

    rec, _, _ = _transition(
        recommendation, Action.EXPIRE_DEFERRAL, actor=actor, now=now, apply=apply
    )
    return rec


def recommendation_expire_planned_date(
    *, recommendation: Recommendation, now: dt.datetime, actor: Actor = "followup"
) -> Recommendation:
    """Record that an accepted item passed its planned date without being done.

    The status stays; the event is what the escalation ladder and reports build on.
    """

    def apply(rec: Recommendation) -> dict[str, Any]:
        if rec.planned_date_lapsed_on is not None and rec.planned_date_lapsed_on == rec.planned_for:
            raise NotDue(Msg.PLANNED_DATE_ALREADY_LAPSED)
        if rec.planned_for is None or now < deadlines.planned_date_lapses_at(
            rec.planned_for, rec.client.tz
        ):
            raise NotDue(Msg.PLANNED_DATE_NOT_DUE)
        rec.planned_date_lapsed_on = rec.planned_for
        return {"planned_for": _iso(rec.planned_for)}

    rec, _, _ = _transition(
        recommendation, Action.EXPIRE_PLANNED_DATE, actor=actor, now=now, apply=apply
    )
    return rec


def recommendation_mark_ignored(
    *, recommendation: Recommendation, now: dt.datetime, actor: Actor = "followup", reason: str = ""
) -> Recommendation:
    """No answer came after the whole escalation ladder: the item is ignored
    (counted as rejected in adoption figures, shown apart)."""

    def apply(rec: Recommendation) -> dict[str, Any]:
        rec.decided_at = now
        return {"reason": reason.strip() or "no response after the escalation ladder"}

    rec, _, _ = _transition(recommendation, Action.MARK_IGNORED, actor=actor, now=now, apply=apply)
    return rec
