"""The sweep: act on every follow-up step that is due, then announce them, grouped.

Phase 1 (**act**), one transaction per client and up to ``BATCH`` due recommendations
(``act_on_many``; a step that changes the state, or a batch that met another
worker's rows, goes one by one through ``act_on``):

- read only recommendations with ``next_action_at <= now``, earliest first, through
  the partial index ``rec_next_action_due`` (the cost grows with what is due);
- claim the rows: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent
  sweeps split the work; on SQLite the transaction is IMMEDIATE (one writer), and the
  rows are re-read inside it. Either way a row must still be due when re-read;
- insert the ``FollowupStep`` rows (UNIQUE per recommendation and step of a cycle: the
  last guard against acting twice), apply the steps (tickets, lifecycle transitions)
  and move ``next_action_at`` to the next step, all in that one transaction.

Phase 2 (**notify**): each step not yet planned gets one ``NoticeItem`` per person
it concerns; then each person's open items become at most one message a day, listing
the items by severity (oldest first). Queuing a person's message, its ledger event
and marking the items happen in one transaction, so a worker killed between the
phases leaves items the next sweep sends.

Per due item the sweep builds no model instance where plain values do and translates
nothing it can translate once per notice: at 10,000 due, per-item Python is the cost
(docs/followup.md, "What a sweep costs").

Everything depends on the database and ``now`` only, so replaying a day with
``heeded sweep --now`` does the same thing again, line for line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from clients.models import Client, Contact
from clients.policy import Policy, policy_for
from followup.digest import (
    DIGEST_HEADER,
    STALE_DAYS,
    Digest,
    digest_close,
    digest_context,
    digest_open,
    digests_owed,
)
from followup.models import FollowupStep, NoticeItem, OutboxMessage
from followup.selectors import active_endpoints
from followup.services.outbox import outbox_enqueue_email
from followup.services.tickets import (
    TicketRequest,
    ticket_open_or_update,
    tickets_open_or_update_many,
)
from followup.services.webhooks import webhook_publish
from ledger.services import NewEvent, event_append, event_append_many
from lib.bulk import insert_rows
from lib.canonical import canonical_json, sha256_hex
from recommendations import deadlines, mail
from recommendations import services as lifecycle
from recommendations.choices import Status as RecStatus
from recommendations.deadlines import SEVERITY_ORDER, PlannedStep, Step
from recommendations.models import Recommendation

ACTOR = "followup"
# Due rows read per page (two integers each), and acted on per client at most BATCH
# per transaction (which also bounds the IN lists).
PAGE = 10_000
BATCH = 1000

CLIENT, STAFF = "client", "staff"
OVERDUE_STEPS = {
    Step.ESCALATION_1,
    Step.ESCALATION_2,
    Step.ESCALATION_3,
    Step.DEFERRAL_DUE,
    Step.PLANNED_DATE,
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


def _step_row(
    rec: Recommendation, step: PlannedStep, *, now: dt.datetime, worker: str
) -> FollowupStep:
    """The unsaved record of acting on ``step`` of ``rec`` now (one rule for the single
    and the batched path)."""
    return FollowupStep(
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
                row = _step_row(rec, step, now=now, worker=worker)
                row.save(force_insert=True)
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


def _after(
    rec: Recommendation, step: PlannedStep, now: dt.datetime, *, policy: Policy | None = None
) -> dt.datetime | None:
    following = deadlines.next_step(
        rec, policy or policy_for(rec.client), last=step.name, last_at=now, now=now
    )
    return following.at if following else None


Report = Callable[[Action], None] | None


# Steps acted on set-based, many recommendations of one client per transaction. The
# others change the recommendation's state through the lifecycle's services and are
# taken one by one (``act_on``), like any step whose batch met a conflict.
BATCHED = {Step.REMINDER_1, Step.REMINDER_2, Step.ESCALATION_1, Step.ESCALATION_2, Step.RE_REVIEW}


def act(
    *, now: dt.datetime, worker: str = "", batch: int = BATCH, report: Report = None
) -> list[Action]:
    """Phase 1 until nothing due is left that this worker can take: the due rows are
    read ``PAGE`` at a time (ids only) and acted on per client, at most ``batch`` of a
    client per transaction. ``report`` is called with each action as soon as its
    transaction has committed."""
    actions: list[Action] = []
    page = (
        Recommendation.objects.filter(next_action_at__lte=now)
        .order_by("next_action_at", "id")
        .values_list("id", "client_id")
    )
    while True:
        due = list(page[:PAGE])
        if not due:
            break
        before = len(actions)
        by_client: dict[int, list[int]] = {}
        for rec_id, client_id in due:
            by_client.setdefault(client_id, []).append(rec_id)
        for client_ids in by_client.values():
            for at in range(0, len(client_ids), batch):
                done = act_on_many(client_ids[at : at + batch], now=now, worker=worker)
                actions.extend(done)
                for action in done if report else ():
                    report(action)
        if len(actions) == before and list(page[:PAGE]) == due:
            # Every due row is held by another worker: it will act on them.
            break
    return actions


def act_on_many(rec_ids: list[int], *, now: dt.datetime, worker: str = "") -> list[Action]:
    """Act on the due steps of these recommendations (all of one client): the
    batchable ones in one transaction, set-based; the others, and all of them if the
    batch met a step or ticket another worker wrote meanwhile, one by one."""
    try:
        with transaction.atomic():
            actions, one_by_one = _act_batch(rec_ids, now=now, worker=worker)
    except IntegrityError:
        actions, one_by_one = [], rec_ids
    for rec_id in one_by_one:
        actions.extend(act_on(rec_id, now=now, worker=worker))
    return actions


def _act_batch(
    rec_ids: list[int], *, now: dt.datetime, worker: str
) -> tuple[list[Action], list[int]]:
    # The long texts and JSON columns are not needed to act (and each JSON value
    # would be decoded per row).
    qs = Recommendation.objects.defer(
        "body",
        "risk_if_ignored",
        "control_refs",
        "verification_rule",
        "custom_fields",
        "field_values",
        "tags",
        "scope",
        "close_reason",
    )
    if connection.vendor != "sqlite":
        qs = qs.select_for_update(skip_locked=True)
    recs = list(qs.filter(pk__in=rec_ids, next_action_at__lte=now).order_by("next_action_at", "id"))
    if not recs:
        return [], []
    # All of one client: its row and policy are read once, not joined to every row.
    client = Client.objects.select_related("followup_policy").get(pk=recs[0].client_id)
    policy = policy_for(client)
    for rec in recs:
        rec.client = client
    lasts: dict[tuple[int, str], tuple[str, dt.datetime]] = {}
    for rec_id, cycle, name, acted_at in (
        FollowupStep.objects.filter(recommendation__in=recs)
        .order_by("-acted_at", "-id")
        .values_list("recommendation_id", "cycle", "name", "acted_at")
    ):
        lasts.setdefault((rec_id, cycle), (name, acted_at))
    moves: dict[int, tuple[Recommendation, dt.datetime | None]] = {}
    todo: list[tuple[Recommendation, PlannedStep]] = []
    one_by_one: list[int] = []
    for rec in recs:
        first = deadlines.next_step(rec, policy, now=now)
        if first is None:
            moves[rec.pk] = (rec, None)
            continue
        last = lasts.get((rec.pk, first.cycle))
        step = (
            deadlines.next_step(rec, policy, last=last[0], last_at=last[1], now=now)
            if last
            else first
        )
        if step is None or step.at > now:
            # Nothing due after all (the ladder is done, or the column was stale).
            moves[rec.pk] = (rec, step.at if step else None)
        elif step.name in BATCHED:
            todo.append((rec, step))
        else:
            one_by_one.append(rec.pk)
    tickets = tickets_open_or_update_many(
        requests=[
            TicketRequest(
                recommendation=rec,
                note=f"Escalation level {step.level}: no answer since the deadline.",
                escalation_level=step.level,
            )
            for rec, step in todo
            if step.name in (Step.ESCALATION_1, Step.ESCALATION_2)
        ],
        actor=ACTOR,
        now=now,
    )
    rows: list[FollowupStep] = []
    texts: list[str] = []
    for rec, step in todo:
        row = _step_row(rec, step, now=now, worker=worker)
        if step.name == Step.RE_REVIEW:
            moves[rec.pk] = (rec, None)
            texts.append("re-review asked")
        else:
            moves[rec.pk] = (rec, _after(rec, step, now, policy=policy))
            if rec.pk in tickets:
                ticket, opened = tickets[rec.pk]
                row.data = {"ticket": ticket.pk}
                texts.append(
                    f"ticket #{ticket.pk} {'opened' if opened else 'updated'} at level {step.level}"
                )
            else:
                texts.append("reminder")
        rows.append(row)
    with transaction.atomic():
        insert_rows(rows)
    by_value: dict[dt.datetime | None, list[int]] = {}
    for rec, at in moves.values():
        rec.next_action_at = at
        by_value.setdefault(at, []).append(rec.pk)
    # One UPDATE per value that several rows share (the escalations acted on together)
    # and one executemany of a plain UPDATE by id for the rest (a reminder's next date
    # is its own): a bulk_update's CASE over them costs more to build than to run.
    alone: list[tuple[Any, int]] = []
    adapt = connection.ops.adapt_datetimefield_value
    for at, ids in by_value.items():
        if len(ids) > 1:
            Recommendation.objects.filter(pk__in=ids).update(next_action_at=at)
        else:
            alone.append((adapt(at), ids[0]))
    if alone:
        quote, meta = connection.ops.quote_name, Recommendation._meta
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {quote(meta.db_table)} "
                f"SET {quote(meta.get_field('next_action_at').column)} = %s "
                f"WHERE {quote(meta.pk.column)} = %s",
                alone,
            )
    endpoints = active_endpoints() if rows else []
    events = event_append_many(
        client=recs[0].client,
        events=[
            NewEvent(
                kind="followup.step",
                actor=f"system:{ACTOR}",
                at=now,
                recommendation_id=rec.pk,
                data={"step": step.name, "key": step.key, "level": step.level, **row.data},
            )
            for (rec, step), row in zip(todo, rows, strict=True)
        ],
    )
    for (rec, _step), event in zip(todo, events, strict=True) if endpoints else ():
        webhook_publish(event, severity=rec.severity, title=rec.title, endpoints=endpoints)
    actions = [
        Action(now, f"{step.name} recommendation #{rec.pk} ({rec.client.name}): {text}")
        for (rec, step), text in zip(todo, texts, strict=True)
    ]
    return actions, one_by_one


# --- phase 2: notify ----------------------------------------------------------------------


def _client_contacts(
    contact: Contact | None, level: int, contacts_of_client: list[Contact]
) -> list[Contact]:
    """Who at the client hears of a step: the item's point of contact ``contact``
    (else the decision makers), and from level 2 on the escalation contacts too.
    ``contacts_of_client`` are the client's active decision makers and escalation
    contacts, in the contacts' order."""
    contacts: dict[int, Contact] = {}
    if contact is not None and contact.is_active:
        contacts[contact.pk] = contact
    else:
        contacts = {c.pk: c for c in contacts_of_client if c.is_decision_maker}
    if level >= 2:
        contacts.update({c.pk: c for c in contacts_of_client if c.is_escalation_contact})
    return [c for c in contacts.values() if c.email]


