"""Built-in tickets: one open per recommendation, notes, answers, pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from followup.models import Ticket, TicketNote
from followup.services import tickets
from followup.sweep import sweep
from ledger.models import Event
from recommendations.choices import Channel
from recommendations.services import response_record

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture
def ticket(presented, now) -> Ticket:
    sweep(now=now + 8 * DAY)
    return Ticket.objects.get()


def test_a_second_open_ticket_for_a_recommendation_is_refused_by_the_database(ticket, now):
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(
            recommendation=ticket.recommendation,
            client=ticket.client,
            title="dup",
            opened_at=now,
            updated_at=now,
        )


def test_escalating_again_updates_the_open_ticket(ticket, now):
    sweep(now=now + 11 * DAY)
    (same,) = Ticket.objects.all()
    assert same.pk == ticket.pk and same.escalation_level == 2
    assert [n.text.split(":")[0] for n in same.notes.all()] == [
        "Escalation level 1",
        "Escalation level 2",
    ]


@pytest.mark.parametrize(
    ("decision", "extra", "status"),
    [
        ("accepted", {"planned_for": dt.date(2026, 4, 1)}, "planned"),
        (
            "deferred",
            {"deferred_until": dt.date(2026, 5, 1), "justification": "Budget."},
            "waiting",
        ),
        ("rejected", {"justification": "Too costly."}, "closed"),
    ],
)
def test_an_answer_notes_the_ticket_and_moves_it_on(
    ticket, contact_a, now, decision, extra, status
):
    response_record(
        recommendation=ticket.recommendation,
        decision=decision,
        channel=Channel.SIGNED_LINK,
        responder=contact_a,
        now=now + 9 * DAY,
        **extra,
    )
    ticket.refresh_from_db()
    assert ticket.status == status
    last = ticket.notes.last()
    assert last.text.startswith(f"Client answered: {decision.capitalize()} by Alice Rossi")
    for value in extra.values():
        assert str(value) in last.text


def test_an_empty_note_is_refused_and_nothing_is_stored(ticket, admin, now):
    notes, events = TicketNote.objects.count(), Event.objects.count()
    with pytest.raises(tickets.TicketError) as exc:
        tickets.ticket_note_add(ticket=ticket, actor=admin, text="  ", now=now)
    assert exc.value.message == "A note needs some text." and exc.value.field == "text"
    assert (TicketNote.objects.count(), Event.objects.count()) == (notes, events)


def test_closing_needs_a_reason_and_happens_once(ticket, admin, now):
    with pytest.raises(tickets.TicketError, match=r"Closing a ticket needs a reason."):
        tickets.ticket_close(ticket=ticket, actor=admin, now=now, reason="")
    tickets.ticket_close(ticket=ticket, actor=admin, now=now, reason="Done by phone.")
    with pytest.raises(tickets.TicketError, match=r"^Cannot close a ticket that is closed\.$"):
        tickets.ticket_close(ticket=ticket, actor=admin, now=now, reason="again")
    assert Event.objects.filter(kind="ticket.closed").count() == 1


def test_a_ticket_cannot_be_assigned_to_someone_who_cannot_see_the_client(
    ticket, admin, client_b, now
):
    from conftest import _user

    outsider = _user("olga", "technician")
    client_b.staff.add(outsider)
    with pytest.raises(tickets.TicketError, match=r"The assignee cannot see this client."):
        tickets.ticket_assign(ticket=ticket, assignee=outsider, actor=admin, now=now)
    ticket.refresh_from_db()
    assert ticket.assignee == admin


def test_staff_list_and_work_a_ticket_in_the_ui(ticket, admin, client, django_assert_num_queries):
    client.force_login(admin)
    with django_assert_num_queries(4):
        page = client.get(reverse("followup:ticket_list"))
    assert ticket.title in page.content.decode()

    url = reverse("followup:ticket_action", args=[ticket.pk, "note"])
    refused = client.post(url, {"text": ""})
    assert refused.status_code == 400 and "A note needs some text." in refused.content.decode()
    assert client.post(url, {"text": "Called Alice."}).status_code == 302
    detail = client.get(reverse("followup:ticket_detail", args=[ticket.pk])).content.decode()
    assert "Called Alice." in detail


def test_a_technician_of_another_client_gets_404(ticket, client, client_b):
    from conftest import _user

    other = _user("olga", "technician")
    client_b.staff.add(other)
    client.force_login(other)
    assert client.get(reverse("followup:ticket_detail", args=[ticket.pk])).status_code == 404
    assert ticket.title not in client.get(reverse("followup:ticket_list")).content.decode()


def _open_tickets(count, *, clients, owners, template, now):
    """``count`` presented recommendations spread over ``clients`` and ``owners``, each
    with an open ticket carrying a note."""
    from recommendations.services import recommendation_create, recommendation_present

    made = []
    for i in range(count):
        rec = recommendation_create(
            client=clients[i % len(clients)],
            template_version=template,
            title=f"Enforce MFA on the VPN of site n°{i}",
            actor=owners[0],
            now=now,
            owner=owners[i % len(owners)],
        )
        rec = recommendation_present(recommendation=rec, actor=owners[0], now=now)
        ticket, _ = tickets.ticket_open_or_update(
            recommendation=rec,
            actor="followup",
            now=now + i * dt.timedelta(minutes=1),
            note=f"Escalation level 1: no answer for «{rec.title}».",
            escalation_level=1,
        )
        made.append(ticket)
    return made


def test_the_ticket_list_makes_as_many_queries_for_twenty_tickets_as_for_two(
    client,
    admin,
    manager,
    technician,
    contact_a,
    contact_b,
    template_mfa,
    now,
    django_assert_max_num_queries,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client_a, client_b = contact_a.client, contact_b.client
    spread = {"clients": [client_a, client_b], "owners": [admin, manager, technician]}
    _open_tickets(2, template=template_mfa, now=now, **spread)
    client.force_login(admin)
    url = reverse("followup:ticket_list") + "?status=all"
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    _open_tickets(18, template=template_mfa, now=now + DAY, **spread)

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url)

    assert page.context["page"].paginator.count == 20
    assert page.content.decode().count("Enforce MFA on the VPN of site n°") == 20


def test_the_ticket_page_makes_as_many_queries_for_twenty_notes_as_for_one(
    client, admin, technician, contact_a, template_mfa, now, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    (ticket,) = _open_tickets(
        1, clients=[contact_a.client], owners=[admin, technician], template=template_mfa, now=now
    )
    client.force_login(admin)
    url = reverse("followup:ticket_detail", args=[ticket.pk])
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for i in range(19):
        tickets.ticket_note_add(
            ticket=ticket, actor=[admin, technician][i % 2], text=f"Chiamata n°{i}", now=now
        )

    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(url)

    assert page.content.decode().count("Chiamata n°") == 19
