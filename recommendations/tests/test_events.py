"""Transitions announce; capabilities subscribe. The table of who listens to what is
printed here and shown in docs/architecture.md, so a reader sees what a transition
sets off without grepping."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from answers.models import AnswerLink
from followup.models import OutboxMessage
from ledger.models import Event
from recommendations import events, services
from recommendations.choices import Channel, Status
from recommendations.events import Transitioned
from recommendations.lifecycle import Action
from recommendations.models import Response

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
PRESENTATION = "answers.presentation.on_present"
WEBHOOKS = "followup.subscribers.publish_webhooks"
TICKETS = "followup.subscribers.note_decision_on_ticket"
VERIFICATION_TICKETS = "followup.subscribers.ticket_on_verification"
EXPECTED = {
    action: (
        [PRESENTATION, WEBHOOKS]
        if action == Action.PRESENT
        else [WEBHOOKS, TICKETS]
        if action in (Action.ACCEPT, Action.DEFER, Action.REJECT)
        else [WEBHOOKS, VERIFICATION_TICKETS]
        if action in (Action.MARK_VERIFIED, Action.DRIFT)
        else [WEBHOOKS]
    )
    for action in Action
}


def render_table(table: dict[Action, list[str]]) -> str:
    lines = ["| action | subscribers, in the order they run |", "|---|---|"]
    for action, names in table.items():
        lines.append(f"| `{action.value}` | {', '.join(f'`{n}`' for n in names)} |")
    return "\n".join(lines)


def test_the_subscriber_table_is_what_the_apps_register(capsys):
    table = events.subscriber_table()
    with capsys.disabled():
        print("\n" + render_table(table))
    assert table == EXPECTED


def test_the_architecture_guide_shows_the_same_subscriber_table():
    assert render_table(events.subscriber_table()) in DOCS.read_text(encoding="utf-8")


def test_subscribing_the_same_handler_again_changes_nothing():
    before = events.subscriber_table()
    from followup.subscribers import publish_webhooks

    events.subscribe(publish_webhooks, order=99)
    assert events.subscriber_table() == before


def test_a_subscriber_hears_the_transition_as_it_was_written(draft, admin, now):
    heard: list[Transitioned] = []

    def listen(event: Transitioned) -> None:
        heard.append(event)

    events.subscribe(listen, actions=[Action.PRESENT], order=1)
    try:
        services.recommendation_present(recommendation=draft, actor=admin, now=now)
    finally:
        events._registry[:] = [r for r in events._registry if r.handler is not listen]
    (event,) = heard
    assert (event.action, event.source, event.target) == (
        Action.PRESENT,
        Status.DRAFT,
        Status.AWAITING_RESPONSE,
    )
    assert event.ledger_event.kind == "recommendation.present"
    assert event.inputs == event.ledger_event.data
    assert [c.email for c in event.recipients] == event.inputs["recipients"]
    assert event.now == now and event.actor == admin and event.notify_client


def test_a_failing_subscriber_rolls_the_whole_transition_back(presented, admin, contact_a, now):
    events_before = Event.objects.count()
    outbox_before = OutboxMessage.objects.count()

    def explode(event: Transitioned) -> None:
        raise RuntimeError("the ticket system is down")

    events.subscribe(explode, actions=[Action.ACCEPT], order=25)
    try:
        with pytest.raises(RuntimeError, match="the ticket system is down"):
            services.response_record(
                recommendation=presented,
                decision="accepted",
                channel=Channel.PHONE,
                recorded_by=admin,
                responder=contact_a,
                planned_for=(now + dt.timedelta(days=20)).date(),
                now=now,
            )
    finally:
        events._registry[:] = [r for r in events._registry if r.handler is not explode]
    presented.refresh_from_db()
    assert presented.status == Status.AWAITING_RESPONSE
    assert not Response.objects.exists()
    assert Event.objects.count() == events_before
    assert OutboxMessage.objects.count() == outbox_before


def test_presenting_without_notifying_makes_no_email_and_no_link_and_says_so(draft, admin, now):
    rec = services.recommendation_present(
        recommendation=draft, actor=admin, now=now, notify_client=False
    )
    assert rec.status == Status.AWAITING_RESPONSE
    assert not OutboxMessage.objects.filter(kind="email").exists()
    assert not AnswerLink.objects.exists()
    event = Event.objects.get(kind="recommendation.present")
    assert event.data["notified"] is False


def test_presenting_normally_emails_each_decision_maker(draft, admin, now):
    services.recommendation_present(recommendation=draft, actor=admin, now=now)
    event = Event.objects.get(kind="recommendation.present")
    assert "notified" not in event.data
    assert OutboxMessage.objects.filter(kind="email", recommendation=draft).count() == len(
        event.data["recipients"]
    )


def test_no_core_module_reaches_up_into_a_capability():
    core = Path(__file__).resolve().parents[1]
    pattern = re.compile(r"^\s*(from|import) (followup|answers|tracker|api|web|heeded)\b", re.M)
    offenders = [
        str(path.relative_to(core))
        for path in core.rglob("*.py")
        if "tests" not in path.parts and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