def _staff_users(
    name: str,
    level: int,
    data: dict[str, Any],
    *,
    owner: User | None,
    account_owner: User | None,
) -> list[User]:
    """Who at the MSP hears of a step (``name``, ``level``, its ``data``): nobody for
    a reminder or a plain re-ask; the follow-up ``owner`` otherwise, and the client's
    ``account_owner`` from level 2 on (or when the item has no active owner)."""
    if name in (Step.REMINDER_1, Step.REMINDER_2):
        return []
    if name == Step.DEFERRAL_DUE and not data.get("escalated"):
        return []
    users: dict[int, User] = {}
    if owner is not None and owner.is_active:
        users[owner.pk] = owner
    if (level >= 2 or not users) and account_owner is not None and account_owner.is_active:
        users[account_owner.pk] = account_owner
    return [u for u in users.values() if u.email]


def _insert_new(model: type[models.Model], fields: tuple[str, ...], rows: list[Any]) -> None:
    """Insert plain value tuples (ids and text: nothing to adapt) with one executemany
    of ``INSERT … ON CONFLICT DO NOTHING``: a row that is there already, such as a
    second contact with the same address, is skipped as ``bulk_create(…,
    ignore_conflicts=True)`` skips it, without a model instance per row."""
    meta, quote = model._meta, connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    marks = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks}) "
            "ON CONFLICT DO NOTHING",
            rows,
        )


