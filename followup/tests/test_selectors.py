"""Who sees which outbox messages and delivery attempts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from followup.choices import OutboxStatus
from followup.delivery import deliver_due
from followup.models import OutboxMessage
from followup.selectors import (
    Msg,
    UnknownStatus,
    delivery_attempt_list_for,
    outbox_counts_for,
    outbox_get_for,
    outbox_list_for,
)
from followup.services import outbox_enqueue_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def messages(client_a, client_b, now):
    """One message for each client and one staff notification tied to no client."""

    def mail(key, client):
        return outbox_enqueue_email(
            key=key, to=["x@example.com"], subject=key, text="t", now=now, client=client
        )

    return {"a": mail("a", client_a), "b": mail("b", client_b), "none": mail("none", None)}


@pytest.mark.parametrize("persona", ["admin", "manager", "auditor"])
def test_staff_who_see_every_client_see_every_message(request, persona, messages):
    user = request.getfixturevalue(persona)

    assert set(outbox_list_for(user)) == set(messages.values())


def test_a_technician_sees_only_the_messages_of_their_clients(technician, messages):
    assert list(outbox_list_for(technician)) == [messages["a"]]
    assert outbox_get_for(technician, messages["a"].pk) == messages["a"]
    for hidden in ("b", "none"):
        with pytest.raises(Http404):
            outbox_get_for(technician, messages[hidden].pk)


def test_anonymous_and_deactivated_users_see_nothing(admin, messages):
    assert list(outbox_list_for(AnonymousUser())) == []
    admin.is_active = False
    admin.save()
    assert list(outbox_list_for(admin)) == []
    with pytest.raises(Http404):
        outbox_get_for(admin, messages["a"].pk)


@pytest.mark.parametrize("pk", [999999, "not-a-number", None])
def test_getting_a_message_that_does_not_exist_is_404(admin, messages, pk):
    with pytest.raises(Http404):
        outbox_get_for(admin, pk)


def test_the_list_filters_by_status(admin, messages, smtp, now):
    deliver_due(now=now, worker="w1", limit=1)  # the earliest one is sent

    sent = list(outbox_list_for(admin, status=OutboxStatus.SENT))
    pending = list(outbox_list_for(admin, status=OutboxStatus.PENDING))

    assert len(sent) == 1 and sent[0].status == OutboxStatus.SENT
    assert {m.pk for m in pending} == {m.pk for m in messages.values()} - {sent[0].pk}
    assert outbox_counts_for(admin) == {"pending": 2, "sending": 0, "sent": 1, "failed": 0}


def test_an_unknown_status_filter_is_refused_with_a_clear_message(admin, messages):
    with pytest.raises(UnknownStatus) as error:
        outbox_list_for(admin, status="lost")

    assert error.value.message == Msg.UNKNOWN_STATUS.format(
        status="lost", choices="pending, sending, sent, failed"
    )
    assert error.value.field == "status"


def test_listing_messages_is_one_query_however_many_there_are(
    admin, presented, client_b, now, django_assert_num_queries
):
    for i in range(15):
        outbox_enqueue_email(
            key=f"bulk:{i}", to=["x@example.com"], subject="s", text="t", now=now, client=client_b
        )

    with django_assert_num_queries(1):
        rows = [
            (m.client.name if m.client else "", m.recommendation.title if m.recommendation else "")
            for m in outbox_list_for(admin)
        ]

    assert len(rows) == OutboxMessage.objects.count() == 16


def test_attempts_are_visible_to_whoever_sees_the_message(
    admin, technician, messages, smtp, now, django_assert_num_queries
):
    smtp.reply = "451 4.3.0 Try again later"
    deliver_due(now=now, worker="w1")

    with django_assert_num_queries(1):
        errors = [(a.message.client, a.error) for a in delivery_attempt_list_for(admin)]
    assert len(errors) == 3 and all("451" in error for _, error in errors)
    [mine] = delivery_attempt_list_for(technician)
    assert mine.message == messages["a"]
    assert list(delivery_attempt_list_for(technician, message=messages["b"])) == []

    message = outbox_get_for(admin, messages["b"].pk)
    with django_assert_num_queries(0):
        assert [a.number for a in message.attempt_log.all()] == [1]
