"""The dashboard's counters (``recommendations.tallies``) are kept in the transaction
of every change: after any random history they equal a full recount, a refused
change moves none of them, and ``heeded counters rebuild`` restores them from scratch."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from recommendations import services, tallies
from recommendations.lifecycle import LifecycleError
from recommendations.models import PresentedTally, Recommendation, StatusTally
from recommendations.tests.helpers import respond
from recommendations.tests.test_lifecycle_machine import LifecycleMachine


class CountedLifecycle(LifecycleMachine):
    """The lifecycle machine's random histories (valid and refused actions, time
    passing, every transition), checking the counters after every step."""

    @invariant()
    def the_counters_equal_a_recount(self) -> None:
        assert tallies.differences() == []


@pytest.mark.django_db
def test_the_counters_equal_a_recount_after_random_histories():
    run_state_machine_as_test(
        CountedLifecycle,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            database=None,
        ),
    )


def _matrix(client_id: int) -> dict[tuple[str, str], int]:
    return {
        (s, sev): n
        for s, sev, n in StatusTally.objects.filter(client_id=client_id)
        .exclude(n=0)
        .values_list("status", "severity", "n")
    }


@pytest.mark.django_db
def test_each_transition_moves_one_count_in_its_own_transaction(
    draft, admin, contact_a, client_a, now
):
    assert _matrix(client_a.pk) == {("draft", draft.severity): 1}
    services.recommendation_present(recommendation=draft, actor=admin, now=now)
    assert _matrix(client_a.pk) == {("awaiting_response", draft.severity): 1}
    day = now.astimezone(dt.UTC).date()
    assert list(PresentedTally.objects.exclude(n=0).values_list("status", "presented_on", "n")) == [
        ("awaiting_response", day, 1)
    ]
    respond(draft, "rejected", user=admin, contact=contact_a, now=now)
    assert _matrix(client_a.pk) == {("rejected", draft.severity): 1}
    assert tallies.differences() == []


@pytest.mark.django_db
def test_a_refused_transition_leaves_the_counters_alone(draft, admin, now):
    before = tallies.stored()
    with pytest.raises(LifecycleError):
        services.recommendation_withdraw(recommendation=draft, actor=admin, now=now, reason=" ")
    assert tallies.stored() == before


@pytest.mark.django_db
def test_rebuild_restores_counters_written_around_the_services(presented, draft, client_a):
    Recommendation.objects.filter(pk=presented.pk).update(severity="low")
    StatusTally.objects.update(n=7)
    assert tallies.differences()
    with pytest.raises(CommandError, match="differ from a recount"):
        call_command("counters", "check")
    call_command("counters", "rebuild")
    assert tallies.differences() == []
    call_command("counters", "check")
    assert _matrix(client_a.pk) == {("awaiting_response", "low"): 1}