PLAN_BATCH = 500


def plan(*, now: dt.datetime) -> int:
    """Fix who hears of each step not yet planned: one ``NoticeItem`` per step and
    person, written with the steps' marks in one transaction per batch of steps.
    Returns the steps planned."""
    ids = list(
        FollowupStep.objects.filter(notified_at__isnull=True, notice_items__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    planned = 0
    for at in range(0, len(ids), PLAN_BATCH):
        with transaction.atomic():
            planned += _plan_batch(ids[at : at + PLAN_BATCH], now=now)
    return planned


def _plan_batch(ids: list[int], *, now: dt.datetime) -> int:
    # Plain values, not model instances: a batch is hundreds of steps, and of each
    # only a few ids matter here. The people are read once each, by id.
    qs = FollowupStep.objects.filter(pk__in=ids, notified_at__isnull=True)
    if connection.vendor != "sqlite":
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    steps = list(
        qs.order_by("id").values_list(
            "id",
            "client_id",
            "name",
            "level",
            "data",
            "recommendation__contact_id",
            "recommendation__owner_id",
            "client__account_owner_id",
        )
    )
    if not steps:
        return 0
    planned_already = set(
        NoticeItem.objects.filter(step_id__in=[s[0] for s in steps])
        .values_list("step_id", flat=True)
        .distinct()
    )
    steps = [s for s in steps if s[0] not in planned_already]
    point_of_contact = {s[5] for s in steps if s[5] is not None}
    contact_by_id: dict[int, Contact] = {}
    contacts: dict[int, list[Contact]] = {}
    for contact in Contact.objects.filter(
        Q(pk__in=point_of_contact)
        | Q(
            Q(is_decision_maker=True) | Q(is_escalation_contact=True),
            client_id__in={s[1] for s in steps},
            is_active=True,
        )
    ):
        contact_by_id[contact.pk] = contact
        if contact.is_active and (contact.is_decision_maker or contact.is_escalation_contact):
            contacts.setdefault(contact.client_id, []).append(contact)
    users = User.objects.in_bulk({u for s in steps for u in (s[6], s[7]) if u is not None})
    items: list[tuple[int, int, str, str, int | None, int | None]] = []
    nobody: list[int] = []
    for step_id, client_id, name, level, data, contact_id, owner_id, account_owner_id in steps:
        mine = [
            (step_id, client_id, CLIENT, c.email.lower(), c.pk, None)
            for c in _client_contacts(
                contact_by_id.get(contact_id) if contact_id else None,
                level,
                contacts.get(client_id, []),
            )
        ] + [
            (step_id, client_id, STAFF, u.email.lower(), None, u.pk)
            for u in _staff_users(
                name,
                level,
                data,
                owner=users.get(owner_id) if owner_id else None,
                account_owner=users.get(account_owner_id) if account_owner_id else None,
            )
        ]
        if mine:
            items.extend(mine)
        else:
            # Nobody to tell (no active contact, no staff for a reminder).
            nobody.append(step_id)
    if items:
        _insert_new(
            NoticeItem,
            ("step", "client", "audience", "recipient", "contact", "user"),
            items,
        )
    if nobody:
        FollowupStep.objects.filter(pk__in=nobody).update(notified_at=now)
    return len(steps)


def notify(*, now: dt.datetime, report: Report = None) -> list[Action]:
    """Phase 2: plan the steps not yet planned, then send each person with open items
    at most one notice today (including items a killed worker left behind). When this
    week's digest is open, an owner who has not had it gets it in that notice, or
    alone when there is no notice for them today."""
    plan(now=now)
    run, owed = digests_owed(now)
    people = (
        NoticeItem.objects.filter(message__isnull=True)
        .order_by("audience", "contact_id", "user_id")
        .values_list("audience", "contact_id", "user_id")
        .distinct()
    )
    seen: set[tuple[str, int]] = set()
    actions: list[Action] = []
    for audience, contact_id, user_id in people:
        person = (audience, contact_id if audience == CLIENT else user_id)
        if person in seen or person[1] is None:
            continue
        seen.add(person)
        digest = owed.pop(person[1], None) if audience == STAFF else None
        done = _notify_person(audience, person[1], now=now, digest=digest)
        if digest is not None and not done:
            owed[person[1]] = digest
        actions.extend(done)
        for action in done if report else ():
            report(action)
    if run is not None:
        actions.extend(_send_digests(run, owed, now=now, report=report))
    return actions


def _send_digests(
    run: Any, owed: dict[int, Digest], *, now: dt.datetime, report: Report
) -> list[Action]:
    """Send the digests still owed (each with the owner's open notice items, if any);
    close the week's run once nobody is left waiting."""
    actions: list[Action] = []
    left = 0
    for user_id, digest in owed.items():
        done = _notify_person(STAFF, user_id, now=now, digest=digest)
        left += not done
        actions.extend(done)
        for action in done if report else ():
            report(action)
    if not left:
        digest_close(run, now=now)
    return actions


def digest_send(*, now: dt.datetime, stale_days: int = STALE_DAYS) -> list[Action]:
    """``heeded digest``: open this week's digest and send it now to every owner not
    yet told today, inside one e-mail with their open notice items; an owner already
    told today gets it in the next day's e-mail (the sweep's notify phase). Running it
    twice sends nothing more."""
    run = digest_open(now=now, stale_days=stale_days)
    if run.finished_at is not None:
        return []
    run, owed = digests_owed(now)
    if run is None:
        return []
    return _send_digests(run, owed, now=now, report=None)


class _Raced(Exception):
    """Another sweep queued this person's notice of the day first: undo ours."""


def _notify_person(
    audience: str, person_id: int, *, now: dt.datetime, digest: Digest | None = None
) -> list[Action]:
    try:
        with transaction.atomic():
            return _notify_person_in_transaction(audience, person_id, now=now, digest=digest)
    except _Raced:
        return []


@dataclasses.dataclass(frozen=True)
class _Item:
    """One open notice item, as a notice needs it: the step's facts as plain values
    and its recommendation and client read once per notice, not joined to each row."""

    pk: int
    client: Client
    step_id: int
    step_key: str
    name: str
    level: int
    data: dict[str, Any]
    rec: _Rec


@dataclasses.dataclass(frozen=True)
class _Rec:
    """What a notice says of a recommendation (never its long texts)."""

    pk: int
    title: str
    severity: str
    status: str
    created_at: dt.datetime
    presented_at: dt.datetime | None
    response_due_at: dt.datetime | None


def _open_items(audience: str, person_id: int) -> list[_Item]:
    """The person's notice items without a message, locked on PostgreSQL (SKIP LOCKED:
    another sweep telling this person has them), with their steps and
    recommendations: two reads whatever their number, plain values, no model rows."""
    qs = NoticeItem.objects.filter(message__isnull=True, audience=audience)
    qs = qs.filter(contact_id=person_id) if audience == CLIENT else qs.filter(user_id=person_id)
    if connection.vendor != "sqlite":
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    rows = list(
        qs.order_by("id").values_list(
            "id",
            "client_id",
            "step_id",
            "step__key",
            "step__name",
            "step__level",
            "step__data",
            "step__recommendation_id",
            "step__recommendation__title",
            "step__recommendation__severity",
            "step__recommendation__status",
            "step__recommendation__created_at",
            "step__recommendation__presented_at",
            "step__recommendation__response_due_at",
        )
    )
    if not rows:
        return []
    clients = Client.objects.select_related("followup_policy").in_bulk({r[1] for r in rows})
    recs: dict[int, _Rec] = {}
    for row in rows:
        if row[7] not in recs:
            recs[row[7]] = _Rec(*row[7:])
    return [
        _Item(pk, clients[client_id], step_id, key, name, level, data, recs[rec_id])
        for pk, client_id, step_id, key, name, level, data, rec_id, *_ in rows
    ]


def _notify_person_in_transaction(
    audience: str, person_id: int, *, now: dt.datetime, digest: Digest | None = None
) -> list[Action]:
    items = _open_items(audience, person_id)
    if not items and digest is None:
        return []
    if audience == CLIENT:
        client = items[0].client
        day = now.astimezone(client.tz).date()
        key = f"followup:{CLIENT}:{client.pk}:{person_id}:{day}"
        # Quiet settings: a weekly severity waits for the client's weekly day.
        policy = policy_for(client)
        items = [i for i in items if policy.notice_day(i.rec.severity, day.weekday())]
    else:
        day = now.astimezone(timezone.get_default_timezone()).date()
        key = f"followup:{STAFF}:{person_id}:{day}"
    if (not items and digest is None) or OutboxMessage.objects.filter(idempotency_key=key).exists():
        # Nothing to say today, or this person was told today already: what is left
        # goes in the next notice.
        return []
    if audience == CLIENT:
        contact = Contact.objects.get(pk=person_id)
        message, recipients = _client_notice(items, contact, key=key, now=now)
    elif not items:
        assert digest is not None
        recipients = [digest.owner.email.lower()]
        _digest_notice(digest, key=key, now=now)
        return [Action(now, f"notice to {audience} {recipients[0]}: weekly digest")]
    else:
        user = User.objects.get(pk=person_id)
        message, recipients = _staff_notice(items, user, key=key, now=now, digest=digest)
    NoticeItem.objects.filter(pk__in=[i.pk for i in items]).update(message=message)
    steps = {i.step_id for i in items}
    _insert_new(
        FollowupStep.notices.through,
        ("followupstep", "outboxmessage"),
        [(step_id, message.pk) for step_id in sorted(steps)],
    )
    done = (
        FollowupStep.objects.filter(pk__in=steps, notified_at__isnull=True)
        .exclude(notice_items__message__isnull=True)
        .values_list("pk", flat=True)
    )
    FollowupStep.objects.filter(pk__in=list(done)).update(notified_at=now)
    extra = " and weekly digest" if digest is not None else ""
    return [
        Action(
            now,
            f"notice to {audience} {', '.join(recipients)}: {len(items)} item(s){extra}",
        )
    ]


def _ordered(items: list[_Item]) -> list[_Item]:
    def key(item: _Item) -> tuple[int, dt.datetime, int, int]:
        rec = item.rec
        return (
            SEVERITY_ORDER.get(rec.severity, 9),
            rec.presented_at or rec.created_at,
            rec.pk,
            item.step_id,
        )

    return sorted(items, key=key)


def _entries(items: list[_Item]) -> list[dict[str, Any]]:
    """What a notice says of each item, in the active language (dates in the time
    zone of the item's client). Labels and step lines are worked out once per
    distinct value, not once per item: a notice may list thousands."""
    severities: dict[str, tuple[str, str]] = {}
    statuses: dict[str, str] = {}
    lines: dict[tuple[Any, ...], str] = {}
    ref, ticket_ref = _("recommendation %(pk)s"), _("ticket #%(ticket)s")
    entries = []
    for item in _ordered(items):
        rec, data = item.rec, item.data
        due = rec.response_due_at.astimezone(item.client.tz) if rec.response_due_at else None
        line = (
            item.name,
            item.level,
            data.get("deferral_count"),
            data.get("planned_for"),
            due.date() if due else None,
        )
        if line not in lines:
            lines[line] = step_text(item.name, item.level, data, due=due)
        if rec.severity not in severities:
            severities[rec.severity] = (
                mail.severity_label(rec.severity),
                mail.severity_colour(rec.severity),
            )
        if rec.status not in statuses:
            statuses[rec.status] = mail.status_label(rec.status)
        label, colour = severities[rec.severity]
        ticket = data.get("ticket")
        entries.append(
            {
                "rec": rec,
                "ref": ref % {"pk": rec.pk},
                "client": item.client,
                "step": item.name,
                "level": item.level,
                "what": lines[line],
                "severity": label,
                "severity_key": rec.severity,
                "severity_colour": colour,
                "status": statuses[rec.status],
                "ticket": ticket,
                "ticket_ref": ticket_ref % {"ticket": ticket} if ticket else "",
            }
        )
    return entries


def _by_severity(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for entry in entries:
        if not groups or groups[-1]["key"] != entry["severity_key"]:
            groups.append(
                {
                    "key": entry["severity_key"],
                    "label": entry["severity"],
                    "colour": entry["severity_colour"],
                    "entries": [],
                }
            )
        groups[-1]["entries"].append(entry)
    return groups


def step_text(name: str, level: int, data: dict[str, Any], *, due: dt.datetime | None) -> str:
    """One line on what happened at step ``name`` (its ``level`` and ``data``), in
    the active language; ``due`` is when the answer was due, in the client's zone."""
    when = mail.long_date(due) if due else ""
    if name in (Step.REMINDER_1, Step.REMINDER_2):
        if not when:
            return _("Awaiting a decision.")
        return _("Awaiting a decision, due %(date)s.") % {"date": when}
    if name in (Step.ESCALATION_1, Step.ESCALATION_2):
        return _("Overdue: the answer was due %(date)s (escalation level %(level)s).") % {
            "date": when,
            "level": level,
        }
    if name == Step.ESCALATION_3:
        return _(
            "Recorded as ignored: no decision despite reminders and escalations. "
            "The risk remains until a decision is made."
        )
    if name == Step.DEFERRAL_DUE:
        count = int(data.get("deferral_count") or 0)
        return ngettext(
            "The deferral has ended (deferred %(count)s time): please decide again.",
            "The deferral has ended (deferred %(count)s times): please decide again.",
            count,
        ) % {"count": count}
    if name == Step.PLANNED_DATE:
        planned = str(data.get("planned_for") or "")
        with contextlib.suppress(ValueError):
            planned = mail.long_date(dt.date.fromisoformat(planned))
        return _("Accepted, but not done by the planned date %(date)s.") % {"date": planned}
    return _("Rejected and due for review: please confirm or reconsider the decision.")


def _client_notice(
    items: list[_Item], contact: Contact, *, key: str, now: dt.datetime
) -> tuple[Any, list[str]]:
    client = items[0].client
    language = mail.language_for(client)
    recs = list({i.rec.pk: i.rec for i in _ordered(items)}.values())
    # The answer link records the text each item was presented with: read for the
    # items it offers, only now.
    answerable_ids = [r.pk for r in recs if r.status == RecStatus.AWAITING_RESPONSE]
    shown = Recommendation.objects.only("id", "text_sha256").in_bulk(answerable_ids)
    answerable = [shown[pk] for pk in answerable_ids]
    head = mail.client_head(client, at=now, reference=key)
    with translation.override(language):
        entries = _entries(items)
    names = {i.name for i in items}
    context = {
        "client": client,
        "contact": contact,
        "groups": _by_severity(entries),
        "count": len(recs),
        "ignored": Step.ESCALATION_3 in names,
        "overdue": bool(names & OVERDUE_STEPS),
        "answer_url": mail.answer_url(contact, answerable, now=now),
        "can_answer": bool(answerable),
        "next_qbr": deadlines.next_qbr_date(
            tz=client.tz, cadence_months=int(client.qbr_cadence_months), after=now
        ),
        "head": head,
    }
    email = mail.render_email("followup_notice", context, language=language)
    recipients = [contact.email.lower()]
    message = _enqueue(key, recipients, email, now=now, client=client, recs=[r.pk for r in recs])
    _record(client, message, email, items, recipients, audience=CLIENT, now=now, head=head)
    return message, recipients


def _staff_notice(
    items: list[_Item], user: User, *, key: str, now: dt.datetime, digest: Digest | None
) -> tuple[Any, list[str]]:
    language = mail.staff_language(user)
    recs = list({i.rec.pk: i.rec for i in _ordered(items)}.values())
    context: dict[str, Any] = {}
    with translation.override(language):
        entries = _entries(items)
        if digest is not None:
            context.update(digest_context(digest))
    clients = {i.client.pk: i.client for i in items}
    context |= {
        "user": user,
        "groups": _by_severity(entries),
        "count": len(recs),
        "clients": len(clients),
        "answer_url": f"{settings.HEEDED_BASE_URL}/",
        "now": now,
    }
    email = mail.render_email("followup_staff", context, language=language)
    recipients = [user.email.lower()]
    message = _enqueue(
        key,
        recipients,
        email,
        now=now,
        client=None,
        recs=[r.pk for r in recs],
        extra_headers={DIGEST_HEADER: digest.week} if digest is not None else None,
    )
    for client_id, client in clients.items():
        mine = [i for i in items if i.client.pk == client_id]
        _record(client, message, email, mine, recipients, audience=STAFF, now=now, head=None)
    return message, recipients


def _enqueue(
    key: str,
    recipients: list[str],
    email: mail.Email,
    *,
    now: dt.datetime,
    client: Client | None,
    recs: list[int],
    extra_headers: dict[str, str] | None = None,
) -> OutboxMessage:
    message = outbox_enqueue_email(
        key=key,
        to=recipients,
        subject=email.subject,
        text=email.text,
        html=email.html,
        now=now,
        client=client,
        recommendation_id=recs[0] if len(recs) == 1 else None,
        headers={"X-Heeded-Followup": ",".join(sorted({str(pk) for pk in recs}))}
        | (extra_headers or {}),
    )
    if message.payload.get("text") != email.text:
        raise _Raced(key)
    return message


def _digest_notice(digest: Digest, *, key: str, now: dt.datetime) -> OutboxMessage:
    """The digest alone: the owner's one e-mail of a day with no notice items."""
    language = mail.staff_language(digest.owner)
    with translation.override(language):
        context = digest_context(digest)
    email = mail.render_email("followup_digest", context | {"now": now}, language=language)
    message = outbox_enqueue_email(
        key=key,
        to=[digest.owner.email.lower()],
        subject=email.subject,
        text=email.text,
        html=email.html,
        now=now,
        headers={DIGEST_HEADER: digest.week},
    )
    if message.payload.get("text") != email.text:
        raise _Raced(key)
    return message


def _record(
    client: Client,
    message: OutboxMessage,
    email: mail.Email,
    items: list[_Item],
    recipients: list[str],
    *,
    audience: str,
    now: dt.datetime,
    head: mail.Head | None,
) -> None:
    """The ``followup.notice`` event: the proof, later, that this person was told."""
    data: dict[str, Any] = {
        "audience": audience,
        "recipients": recipients,
        "message_id": message.payload["message_id"],
        "message_sha256": sha256_hex(
            canonical_json({"subject": email.subject, "text": email.text, "html": email.html})
        ),
        "recommendations": sorted({i.rec.pk for i in items}),
        "steps": sorted({i.step_key for i in items}),
    }
    if head is not None:
        data["ledger_head"] = {"seq": head.seq, "hash": head.hash}
    event_append(client=client, kind="followup.notice", actor=f"system:{ACTOR}", at=now, data=data)


def sweep(*, now: dt.datetime, worker: str = "", report: Report = None) -> list[Action]:
    """One full pass: act on what is due, then announce it."""
    return act(now=now, worker=worker, report=report) + notify(now=now, report=report)
