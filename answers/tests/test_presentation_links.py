"""Presenting a batch issues its answer links in bulk: the queries of the e-mail step
stay the same whatever the number of drafts, and presenting more drafts costs only the
drafts' own transitions, whatever the number of contacts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from answers.models import AnswerLink
from answers.presentation import present_to
from answers.services.links import recommendations_present
from clients.models import Contact
from clients.services import contact_create
from followup.models import OutboxMessage
from recommendations.services import recommendation_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(client_a, contact_a, admin, now):
    others = [
        contact_create(
            client=client_a,
            name=name,
            email=email,
            is_decision_maker=True,
            actor=admin,
            now=now,
        )
        for name, email in [
            ("Bruno D'Angelo", "bruno@acme-dental.example"),
            ("Chiara Società", "chiara@acme-dental.example"),
        ]
    ]
    return [contact_a, *others]


def _drafts(client, admin, now, count: int, start: int = 0) -> list:
    return [
        recommendation_create(
            client=client,
            actor=admin,
            now=now,
            title=f"Patch the VPN appliance #{start + i}",
            body="Apply the vendor's fix.",
            severity="low",
        )
        for i in range(count)
    ]


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def test_the_presentation_e_mails_of_30_drafts_cost_the_queries_of_3(
    client_a, contacts, admin, now
):
    few, many = _drafts(client_a, admin, now, 3), _drafts(client_a, admin, now, 30, start=3)

    def present(drafts):
        return lambda: [present_to(contact, drafts, now=now) for contact in contacts]

    assert _queries(present(many)) == _queries(present(few))
    # One link per draft and one for the batch, for each contact.
    assert AnswerLink.objects.count() == 3 * (3 + 1) + 3 * (30 + 1)
    batch = AnswerLink.objects.get(contact=contacts[1], is_batch=True, recommendations=many[0])
    assert sorted(batch.recommendations.values_list("pk", flat=True)) == [d.pk for d in many]
    assert batch.text_sha256 == {str(d.pk): d.text_sha256 for d in many}


def test_presenting_more_drafts_costs_their_transitions_not_a_link_per_contact(
    client_a, contacts, admin, now
):
    def extra_queries_of_27_more_drafts() -> int:
        few = _drafts(client_a, admin, now, 3)
        many = _drafts(client_a, admin, now, 30)
        return _queries(
            lambda: recommendations_present(recommendations=many, actor=admin, now=now)
        ) - _queries(lambda: recommendations_present(recommendations=few, actor=admin, now=now))

    to_three = extra_queries_of_27_more_drafts()
    Contact.objects.filter(pk__in=[c.pk for c in contacts[1:]]).update(is_active=False)
    to_one = extra_queries_of_27_more_drafts()

    # Equal but for the bulk inserts' own batches: SQLite takes ~90 links per INSERT (its
    # limit of 999 variables), so 93 links for three contacts need one INSERT more.
    assert 0 <= to_three - to_one <= 2
    sent = OutboxMessage.objects.filter(idempotency_key__startswith="present:batch:")
    assert sorted(m.payload["to"][0] for m in sent) == sorted(
        [c.email for c in contacts] * 2 + [contacts[0].email] * 2
    )
