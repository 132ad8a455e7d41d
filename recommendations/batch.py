"""Many lifecycle changes at once: checked in memory, written set-based.

A ``Batch`` takes new drafts and their transitions one by one and runs each through
the same code as the one-by-one services (``steps``: the transition table, the
decision rules, the deadline maths), so a change the services would refuse is refused
here with the same ``LifecycleError`` or ValidationError, at the moment it is asked
for. Nothing touches the database until ``write``, which then costs a constant number
of statements per batch and per client rather than per change:

- the new recommendations in bulk inserts;
- each client's ledger events appended in one call (one lock per client, the chain
  computed in memory) — the same events, in the same order per client, with the same
  data as the one-by-one path would append;
- the decisions' ``Response`` rows in bulk inserts, each with its event's ``seq``;
- the dashboard's counters moved once for the whole batch (``tallies.track_many``);
- every transition announced (``events.announce_many``) to the same subscribers.

``mark`` and ``rollback`` drop what was asked since a mark, like a savepoint, so a
caller can refuse one item of many (an imported row) and keep the rest. They cover
the only recommendations a batch changes: those it creates (a stored one is changed
under its row lock, by the services).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction

from accounts.models import User
from accounts.permissions import Capability, require
from clients.models import Client, Contact
from clients.policy import Policy, policy_for
from ledger.actors import Actor, actor_label
from ledger.models import Event, Head
from ledger.services import LedgerError, NewEvent, event_append_many
from lib.bulk import insert_rows
from recommendations import steps
from recommendations.decisions import decision_action
from recommendations.events import Transitioned, announce_many
from recommendations.lifecycle import Action
from recommendations.models import Recommendation, Response
from recommendations.tallies import TallyKey, key_of, track_many

BULK_SIZE = 500


@dataclasses.dataclass
class _Decision:
    """What a decision's Response needs besides its event's data."""

    recorded_by: User | None
    responder: Contact | None
    planned_for: dt.date | None
    deferred_until: dt.date | None


@dataclasses.dataclass
class _Entry:
    """One ledger event to append, and the transition it records (if any)."""

    client: Client
    kind: str
    actor: Actor
    at: dt.datetime
    rec: Recommendation | None
    data: dict[str, Any]
    # Set data[head_key] to the client's head seq just before this event is appended.
    head_key: str | None = None
    action: Action | None = None
    recipients: tuple[Contact, ...] = ()
    notify_client: bool = True
    decision: _Decision | None = None


class Batch:
    """Changes asked of the lifecycle, held in memory until ``write``."""

    def __init__(self, *, actor: Actor) -> None:
        require(actor, Capability.WRITE)
        self.actor = actor
        self.new: list[Recommendation] = []
        self.entries: list[_Entry] = []
        self._policies: dict[int, Policy] = {}
        self._deciders: dict[int, list[Contact]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    # --- what the changes read, once per client ---------------------------------------

    def policy(self, client: Client) -> Policy:
        if client.pk not in self._policies:
            self._policies[client.pk] = policy_for(client)
        return self._policies[client.pk]

    def decision_makers(self, client: Client) -> list[Contact]:
        if client.pk not in self._deciders:
            self._deciders[client.pk] = list(
                Contact.objects.filter(
                    client=client, is_decision_maker=True, is_active=True
                ).order_by("pk")
            )
        return self._deciders[client.pk]

    # --- savepoints -----------------------------------------------------------------

    def mark(self) -> tuple[int, int]:
        return len(self.new), len(self.entries)

    def rollback(self, mark: tuple[int, int]) -> None:
        del self.new[mark[0] :]
        del self.entries[mark[1] :]

    # --- the changes ----------------------------------------------------------------

    def create(
        self,
        *,
        client: Client,
        now: dt.datetime,
        external_id_taken: Callable[[str], bool],
        **kw: Any,
    ) -> Recommendation:
        """A new draft, as ``recommendation_create`` would make it (same arguments)."""
        rec, data = steps.draft(
            client=client, actor=self.actor, now=now, external_id_taken=external_id_taken, **kw
        )
        self.new.append(rec)
        self._entry(client, "recommendation.created", self.actor, now, rec, data)
        return rec

    def _transition(
        self,
        rec: Recommendation,
        action: Action,
        *,
        now: dt.datetime,
        apply: steps.Apply,
        actor: Actor | None = None,
        recipients: Sequence[Contact] = (),
        notify_client: bool = True,
        decision: _Decision | None = None,
    ) -> Recommendation:
        if rec.pk is not None:
            # A stored recommendation is changed under its row lock, by the services.
            raise ValueError("a batch changes only the recommendations it creates")
        data = steps.advance(rec, action, now=now, policy=self.policy(rec.client), apply=apply)
        self._entry(
            rec.client,
            f"recommendation.{action.value}",
            actor if actor is not None else self.actor,
            now,
            rec,
            data,
            action=action,
            recipients=tuple(recipients),
            notify_client=notify_client,
            decision=decision,
        )
        return rec

    def present(
        self, rec: Recommendation, *, now: dt.datetime, notify_client: bool = True
    ) -> Recommendation:
        """``recommendation_present``."""
        recipients = self.decision_makers(rec.client)
        apply = steps.present(
            now=now,
            policy=self.policy(rec.client),
            recipients=recipients,
            notify_client=notify_client,
        )
        return self._transition(
            rec,
            Action.PRESENT,
            now=now,
            apply=apply,
            recipients=recipients,
            notify_client=notify_client,
        )

    def decide(
        self,
        rec: Recommendation,
        *,
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
    ) -> Recommendation:
        """``response_record``: the Response is written with the batch."""
        action = decision_action(decision)
        actor = steps.decision_actor(recorded_by=recorded_by, responder=responder, channel=channel)
        apply = steps.decide(
            decision=decision,
            channel=channel,
            now=now,
            policy=self.policy(rec.client),
            recorded_by=recorded_by,
            responder=responder,
            responder_name=responder_name,
            justification=justification,
            planned_for=planned_for,
            deferred_until=deferred_until,
            attendees=attendees,
            shown_text_sha256=shown_text_sha256,
            evidence_ref=evidence_ref,
        )
        return self._transition(
            rec,
            action,
            now=now,
            apply=apply,
            actor=actor,
            decision=_Decision(recorded_by, responder, planned_for, deferred_until),
        )

    def start_work(
        self, rec: Recommendation, *, now: dt.datetime, note: str = ""
    ) -> Recommendation:
        """``recommendation_start_work``."""
        apply = steps.start_work(now=now, note=note)
        return self._transition(rec, Action.START_WORK, now=now, apply=apply)

    def mark_implemented(
        self, rec: Recommendation, *, now: dt.datetime, note: str = "", evidence_ref: str = ""
    ) -> Recommendation:
        """``recommendation_mark_implemented``."""
        apply = steps.mark_implemented(now=now, note=note, evidence_ref=evidence_ref)
        return self._transition(rec, Action.MARK_IMPLEMENTED, now=now, apply=apply)

    def mark_verified(
        self, rec: Recommendation, *, now: dt.datetime, evidence_ref: str = "", note: str = ""
    ) -> Recommendation:
        """``recommendation_mark_verified``."""
        apply = steps.mark_verified(now=now, evidence_ref=evidence_ref, note=note)
        return self._transition(rec, Action.MARK_VERIFIED, now=now, apply=apply)

    def withdraw(self, rec: Recommendation, *, now: dt.datetime, reason: str) -> Recommendation:
        """``recommendation_withdraw``."""
        apply = steps.withdraw(now=now, reason=reason)
        return self._transition(rec, Action.WITHDRAW, now=now, apply=apply)

    def mark_ignored(
        self, rec: Recommendation, *, now: dt.datetime, reason: str = ""
    ) -> Recommendation:
        """``recommendation_mark_ignored``."""
        apply = steps.mark_ignored(now=now, reason=reason)
        return self._transition(rec, Action.MARK_IGNORED, now=now, apply=apply)

    def expire_planned_date(self, rec: Recommendation, *, now: dt.datetime) -> Recommendation:
        """``recommendation_expire_planned_date``."""
        apply = steps.expire_planned_date(now=now)
        return self._transition(rec, Action.EXPIRE_PLANNED_DATE, now=now, apply=apply)

    def note(
        self,
        rec: Recommendation,
        *,
        kind: str,
        at: dt.datetime,
        data: dict[str, Any],
        head_key: str | None = None,
    ) -> None:
        """A ledger event about ``rec`` that is no transition (a capability's own, such
        as ``tracker.imported``). ``head_key``: put the client's head seq, as it stands
        just before this event, under that key of ``data``."""
        self._entry(rec.client, kind, self.actor, at, rec, data, head_key=head_key)

    def _entry(
        self,
        client: Client,
        kind: str,
        actor: Actor,
        at: dt.datetime,
        rec: Recommendation | None,
        data: dict[str, Any],
        **kw: Any,
    ) -> None:
        self.entries.append(_Entry(client, kind, actor, at, rec, data, **kw))

    # --- writing --------------------------------------------------------------------

    def write(self) -> None:
        """Write everything asked for, set-based, in one transaction; then the batch is
        empty again."""
        if not self.entries:
            return
        with transaction.atomic():
            for start in range(0, len(self.new), BULK_SIZE):
                insert_rows(self.new[start : start + BULK_SIZE], returning_ids=True)
            by_client: dict[int, list[_Entry]] = {}
            for entry in self.entries:
                by_client.setdefault(entry.client.pk, []).append(entry)
            appended: dict[int, Event] = {}
            for entries in by_client.values():
                for entry, event in zip(entries, _append(entries), strict=True):
                    appended[id(entry)] = event
            responses: list[Response] = []
            announced: list[Transitioned] = []
            for entry in self.entries:
                event = appended[id(entry)]
                if entry.action is None or entry.rec is None:
                    continue
                response = None
                if entry.decision is not None:
                    response = steps.response_of(
                        entry.rec,
                        entry.data,
                        seq=event.seq,
                        now=entry.at,
                        recorded_by=entry.decision.recorded_by,
                        responder=entry.decision.responder,
                        planned_for=entry.decision.planned_for,
                        deferred_until=entry.decision.deferred_until,
                    )
                    responses.append(response)
                announced.append(
                    Transitioned(
                        action=entry.action,
                        recommendation=entry.rec,
                        source=entry.data["from"],
                        target=entry.data["to"],
                        inputs=event.data,
                        actor=entry.actor,
                        now=entry.at,
                        ledger_event=event,
                        response=response,
                        recipients=entry.recipients,
                        notify_client=entry.notify_client,
                    )
                )
            for start in range(0, len(responses), BULK_SIZE):
                insert_rows(responses[start : start + BULK_SIZE], returning_ids=True)
            moves: list[tuple[TallyKey | None, TallyKey | None]] = [
                (None, key_of(rec)) for rec in self.new
            ]
            track_many(moves)
            announce_many(announced)
        self.new, self.entries = [], []


def _append(entries: list[_Entry]) -> list[Event]:
    """Append one client's events, in order, with one call to the ledger."""
    client = entries[0].client
    seq = 0
    # Without a head_key the seqs are the ledger's to number, from wherever the
    # chain stands; with one, they are counted here from the locked head.
    locked = any(entry.head_key is not None for entry in entries)
    if locked:
        # The head is locked before the events' data is final, so no other
        # transaction appends in between: a recorded head seq is the chain's.
        seq = (
            Head.objects.select_for_update()
            .filter(client_id=client.pk)
            .values_list("seq", flat=True)
            .first()
        ) or 0
    new = []
    for entry in entries:
        if entry.head_key is not None:
            entry.data[entry.head_key] = seq
        seq += 1
        new.append(
            NewEvent(
                kind=entry.kind,
                actor=actor_label(entry.actor),
                at=entry.at,
                data=entry.data,
                recommendation_id=entry.rec.pk if entry.rec is not None else None,
            )
        )
    events = event_append_many(client=client, events=new)
    if locked and events[-1].seq != seq:
        raise LedgerError(f"the chain of client {client.pk} moved while a batch was appended")
    return events
