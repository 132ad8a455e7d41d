"""The sweep: act on every follow-up step that is due, then announce them, grouped.

Phase 1 (**act**), one short transaction per due recommendation:

- read only recommendations with ``next_action_at <= now``, earliest first, through
  the partial index ``rec_next_action_due`` (the cost grows with what is due);
- claim the row: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent
  sweeps split the work; on SQLite the transaction is IMMEDIATE (one writer), and the
  row is re-read inside it. Either way the row must still be due when re-read;
- insert the ``FollowupStep`` row (UNIQUE per recommendation and step of a cycle: the
  last guard against acting twice), apply the step (ticket, lifecycle transition) and
  move ``next_action_at`` to the next step, all in that one transaction.

Phase 2 (**notify**): steps not yet announced are grouped per client and step name;
each group becomes one message to the client and one to the MSP staff, listing the
items by severity (oldest first) with the next QBR date. Queuing the messages, their
ledger events and marking the steps announced happen in one transaction, so a
worker killed between the phases leaves steps the next sweep announces.

Everything depends on the database and ``now`` only, so replaying a day with
``heeded sweep --now`` does the same thing again, line for line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string

from clients.models import Client, Contact
from clients.policy import policy_for
from followup.models import FollowupStep
from followup.services.outbox import outbox_enqueue_email
from followup.services.tickets import ticket_open_or_update
from followup.services.webhooks import webhook_publish
from ledger.services import event_append
from lib.canonical import canonical_json, sha256_hex
from recommendations import deadlines
from recommendations import services as lifecycle
from recommendations.deadlines import SEVERITY_ORDER, PlannedStep, Step
from recommendations.models import Recommendation

ACTOR = "followup"
BATCH = 100

SUBJECTS = {
    Step.REMINDER_1: "Reminder: {n} security recommendation(s) await your answer",
    Step.REMINDER_2: "Due tomorrow: {n} security recommendation(s) await your answer",
    Step.ESCALATION_1: "Overdue: {n} security recommendation(s) have no answer",
    Step.ESCALATION_2: "Second notice: {n} security recommendation(s) are overdue",
    Step.ESCALATION_3: "Risk acknowledgement: {n} security recommendation(s) marked ignored",
    Step.DEFERRAL_DUE: "Deferral ended: {n} security recommendation(s) need a new answer",
    Step.PLANNED_DATE: "Planned date passed: {n} accepted recommendation(s) not done",
    Step.RE_REVIEW: "Review: {n} rejected security recommendation(s) to reconsider",
}


@dataclasses.dataclass(frozen=True)
class Action:
    """One line of the sweep's report."""

    at: dt.datetime
    text: str

    def line(self) -> str:
        return f"{self.at.astimezone(dt.UTC).isoformat()} {self.text}"


# --- phase 1: act ----------------------------------------------------------------------


