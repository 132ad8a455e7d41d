"""A hypothesis state machine drives random sequences of actions, with valid and
invalid inputs, through the services. After every step: a refused action changed
nothing, an accepted one moved the status exactly as the table says and appended
exactly one event, the stored deadline is the one the model computes, and the
client's chain still verifies."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from accounts.models import User
from clients.policy import policy_for
from clients.services import client_create, contact_create
from ledger.models import GENESIS_HASH, Event
from recommendations import services
from recommendations.choices import Channel
from recommendations.lifecycle import (
    DECISION_ACTIONS,
    TRANSITIONS,
    Action,
    LifecycleError,
    TransitionNotAllowed,
)
from recommendations.models import Recommendation
from recommendations.tests.helpers import snapshot

START = dt.datetime(2026, 1, 5, 8, 30, tzinfo=dt.UTC)
offsets = st.one_of(st.none(), st.integers(min_value=-5, max_value=60))
texts = st.sampled_from(["", "  ", "Budget approved for Q3", "Il fornitore è in ritardo"])


class LifecycleMachine(RuleBasedStateMachine):
    recs = Bundle("recs")

    @initialize()
    def setup(self) -> None:
        count = User.objects.count()
        self.user = User.objects.create_user(f"machine{count}", role="admin")
        self.client = client_create(
            name=f"Machine client {count}", actor=self.user, now=START, time_zone="America/New_York"
        )
        self.contact = contact_create(
            client=self.client,
            name="Dee Maker",
            email=f"dee{count}@example.com",
            is_decision_maker=True,
            actor=self.user,
            now=START,
        )
        self.now = START

    @rule(target=recs, severity=st.sampled_from(["critical", "high", "medium", "low"]))
    def create(self, severity: str) -> Recommendation:
        return services.recommendation_create(
            client=self.client,
            actor=self.user,
            now=self.now,
            title="Turn on MFA",
            body="Everywhere.",
            severity=severity,
        )

    @rule(hours=st.integers(min_value=1, max_value=24 * 45))
    def advance_time(self, hours: int) -> None:
        self.now += dt.timedelta(hours=hours)

    def attempt(self, rec: Recommendation, action: Action, call, *, inputs_valid: bool) -> None:
        current = Recommendation.objects.get(pk=rec.pk).status
        sources, target = TRANSITIONS[action]
        before = snapshot(rec)
        try:
            call()
        except TransitionNotAllowed:
            assert current not in sources
            assert snapshot(rec) == before
            return
        except LifecycleError:
            assert current in sources
            assert not inputs_valid
            assert snapshot(rec) == before
            return
        assert current in sources, f"{action} allowed from {current}"
        assert inputs_valid, f"{action} accepted invalid inputs"
        after = snapshot(rec)
        assert after["recommendation"]["status"] == (target or current)
        assert after["events"] == before["events"] + 1

    @rule(rec=recs)
    def present(self, rec: Recommendation) -> None:
        self.attempt(
            rec,
            Action.PRESENT,
            lambda: services.recommendation_present(
                recommendation=rec, actor=self.user, now=self.now
            ),
            inputs_valid=True,
        )

    @rule(
        rec=recs,
        decision=st.sampled_from(sorted(DECISION_ACTIONS)),
        planned=offsets,
        deferred=offsets,
        justification=texts,
    )
    def respond(
        self,
        rec: Recommendation,
        decision: str,
        planned: int | None,
        deferred: int | None,
        justification: str,
    ) -> None:
        today = self.now.astimezone(self.client.tz).date()
        planned_for = today + dt.timedelta(days=planned) if planned is not None else None
        deferred_until = today + dt.timedelta(days=deferred) if deferred is not None else None
        if decision == "accepted":
            valid = planned_for is not None and planned_for >= today
        elif decision == "deferred":
            valid = (
                bool(justification.strip())
                and deferred_until is not None
                and deferred_until > today
            )
        else:
            valid = bool(justification.strip())
        self.attempt(
            rec,
            DECISION_ACTIONS[decision],
            lambda: services.response_record(
                recommendation=rec,
                decision=decision,
                channel=Channel.STAFF,
                recorded_by=self.user,
                responder=self.contact,
                now=self.now,
                planned_for=planned_for,
                deferred_until=deferred_until,
                justification=justification,
            ),
            inputs_valid=valid,
        )

    @rule(
        rec=recs,
        action=st.sampled_from(
            [Action.START_WORK, Action.MARK_IMPLEMENTED, Action.MARK_VERIFIED, Action.MARK_IGNORED]
        ),
    )
    def simple(self, rec: Recommendation, action: Action) -> None:
        calls = {
            Action.START_WORK: lambda: services.recommendation_start_work(
                recommendation=rec, actor=self.user, now=self.now
            ),
            Action.MARK_IMPLEMENTED: lambda: services.recommendation_mark_implemented(
                recommendation=rec, actor=self.user, now=self.now
            ),
            Action.MARK_VERIFIED: lambda: services.recommendation_mark_verified(
                recommendation=rec, actor=self.user, now=self.now
            ),
            Action.MARK_IGNORED: lambda: services.recommendation_mark_ignored(
                recommendation=rec, now=self.now
            ),
        }
        self.attempt(rec, action, calls[action], inputs_valid=True)

    @rule(rec=recs, reason=texts, drift=st.booleans())
    def with_reason(self, rec: Recommendation, reason: str, drift: bool) -> None:
        service = services.recommendation_drift if drift else services.recommendation_withdraw
        self.attempt(
            rec,
            Action.DRIFT if drift else Action.WITHDRAW,
            lambda: service(
                recommendation=rec,
                actor=self.user,
                now=self.now,
                reason=reason,
            ),
            inputs_valid=bool(reason.strip()),
        )

    @rule(rec=recs, planned=st.booleans())
    def expire(self, rec: Recommendation, planned: bool) -> None:
        current = Recommendation.objects.get(pk=rec.pk)
        due = current.next_action_at
        valid = due is not None and due <= self.now
        if planned:
            self.attempt(
                rec,
                Action.EXPIRE_PLANNED_DATE,
                lambda: services.recommendation_expire_planned_date(
                    recommendation=rec, now=self.now
                ),
                inputs_valid=valid,
            )
        else:
            self.attempt(
                rec,
                Action.EXPIRE_DEFERRAL,
                lambda: services.recommendation_expire_deferral(recommendation=rec, now=self.now),
                inputs_valid=valid,
            )

    @invariant()
    def deadlines_are_what_the_model_computes(self) -> None:
        for rec in Recommendation.objects.filter(
            client=getattr(self, "client", None)
        ).select_related("client"):
            # Computed at the moment of the last transition, under the client's policy.
            expected = rec.compute_next_action_at(policy_for(rec.client), rec.updated_at)
            assert rec.next_action_at == expected

    @invariant()
    def the_chain_verifies(self) -> None:
        if not hasattr(self, "client"):
            return
        previous = GENESIS_HASH
        events = Event.objects.filter(client=self.client).order_by("seq")
        for seq, event in enumerate(events, start=1):
            assert event.seq == seq
            assert event.prev_hash == previous
            assert event.compute_hash(str(self.client.uuid)) == event.hash
            previous = event.hash


@pytest.mark.django_db
def test_random_action_sequences_respect_the_lifecycle():
    run_state_machine_as_test(
        LifecycleMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            database=None,
        ),
    )
