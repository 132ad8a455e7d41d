"""Built-in tickets: one open ticket per recommendation, updated rather than duplicated.

Each service runs in one transaction with its ledger event, and asks the ticket
transition table (``followup.ticket_lifecycle``) before it writes: the status only
changes through ``_move``, a conditional UPDATE that also refuses a ticket another
transaction moved meanwhile. Ticket rows are not
locked with SELECT … FOR UPDATE: the partial unique constraint
``ticket_one_open_per_recommendation`` is what keeps a second open ticket out, and
the sweep already holds the recommendation's row lock when it opens one, so taking a
ticket lock after the ledger head (locked by the lifecycle) could only add deadlocks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.permissions import Capability, require
from clients.selectors import client_list_for
from followup.models import Ticket, TicketNote, TicketStatus

# The module, not the name: followup.psa.outbox imports the outbox service in turn.
from followup.psa import outbox as psa_outbox
from followup.selectors import open_ticket_of
from followup.ticket_lifecycle import (
    NEW,
    TICKET_TRANSITIONS,
    Msg,
    TicketAction,
    TicketError,
    TicketTransitionNotAllowed,
    check_ticket_transition,
)
from ledger.actors import Actor, actor_label
from ledger.services import NewEvent, event_append, event_append_many
from lib.bulk import insert_rows
from recommendations.choices import Decision
from recommendations.models import Recommendation, Response


def _move(ticket: Ticket, action: TicketAction, *, now: dt.datetime) -> None:
    """Apply ``action`` to the ticket's status through the table. The UPDATE is
    conditional on a status the action may start from, so a ticket another
    transaction moved since it was read is refused, not overwritten."""
    target = check_ticket_transition(action, ticket.status)
    sources, _ = TICKET_TRANSITIONS[action]
    fields: dict[str, object] = {"status": target, "updated_at": now}
    if target == TicketStatus.CLOSED:
        fields["closed_at"] = now
    if not Ticket.objects.filter(pk=ticket.pk, status__in=sources).update(**fields):
        current = Ticket.objects.values_list("status", flat=True).get(pk=ticket.pk)
        raise TicketTransitionNotAllowed(action, current)
    for name, value in fields.items():
        setattr(ticket, name, value)


def _event(ticket: Ticket, kind: str, *, actor: Actor, now: dt.datetime, **data: object) -> None:
    event = event_append(
        client=ticket.client,
        kind=f"ticket.{kind}",
        actor=actor_label(actor),
        at=now,
        recommendation_id=ticket.recommendation_id,
        data={"ticket": ticket.pk, "status": ticket.status, **data},
    )
    # The PSA twin (e-mail-to-ticket, Autotask) hears of it in this transaction.
    note = str(data.get("note") or data.get("assignee") or "")
    psa_outbox.psa_enqueue(ticket=ticket, event=kind, note=note, seq=event.seq, now=now)


def _note(ticket: Ticket, *, actor: Actor, text: str, now: dt.datetime) -> TicketNote:
    return TicketNote.objects.create(ticket=ticket, at=now, author=actor_label(actor), text=text)


def ticket_open_or_update(
    *,
    recommendation: Recommendation,
    actor: Actor,
    now: dt.datetime,
    note: str,
    escalation_level: int | None = None,
) -> tuple[Ticket, bool]:
    """Open the recommendation's ticket, or add ``note`` to the one already open
    (raising its escalation level, never lowering it). Returns (ticket, opened)."""
    require(actor, Capability.WRITE)
    with transaction.atomic():
        ticket = open_ticket_of(recommendation.pk)
        opened = ticket is None
        if ticket is None:
            try:
                with transaction.atomic():
                    ticket = Ticket.objects.create(
                        recommendation=recommendation,
                        client=recommendation.client,
                        title=f"Follow up: {recommendation.title}"[:250],
                        status=check_ticket_transition(TicketAction.OPEN, NEW),
                        escalation_level=escalation_level or 0,
                        assignee=recommendation.owner,
                        opened_at=now,
                        updated_at=now,
                    )
            except IntegrityError:
                # Another transaction opened it first: update that one instead.
                ticket = open_ticket_of(recommendation.pk)
                assert ticket is not None
                opened = False
        if not opened:
            check_ticket_transition(TicketAction.UPDATE, ticket.status)
            if escalation_level is not None and escalation_level > ticket.escalation_level:
                ticket.escalation_level = escalation_level
            ticket.updated_at = now
            ticket.save(update_fields=["escalation_level", "updated_at"])
        _note(ticket, actor=actor, text=note, now=now)
        _event(
            ticket,
            "opened" if opened else "updated",
            actor=actor,
            now=now,
            escalation_level=ticket.escalation_level,
            note=note,
        )
    return ticket, opened


@dataclasses.dataclass(frozen=True)
class TicketRequest:
    """One ``ticket_open_or_update`` call of a batch."""

    recommendation: Recommendation
    note: str
    escalation_level: int | None = None


def tickets_open_or_update_many(
    *, requests: Sequence[TicketRequest], actor: Actor, now: dt.datetime
) -> dict[int, tuple[Ticket, bool]]:
    """``ticket_open_or_update`` for many recommendations (at most one request each)
    in one transaction, set-based: one read of their open tickets, one insert of the
    new tickets, one update of the others, one insert of the notes, then the ledger
    events (in request order) and their PSA twins. Returns (ticket, opened) by
    recommendation id. A ticket another transaction opened meanwhile raises
    IntegrityError (the caller retries one by one, which updates that ticket)."""
    require(actor, Capability.WRITE)
    if not requests:
        return {}
    with transaction.atomic():
        rec_ids = [r.recommendation.pk for r in requests]
        if len(set(rec_ids)) != len(rec_ids):
            raise ValueError("one request per recommendation")
        current = {
            t.recommendation_id: t
            for t in Ticket.objects.filter(recommendation_id__in=rec_ids)
            .exclude(status=TicketStatus.CLOSED)
            .select_related("client")
        }
        new: list[Ticket] = []
        updated: list[Ticket] = []
        for request in requests:
            rec, level = request.recommendation, request.escalation_level
            ticket = current.get(rec.pk)
            if ticket is None:
                ticket = Ticket(
                    recommendation=rec,
                    client=rec.client,
                    title=f"Follow up: {rec.title}"[:250],
                    status=check_ticket_transition(TicketAction.OPEN, NEW),
                    escalation_level=level or 0,
                    assignee_id=rec.owner_id,
                    opened_at=now,
                    updated_at=now,
                )
                new.append(ticket)
                current[rec.pk] = ticket
            else:
                check_ticket_transition(TicketAction.UPDATE, ticket.status)
                if level is not None and level > ticket.escalation_level:
                    ticket.escalation_level = level
                ticket.updated_at = now
                updated.append(ticket)
        with transaction.atomic():
            insert_rows(new, returning_ids=True)
        if updated:
            Ticket.objects.bulk_update(updated, ["escalation_level", "updated_at"])
        opened = {t.recommendation_id for t in new}
        author = actor_label(actor)
        insert_rows(
            [
                TicketNote(
                    ticket_id=current[r.recommendation.pk].pk, at=now, author=author, text=r.note
                )
                for r in requests
            ]
        )
        by_client: dict[int, list[tuple[Ticket, str, str]]] = {}
        for request in requests:
            ticket = current[request.recommendation.pk]
            kind = "opened" if ticket.recommendation_id in opened else "updated"
            by_client.setdefault(ticket.client_id, []).append((ticket, kind, request.note))
        for batch in by_client.values():
            events = event_append_many(
                client=batch[0][0].client,
                events=[
                    NewEvent(
                        kind=f"ticket.{kind}",
                        actor=author,
                        at=now,
                        recommendation_id=ticket.recommendation_id,
                        data={
                            "ticket": ticket.pk,
                            "status": ticket.status,
                            "escalation_level": ticket.escalation_level,
                            "note": note,
                        },
                    )
                    for ticket, kind, note in batch
                ],
            )
            for (ticket, kind, note), event in zip(batch, events, strict=True):
                psa_outbox.psa_enqueue(ticket=ticket, event=kind, note=note, seq=event.seq, now=now)
    return {rec_id: (current[rec_id], rec_id in opened) for rec_id in rec_ids}


def ticket_note_add(*, ticket: Ticket, actor: Actor, text: str, now: dt.datetime) -> TicketNote:
    """Add a note; an empty one is refused and nothing is stored."""
    require(actor, Capability.WRITE)
    text = text.strip()
    if not text:
        raise TicketError(Msg.NOTE_REQUIRED, field="text")
    check_ticket_transition(TicketAction.NOTE, ticket.status)
    with transaction.atomic():
        note = _note(ticket, actor=actor, text=text, now=now)
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
        ticket.updated_at = now
        _event(ticket, "note", actor=actor, now=now, note=text)
    return note


def ticket_assign(
    *, ticket: Ticket, assignee: User | None, actor: Actor, now: dt.datetime
) -> Ticket:
    """Give the ticket to a staff member who can see its client (or to nobody)."""
    require(actor, Capability.WRITE)
    if assignee is not None:
        if not assignee.is_active:
            raise TicketError(Msg.ASSIGNEE_INACTIVE, field="assignee")
        if not client_list_for(assignee).filter(pk=ticket.client_id).exists():
            raise TicketError(Msg.ASSIGNEE_CANNOT_SEE, field="assignee")
    check_ticket_transition(TicketAction.ASSIGN, ticket.status)
    with transaction.atomic():
        ticket.assignee = assignee
        ticket.updated_at = now
        ticket.save(update_fields=["assignee", "updated_at"])
        who = assignee.get_username() if assignee else None
        _note(ticket, actor=actor, text=f"Assigned to {who or 'nobody'}.", now=now)
        _event(ticket, "assigned", actor=actor, now=now, assignee=who)
    return ticket


def ticket_close(*, ticket: Ticket, actor: Actor, now: dt.datetime, reason: str) -> Ticket:
    """Close the ticket with a reason (kept as its last note)."""
    require(actor, Capability.WRITE)
    reason = reason.strip()
    if not reason:
        raise TicketError(Msg.CLOSE_REASON_REQUIRED, field="reason")
    check_ticket_transition(TicketAction.CLOSE, ticket.status)
    with transaction.atomic():
        _close(ticket, actor=actor, now=now, note=reason)
    return ticket


def _close(ticket: Ticket, *, actor: Actor, now: dt.datetime, note: str) -> None:
    _move(ticket, TicketAction.CLOSE, now=now)
    _note(ticket, actor=actor, text=note, now=now)
    _event(ticket, "closed", actor=actor, now=now, note=note)


def ticket_on_response(response: Response) -> Ticket | None:
    """The client answered: note the decision on the open ticket, if any, and move it
    on (accepted: planned; deferred: waiting; rejected: closed). Runs inside
    ``response_record``'s transaction."""
    ticket = open_ticket_of(response.recommendation_id)
    if ticket is None:
        return None
    now = response.recorded_at
    day = now.astimezone(ticket.client.tz).date().isoformat()
    parts = [f"Client answered: {response.decision.capitalize()} by {response.responder_name}"]
    parts.append(f"via {response.get_channel_display()} on {day}.")
    if response.justification:
        parts.append(f"Justification: {response.justification}")
    if response.planned_for:
        parts.append(f"Planned for {response.planned_for.isoformat()}.")
    if response.deferred_until:
        parts.append(f"Deferred until {response.deferred_until.isoformat()}.")
    note = " ".join(parts)
    actor = "followup"
    if response.decision == Decision.REJECTED:
        _close(ticket, actor=actor, now=now, note=note)
        return ticket
    _move(
        ticket,
        TicketAction.PLAN if response.decision == Decision.ACCEPTED else TicketAction.WAIT,
        now=now,
    )
    _note(ticket, actor=actor, text=note, now=now)
    _event(ticket, "updated", actor=actor, now=now, decision=response.decision, note=note)
    return ticket
