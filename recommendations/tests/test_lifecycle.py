"""Every action of the transition table, tried from every status: allowed ones lead
where the table says and append exactly one ledger event; refused ones raise
TransitionNotAllowed with the stable message and change nothing."""

from __future__ import annotations

import pytest

from recommendations import services
from recommendations.choices import Status
from recommendations.lifecycle import (
    TRANSITIONS,
    Action,
    Msg,
    TransitionNotAllowed,
    allowed_actions,
    check_transition,
)
from recommendations.tests.helpers import DAY, bring_to, respond, snapshot


def perform(action: Action, rec, *, user, contact, now):
    """Call the service for ``action`` with inputs that are valid for it."""
    if action == Action.PRESENT:
        return services.recommendation_present(recommendation=rec, actor=user, now=now)
    if action in (Action.ACCEPT, Action.DEFER, Action.REJECT):
        decision = {Action.ACCEPT: "accepted", Action.DEFER: "deferred", Action.REJECT: "rejected"}
        return respond(rec, decision[action], user=user, contact=contact, now=now)
    if action == Action.START_WORK:
        return services.recommendation_start_work(recommendation=rec, actor=user, now=now)
    if action == Action.MARK_IMPLEMENTED:
        return services.recommendation_mark_implemented(recommendation=rec, actor=user, now=now)
    if action == Action.MARK_VERIFIED:
        return services.recommendation_mark_verified(
            recommendation=rec, actor=user, now=now, evidence_ref="report:1"
        )
    if action == Action.DRIFT:
        return services.recommendation_drift(
            recommendation=rec, actor=user, now=now, reason="KB missing on 2 devices"
        )
    if action == Action.WITHDRAW:
        return services.recommendation_withdraw(
            recommendation=rec, actor=user, now=now, reason="Superseded by a newer item"
        )
    if action == Action.EXPIRE_DEFERRAL:
        return services.recommendation_expire_deferral(recommendation=rec, now=now + 40 * DAY)
    if action == Action.EXPIRE_PLANNED_DATE:
        return services.recommendation_expire_planned_date(recommendation=rec, now=now + 40 * DAY)
    if action == Action.MARK_IGNORED:
        return services.recommendation_mark_ignored(recommendation=rec, now=now)
    raise AssertionError(action)


CASES = [(action, status) for action in Action for status in Status]


@pytest.mark.parametrize(("action", "status"), CASES, ids=[f"{a}-from-{s}" for a, s in CASES])
def test_each_action_from_each_status_follows_the_table(
    action, status, draft, admin, contact_a, now
):
    rec = bring_to(status, draft, user=admin, contact=contact_a, now=now)
    sources, target = TRANSITIONS[action]
    before = snapshot(rec)
    if status in sources:
        perform(action, rec, user=admin, contact=contact_a, now=now)
        rec.refresh_from_db()
        assert rec.status == (target or status)
        after = snapshot(rec)
        # Drift also reopens the follow-up ticket (followup's subscriber): ticket.opened.
        written = 2 if action == Action.DRIFT else 1
        assert after["events"] == before["events"] + written
        assert after["head"][0] == before["head"][0] + written
    else:
        with pytest.raises(TransitionNotAllowed) as refused:
            perform(action, rec, user=admin, contact=contact_a, now=now)
        label = Status(status).label.lower()
        assert refused.value.message == Msg.NOT_ALLOWED.format(
            action=action.value.replace("_", " "), status=label
        )
        assert snapshot(rec) == before


def test_withdraw_is_allowed_from_every_status_but_verified_and_withdrawn():
    allowed = {s for s in Status if Action.WITHDRAW in allowed_actions(s)}
    assert allowed == set(Status) - {Status.VERIFIED, Status.WITHDRAWN}


def test_check_transition_keeps_the_status_for_event_only_actions():
    assert check_transition(Action.EXPIRE_PLANNED_DATE, Status.IN_PROGRESS) == Status.IN_PROGRESS


def test_a_client_changing_its_mind_adds_a_response_and_keeps_the_old_one(
    presented, admin, contact_a, now
):
    first = respond(presented, "rejected", user=admin, contact=contact_a, now=now)
    second = respond(presented, "accepted", user=admin, contact=contact_a, now=now + DAY)
    presented.refresh_from_db()
    assert presented.status == Status.ACCEPTED
    assert list(presented.responses.values_list("pk", "decision")) == [
        (first.pk, "rejected"),
        (second.pk, "accepted"),
    ]
    first.refresh_from_db()
    assert first.justification == "Budget is committed to the ERP migration."
    assert second.ledger_seq == first.ledger_seq + 1
