"""The sweep with a frozen clock: reminders, the escalation ladder, expiries, notices."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from clients.models import ClientPolicy
from clients.services import contact_create
from followup.models import FollowupStep, NoticeItem, OutboxMessage, Ticket
from followup.sweep import due_ids, sweep
from ledger.models import Anchor, Event
from recommendations.choices import Channel, Status
from recommendations.deadlines import Step
from recommendations.models import Recommendation
from recommendations.services import (
    recommendation_create,
    recommendation_present,
    response_record,
)

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def _rec(client, admin, now, *, title="Patch the VPN appliance", severity="high", contact=None):
    rec = recommendation_create(
        client=client,
        actor=admin,
        now=now,
        title=title,
        body="Apply the vendor's fix.",
        severity=severity,
        owner=admin,
        contact=contact,
    )
    return recommendation_present(recommendation=rec, actor=admin, now=now)


def _steps(rec) -> list[str]:
    return list(FollowupStep.objects.filter(recommendation=rec).values_list("name", flat=True))


def _mails() -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(idempotency_key__startswith="followup:").order_by("id")
    )


def _told(step: str, audience: str) -> list[OutboxMessage]:
    """The notices that told ``audience`` of steps named ``step``, in order."""
    ids = NoticeItem.objects.filter(step__name=step, audience=audience).values("message")
    return list(OutboxMessage.objects.filter(pk__in=ids).order_by("id"))


def test_a_critical_item_unanswered_for_eight_days_escalates_once_to_both_parties(presented, now):
    actions = sweep(now=now + 8 * DAY)

    assert [a.text.split(" ")[0] for a in actions] == [
        Step.ESCALATION_1,
        "notice",
        "notice",
    ]
    assert _steps(presented) == [Step.ESCALATION_1]
    ticket = Ticket.objects.get()
    assert (ticket.recommendation, ticket.status, ticket.escalation_level) == (presented, "open", 1)
    mails = _mails()
    assert [m.payload["to"] for m in mails] == [["alice@acme-dental.example"], ["ada@msp.example"]]
    assert (
        "Overdue: the answer was due 9 March 2026 (escalation level 1)."
        in (mails[0].payload["text"])
    )
    assert mails[0].payload["subject"] == (
        "[Acme Dental] Overdue: 1 security recommendation needs your attention"
    )
    notices = Event.objects.filter(kind="followup.notice").order_by("seq")
    assert [e.data["recipients"] for e in notices] == [m.payload["to"] for m in mails]
    assert all(len(e.data["message_sha256"]) == 64 for e in notices)
    # The client's notice carries the ledger head, recorded as an anchor.
    head = notices[0].data["ledger_head"]
    assert head["hash"] in mails[0].payload["text"] and head["hash"] in mails[0].payload["html"]
    assert Anchor.objects.filter(seq=head["seq"], hash=head["hash"], purpose="client e-mail")
    assert "ledger_head" not in notices[1].data

    assert sweep(now=now + 8 * DAY) == []
    assert sweep(now=now + 9 * DAY) == []
    assert FollowupStep.objects.count() == 1 and Ticket.objects.count() == 1
    assert len(_mails()) == 2


def test_daily_sweeps_climb_the_whole_ladder_to_ignored(presented, admin, client_a, now):
    contact_create(
        client=client_a,
        name="Eve Escalation",
        email="eve@acme-dental.example",
        is_escalation_contact=True,
        actor=admin,
        now=now,
    )
    for day in range(0, 20):
        sweep(now=now + day * DAY)

    assert _steps(presented) == [
        Step.REMINDER_1,
        Step.REMINDER_2,
        Step.ESCALATION_1,
        Step.ESCALATION_2,
        Step.ESCALATION_3,
    ]
    rows = FollowupStep.objects.filter(recommendation=presented)
    assert [(r.acted_at - now).days for r in rows] == [4, 6, 7, 10, 14]
    presented.refresh_from_db()
    assert presented.status == Status.IGNORED and presented.next_action_at is None
    ticket = Ticket.objects.get()
    assert ticket.escalation_level == 3 and ticket.notes.count() == 3
    assert [m.payload["to"] for m in _told(Step.ESCALATION_2, "client")] == [
        ["alice@acme-dental.example"],
        ["eve@acme-dental.example"],
    ]
    assert [m.payload["to"] for m in _told(Step.ESCALATION_1, "client")] == [
        ["alice@acme-dental.example"]
    ]
    (ignored,) = _told(Step.ESCALATION_3, "client")[:1]
    assert "FORMAL RISK ACKNOWLEDGEMENT" in ignored.payload["text"]
    assert _told(Step.REMINDER_1, "staff") == []
    assert len(_told(Step.REMINDER_1, "client")) == 1
    assert Event.objects.filter(kind="recommendation.mark_ignored").count() == 1


def test_notices_group_a_clients_items_by_severity_oldest_first(
    presented, admin, client_a, contact_a, now
):
    older_low = _rec(client_a, admin, now - 30 * DAY, title="Old low item", severity="low")
    high = _rec(client_a, admin, now - 3 * DAY, title="High item", severity="high")
    sweep(now=now + 8 * DAY)

    (client_mail,) = _told(Step.ESCALATION_1, "client")
    text = client_mail.payload["text"]
    assert "3 security recommendations need your attention" in client_mail.payload["subject"]
    assert text.index("Require MFA") < text.index("High item") < text.index("Old low item")
    assert text.index("CRITICAL (1)") < text.index("HIGH (1)") < text.index("LOW (1)")
    assert "Next quarterly business review: 1 April 2026." in text
    assert Ticket.objects.count() == 3
    assert older_low.pk and high.pk


def test_a_replayed_day_does_the_same_thing_again(presented, admin, client_a, now):
    _rec(client_a, admin, now - 2 * DAY, severity="critical")
    at = now + 12 * DAY
    runs = []
    for _ in range(2):
        with transaction.atomic():
            # Ticket numbers come from a sequence, which a rollback does not rewind.
            lines = [re.sub(r"ticket #\d+", "ticket", a.line()) for a in sweep(now=at)]
            runs.append(lines)
            keys = sorted(OutboxMessage.objects.values_list("idempotency_key", flat=True))
            runs.append(keys)
            transaction.set_rollback(True)
    assert runs[0] == runs[2] and runs[1] == runs[3] and runs[0]


def test_the_sweep_reads_only_due_rows_through_the_index(
    presented, admin, client_a, contact_a, now
):
    ClientPolicy.objects.create(client=client_a, tier="No reminders", reminders=False)
    later = _rec(client_a, admin, now + DAY, severity="critical", contact=contact_a)
    with CaptureQueriesContext(connection) as one_due:
        assert len(sweep(now=now + 7 * DAY)) == 3
    for i in range(25):
        _rec(client_a, admin, now + 8 * DAY, title=f"Not due {i}")
    with CaptureQueriesContext(connection) as one_due_among_many:
        assert len(sweep(now=now + 8 * DAY)) == 3
    assert _steps(later) == [Step.ESCALATION_1]
    assert len(one_due_among_many) == len(one_due)
    if connection.vendor == "sqlite":
        plan = (
            Recommendation.objects.filter(next_action_at__lte=now)
            .order_by("next_action_at", "id")
            .explain()
        )
        assert "rec_next_action_due" in plan
        # The planning pass reads only the steps not yet told, not every step taken.
        plan = (
            FollowupStep.objects.filter(notified_at__isnull=True, notice_items__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)
            .explain()
        )
        assert "step_unnotified" in plan
    assert due_ids(now + 8 * DAY, 10) == []


def test_a_deferral_reaching_its_date_is_reasked_and_escalated_after_max_deferrals(
    presented, contact_a, now
):
    for n in (1, 2):
        start = now + (n - 1) * 20 * DAY
        response_record(
            recommendation=presented,
            decision="deferred",
            channel=Channel.SIGNED_LINK,
            responder=contact_a,
            justification="Budget next quarter.",
            deferred_until=(start + 10 * DAY).date(),
            now=start,
        )
        actions = sweep(now=start + 11 * DAY)
        assert f"re-asked after {n} deferral(s)" in actions[0].text
    assert "escalated, ticket #" in actions[0].text
    presented.refresh_from_db()
    assert presented.status == Status.AWAITING_RESPONSE
    reasks = _told(Step.DEFERRAL_DUE, "client")
    assert "(deferred 2 times): please decide again" in reasks[-1].payload["text"]
    assert "(deferred 1 time): please decide again" in reasks[0].payload["text"]
    assert len(_told(Step.DEFERRAL_DUE, "staff")) == 1


def test_an_accepted_item_past_its_planned_date_escalates_to_owner_and_client(
    presented, contact_a, now
):
    response_record(
        recommendation=presented,
        decision="accepted",
        channel=Channel.SIGNED_LINK,
        responder=contact_a,
        planned_for=(now + 5 * DAY).date(),
        now=now,
    )
    assert sweep(now=now + 5 * DAY) == []
    actions = sweep(now=now + 7 * DAY)
    assert actions[0].text.startswith("planned-date")
    presented.refresh_from_db()
    assert presented.planned_date_lapsed_on == (now + 5 * DAY).date()
    assert presented.next_action_at is None
    assert {m.idempotency_key.split(":")[1] for m in _mails()} == {"client", "staff"}


def test_a_rejection_is_put_again_at_its_review_date(presented, contact_a, now):
    response_record(
        recommendation=presented,
        decision="rejected",
        channel=Channel.SIGNED_LINK,
        responder=contact_a,
        justification="Too costly.",
        now=now,
    )
    assert sweep(now=now + 364 * DAY) == []
    actions = sweep(now=now + 366 * DAY)
    assert actions[0].text.endswith("re-review asked")
    presented.refresh_from_db()
    assert presented.next_action_at is None and presented.status == Status.REJECTED
    assert sweep(now=now + 400 * DAY) == []


def test_a_client_policy_counts_business_days_and_its_own_deadlines(draft, client_a, admin, now):
    ClientPolicy.objects.create(client=client_a, tier="Gold", critical_days=5, business_days=True)
    rec = recommendation_present(recommendation=draft, actor=admin, now=now)
    # Monday 2 March + 5 business days = Monday 9 March, same local time.
    assert rec.response_due_at == dt.datetime(2026, 3, 9, 9, 0, tzinfo=dt.UTC)
    # The first reminder: 2 business days before, Thursday 5 March.
    assert rec.next_action_at == dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC)


def test_the_sweep_command_prints_one_line_per_action(presented, now):
    out = io.StringIO()
    call_command("sweep", "--now", (now + 8 * DAY).isoformat(), stdout=out)
    lines = out.getvalue().splitlines()
    ticket = Ticket.objects.get()
    assert lines[0] == (
        f"2026-03-10T09:00:00+00:00 escalation-1 recommendation #{presented.pk} "
        f"(Acme Dental): ticket #{ticket.pk} opened at level 1"
    )
    assert lines[-1] == "sweep at 2026-03-10T09:00:00+00:00: 3 action(s)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "--now must be an ISO 8601 date and time, not 'yesterday'."),
        ("2026-03-10T09:00", "--now needs a time zone offset (e.g. 2026-03-10T09:00+00:00)."),
    ],
)
def test_the_sweep_command_refuses_a_bad_now(presented, value, message):
    with pytest.raises(CommandError) as exc:
        call_command("sweep", "--now", value, stdout=io.StringIO())
    assert str(exc.value) == message
    assert FollowupStep.objects.count() == 0


def test_the_sweep_costs_at_most_four_queries_per_due_item(
    admin, client_a, client_b, contact_a, contact_b, now
):
    """Ten items of one client fall due, then forty of another: the thirty more cost
    at most four queries each, acting, planning and telling included."""
    for client in (client_a, client_b):
        ClientPolicy.objects.create(client=client, tier="No reminders", reminders=False)
    for i in range(10):
        _rec(
            client_a,
            admin,
            now,
            title=f"Renew the firewall's licence {i}",
            severity="critical",
            contact=contact_a,
        )
    for i in range(40):
        _rec(
            client_b,
            admin,
            now + 2 * DAY,
            title=f"Rinnovare l'antivirus n° {i}",
            severity="critical",
            contact=contact_b,
        )
    counts = []
    for at, due in ((now + 8 * DAY, 10), (now + 10 * DAY, 40)):
        with CaptureQueriesContext(connection) as queries:
            actions = sweep(now=at)
        assert [a.text.split(" ")[0] for a in actions].count("escalation-1") == due
        assert [a.text.split(" ")[0] for a in actions].count("notice") == 2
        counts.append(len(queries))
    assert Ticket.objects.count() == 50
    assert NoticeItem.objects.filter(message__isnull=True).count() == 0
    per_item = (counts[1] - counts[0]) / 30
    print(f"queries: {counts}, {per_item:.2f} per due item")
    assert per_item <= 4
