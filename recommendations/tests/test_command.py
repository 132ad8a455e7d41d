"""``heeded recommendation``: the lifecycle from the command line."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommendations.choices import Status
from recommendations.lifecycle import Msg
from recommendations.tests.helpers import snapshot


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("recommendation", *args, stdout=out)
    return out.getvalue()


def test_it_presents_and_records_a_phone_decision(draft, admin, contact_a):
    assert (
        run("--as", "ada", "present", str(draft.pk))
        == f"ok: #{draft.pk} is now awaiting_response\n"
    )
    out = run(
        "--as",
        "ada",
        "respond",
        str(draft.pk),
        "accepted",
        "--contact",
        str(contact_a.pk),
        "--planned",
        "2030-01-31",
    )
    assert out == f"ok: #{draft.pk} is now accepted\n"
    draft.refresh_from_db()
    assert draft.status == Status.ACCEPTED
    assert draft.responses.get().recorded_by == admin


def test_it_refuses_an_acceptance_without_a_planned_date_with_exit_code_1(presented, contact_a):
    before = snapshot(presented)
    with pytest.raises(CommandError) as refused:
        run("--as", "ada", "respond", str(presented.pk), "accepted", "--contact", str(contact_a.pk))
    assert refused.value.returncode == 1
    assert str(refused.value) == f"refused (planned_for): {Msg.PLANNED_DATE_REQUIRED}"
    assert snapshot(presented) == before


def test_it_refuses_a_transition_not_in_the_table(presented):
    before = snapshot(presented)
    with pytest.raises(CommandError) as refused:
        run("--as", "ada", "implemented", str(presented.pk))
    assert refused.value.returncode == 1
    assert "Cannot mark implemented a recommendation that is awaiting response." in str(
        refused.value
    )
    assert snapshot(presented) == before


def test_an_auditor_is_refused(presented, auditor):
    before = snapshot(presented)
    with pytest.raises(CommandError) as refused:
        run("--as", "otto", "withdraw", str(presented.pk), "--reason", "x")
    assert refused.value.returncode == 1
    assert snapshot(presented) == before


def test_a_technician_cannot_reach_another_clients_recommendation(
    client_b, contact_b, technician, admin, now
):
    from recommendations.services import recommendation_create

    rec = recommendation_create(
        client=client_b, actor=admin, now=now, title="T", body="B", severity="low"
    )
    with pytest.raises(CommandError) as refused:
        run("--as", "tess", "show", str(rec.pk))
    assert refused.value.returncode == 2
    assert "no recommendation" in str(refused.value)


def test_bad_arguments_exit_with_code_2(presented):
    with pytest.raises(CommandError) as refused:
        run("--as", "nobody", "show", str(presented.pk))
    assert refused.value.returncode == 2
    with pytest.raises(CommandError) as refused:
        run("--as", "ada", "respond", str(presented.pk), "accepted", "--planned", "31/01/2030")
    assert "is not a date" in str(refused.value)


def test_show_lists_the_allowed_actions(presented):
    out = run("--as", "ada", "show", str(presented.pk))
    assert "status: awaiting_response" in out
    assert "allowed: accept, defer, reject, withdraw, mark_ignored" in out