def due_ids(now: dt.datetime, limit: int) -> list[int]:
    """Ids of recommendations due at ``now``, earliest first, read through the
    partial index (its condition ``next_action_at IS NOT NULL`` is implied by the
    range, which lets SQLite and PostgreSQL both use it)."""
    return list(
        Recommendation.objects.filter(next_action_at__lte=now)
        .order_by("next_action_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def _claim(rec_id: int, now: dt.datetime) -> Recommendation | None:
    qs = Recommendation.objects.select_related(
        "client", "client__followup_policy", "owner", "contact"
    )
    if connection.vendor != "sqlite":
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return qs.filter(pk=rec_id, next_action_at__lte=now).first()


def _last_step(rec: Recommendation, cycle: str) -> FollowupStep | None:
    return (
        FollowupStep.objects.filter(recommendation=rec, cycle=cycle)
        .order_by("-acted_at", "-id")
        .first()
    )


def _move(rec: Recommendation, at: dt.datetime | None) -> None:
    Recommendation.objects.filter(pk=rec.pk).update(next_action_at=at)
    rec.next_action_at = at


def act_on(rec_id: int, *, now: dt.datetime, worker: str = "") -> list[Action]:
    """Act on the due step of one recommendation, if it is still due and not taken
    by another worker. Returns what was done (empty when nothing)."""
    with transaction.atomic():
        rec = _claim(rec_id, now)
        if rec is None:
            return []
        first = deadlines.next_step(rec, policy_for(rec.client), now=now)
        if first is None:
            _move(rec, None)
            return []
        last = _last_step(rec, first.cycle)
        step = (
            deadlines.next_step(
                rec, policy_for(rec.client), last=last.name, last_at=last.acted_at, now=now
            )
            if last
            else first
        )
        if step is None or step.at > now:
            # Nothing due after all (the ladder is done, or the column was stale).
            _move(rec, step.at if step else None)
            return []
        try:
            with transaction.atomic():
                row = FollowupStep.objects.create(
                    recommendation=rec,
                    client=rec.client,
                    key=step.key,
                    cycle=step.cycle,
                    name=step.name,
                    level=step.level,
                    due_at=step.at,
                    acted_at=now,
                    worker=worker[:100],
                )
        except IntegrityError:
            return []
        text = _apply(rec, step, row, now=now)
        row.save(update_fields=["data"])
        event = event_append(
            client=rec.client,
            kind="followup.step",
            actor=f"system:{ACTOR}",
            at=now,
            recommendation_id=rec.pk,
            data={"step": step.name, "key": step.key, "level": step.level, **row.data},
        )
        webhook_publish(event, severity=rec.severity, title=rec.title)
    return [Action(now, f"{step.name} recommendation #{rec.pk} ({rec.client.name}): {text}")]


def _apply(rec: Recommendation, step: PlannedStep, row: FollowupStep, *, now: dt.datetime) -> str:
    """The effect of one step; returns the report text. ``row.data`` gets the facts."""
    name = step.name
    if name in (Step.REMINDER_1, Step.REMINDER_2):
        _move(rec, _after(rec, step, now))
        return "reminder"
    if name in (Step.ESCALATION_1, Step.ESCALATION_2, Step.ESCALATION_3):
        level = step.level
        note = f"Escalation level {level}: no answer since the deadline."
        ticket, opened = ticket_open_or_update(
            recommendation=rec, actor=ACTOR, now=now, note=note, escalation_level=level
        )
        row.data = {"ticket": ticket.pk}
        if name == Step.ESCALATION_3:
            lifecycle.recommendation_mark_ignored(
                recommendation=rec, now=now, actor=ACTOR, reason="no response after level 3"
            )
            return f"marked ignored, ticket #{ticket.pk} at level 3"
        _move(rec, _after(rec, step, now))
        return f"ticket #{ticket.pk} {'opened' if opened else 'updated'} at level {level}"
    if name == Step.DEFERRAL_DUE:
        count = rec.deferral_count
        escalate = count >= policy_for(rec.client).max_deferrals
        row.data = {"deferral_count": count, "escalated": escalate}
        lifecycle.recommendation_expire_deferral(recommendation=rec, now=now, actor=ACTOR)
        text = f"re-asked after {count} deferral(s)"
        if escalate:
            ticket, _ = ticket_open_or_update(
                recommendation=rec,
                actor=ACTOR,
                now=now,
                note=f"Deferred {count} times: escalated.",
                escalation_level=1,
            )
            row.data["ticket"] = ticket.pk
            text += f", escalated, ticket #{ticket.pk}"
        return text
    if name == Step.PLANNED_DATE:
        planned = rec.planned_for
        lifecycle.recommendation_expire_planned_date(recommendation=rec, now=now, actor=ACTOR)
        ticket, _ = ticket_open_or_update(
            recommendation=rec,
            actor=ACTOR,
            now=now,
            note=f"Accepted but not done by the planned date {planned}.",
            escalation_level=1,
        )
        row.data = {"planned_for": str(planned), "ticket": ticket.pk}
        return f"planned date {planned} passed, ticket #{ticket.pk}"
    if name == Step.RE_REVIEW:
        _move(rec, None)
        return "re-review asked"
    raise ValueError(f"unknown step {name!r}")


def _after(rec: Recommendation, step: PlannedStep, now: dt.datetime) -> dt.datetime | None:
    following = deadlines.next_step(
        rec, policy_for(rec.client), last=step.name, last_at=now, now=now
    )
    return following.at if following else None


Report = Callable[[Action], None] | None


def act(
    *, now: dt.datetime, worker: str = "", batch: int = BATCH, report: Report = None
) -> list[Action]:
    """Phase 1 until nothing due is left that this worker can take. ``report`` is
    called with each action as soon as its transaction has committed."""
    actions: list[Action] = []
    while True:
        ids = due_ids(now, batch)
        if not ids:
            break
        before = len(actions)
        progressed = False
        for rec_id in ids:
            done = act_on(rec_id, now=now, worker=worker)
            actions.extend(done)
            for action in done if report else ():
                report(action)
            progressed = progressed or bool(done) or not _still_due(rec_id, now)
        if not progressed and len(actions) == before:
            # Every due row is held by another worker: it will act on them.
            break
    return actions


def _still_due(rec_id: int, now: dt.datetime) -> bool:
    return Recommendation.objects.filter(pk=rec_id, next_action_at__lte=now).exists()


# --- phase 2: notify ----------------------------------------------------------------------


def _client_recipients(client: Client, recs: Iterable[Recommendation], level: int) -> list[str]:
    contacts: dict[int, Contact] = {}
    for rec in recs:
        if rec.contact is not None and rec.contact.is_active:
            contacts[rec.contact.pk] = rec.contact
    if not contacts:
        contacts = {c.pk: c for c in client.contacts.filter(is_active=True, is_decision_maker=True)}
    if level >= 2:
        contacts.update(
            {c.pk: c for c in client.contacts.filter(is_active=True, is_escalation_contact=True)}
        )
    return sorted({c.email.lower() for c in contacts.values()})


def _staff_recipients(
    client: Client, recs: Iterable[Recommendation], name: str, steps: list[FollowupStep]
) -> list[str]:
    if name in (Step.REMINDER_1, Step.REMINDER_2):
        return []
    if name == Step.DEFERRAL_DUE and not any(s.data.get("escalated") for s in steps):
        return []
    users = {rec.owner for rec in recs if rec.owner is not None and rec.owner.is_active}
    level = max((s.level for s in steps), default=0)
    if (level >= 2 or not users) and client.account_owner and client.account_owner.is_active:
        users.add(client.account_owner)
    return sorted({u.email.lower() for u in users if u.email})


def _group_key(step: FollowupStep) -> tuple[int, str]:
    return (step.client_id, step.name)


def notify(*, now: dt.datetime, report: Report = None) -> list[Action]:
    """Phase 2: one message per client, step and audience for every step not yet
    announced (including those a killed worker left behind)."""
    pending = list(
        FollowupStep.objects.filter(notified_at__isnull=True)
        .order_by("client_id", "name", "id")
        .values_list("id", "client_id", "name")
    )
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for step_id, client_id, name in pending:
        groups[(client_id, name)].append(step_id)
    actions: list[Action] = []
    for (_client_id, name), ids in groups.items():
        done = _notify_group(name, ids, now=now)
        actions.extend(done)
        for action in done if report else ():
            report(action)
    return actions


def _notify_group(name: str, ids: list[int], *, now: dt.datetime) -> list[Action]:
    with transaction.atomic():
        qs = FollowupStep.objects.filter(pk__in=ids, notified_at__isnull=True).select_related(
            "client",
            "client__account_owner",
            "recommendation",
            "recommendation__owner",
            "recommendation__contact",
        )
        if connection.vendor != "sqlite":
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        steps = sorted(qs, key=lambda s: s.pk)
        if not steps:
            return []
        client = steps[0].client
        recs = sorted(
            (s.recommendation for s in steps),
            key=lambda r: (SEVERITY_ORDER.get(r.severity, 9), r.presented_at or r.created_at, r.pk),
        )
        level = max(s.level for s in steps)
        tz = client.tz
        local_day = now.astimezone(tz).date()
        next_qbr = deadlines.next_qbr_date(
            tz=tz, cadence_months=int(client.qbr_cadence_months), after=now
        )
        group_hash = sha256_hex(canonical_json([s.key + f"#{s.recommendation_id}" for s in steps]))
        actions = []
        messages = []
        audiences = (
            ("client", _client_recipients(client, recs, level)),
            ("staff", _staff_recipients(client, recs, name, steps)),
        )
        deferrals = {s.recommendation_id: s.data.get("deferral_count") for s in steps}
        for audience, recipients in audiences:
            if not recipients:
                continue
            key = f"followup:{client.pk}:{name}:{audience}:{local_day}:{group_hash[:16]}"
            subject = f"[{client.name}] " + SUBJECTS[name].format(n=len(recs))
            text = render_to_string(
                "emails/followup_notice.txt",
                {
                    "client": client,
                    "step": name,
                    "level": level,
                    "audience": audience,
                    "items": [
                        {
                            "rec": r,
                            "due": r.response_due_at.astimezone(tz) if r.response_due_at else None,
                            "deferrals": deferrals.get(r.pk),
                        }
                        for r in recs
                    ],
                    "next_qbr": next_qbr,
                    "base_url": settings.HEEDED_BASE_URL,
                },
            )
            message = outbox_enqueue_email(
                key=key,
                to=recipients,
                subject=subject,
                text=text,
                now=now,
                client=client,
                recommendation_id=recs[0].pk if len(recs) == 1 else None,
                headers={"X-Heeded-Followup": name},
            )
            messages.append(message)
            event_append(
                client=client,
                kind="followup.notice",
                actor=f"system:{ACTOR}",
                at=now,
                data={
                    "step": name,
                    "audience": audience,
                    "recipients": recipients,
                    "message_id": message.payload["message_id"],
                    "message_sha256": sha256_hex(
                        canonical_json({"subject": subject, "text": text})
                    ),
                    "recommendations": [r.pk for r in recs],
                    "steps": [s.key for s in steps],
                },
            )
            actions.append(
                Action(
                    now,
                    f"notice {name} to {audience} of {client.name}: {len(recs)} item(s), "
                    f"{', '.join(recipients)}",
                )
            )
        FollowupStep.objects.filter(pk__in=[s.pk for s in steps]).update(notified_at=now)
        for step in steps:
            step.notices.add(*messages)
    return actions


def sweep(*, now: dt.datetime, worker: str = "", report: Report = None) -> list[Action]:
    """One full pass: act on what is due, then announce it."""
    return act(now=now, worker=worker, report=report) + notify(now=now, report=report)
