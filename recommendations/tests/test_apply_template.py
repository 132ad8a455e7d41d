"""One catalog template applied to many clients at once: all or nothing."""

from __future__ import annotations

import pytest

from clients.services import client_create
from followup.models import OutboxMessage
from ledger.models import Event
from recommendations import services
from recommendations.choices import Status
from recommendations.lifecycle import LifecycleError, Msg
from recommendations.models import Recommendation


@pytest.fixture
def client_c(admin, now):
    return client_create(
        name="D'Angelo Società Agricola",
        domains=["dangelo.example"],
        actor=admin,
        now=now,
        language="it",
    )


def _stored() -> tuple[int, int, int]:
    return Recommendation.objects.count(), Event.objects.count(), OutboxMessage.objects.count()


def test_it_creates_one_draft_per_client_in_name_order(
    client_a, client_b, client_c, template_mfa, admin, manager, now
):
    made = services.recommendations_apply_template(
        template_version=template_mfa,
        clients=[client_c, client_b, client_a, client_b],
        actor=admin,
        now=now,
        owner=manager,
    )
    assert [r.client.name for r in made] == ["Acme Dental", "Bravo Legal", client_c.name]
    assert {r.status for r in made} == {Status.DRAFT}
    assert {r.owner for r in made} == {manager}
    assert {r.template_version_id for r in made} == {template_mfa.pk}
    for rec in made:
        assert (
            Event.objects.filter(recommendation_id=rec.pk, kind="recommendation.created").count()
            == 1
        )


def test_each_client_may_get_its_own_account_owner(client_a, client_b, template_mfa, admin, now):
    made = services.recommendations_apply_template(
        template_version=template_mfa,
        clients=[client_a, client_b],
        actor=admin,
        now=now,
        owner_is_account_owner=True,
    )
    # Acme Dental has Ada as its account owner; Bravo Legal has none.
    assert [r.owner for r in made] == [admin, None]


def test_presenting_at_once_starts_each_clients_clock(
    client_a, client_b, contact_a, contact_b, template_mfa, admin, now
):
    made = services.recommendations_apply_template(
        template_version=template_mfa,
        clients=[client_a, client_b],
        actor=admin,
        now=now,
        present=True,
    )
    assert {r.status for r in made} == {Status.AWAITING_RESPONSE}
    assert sorted(m.payload["to"][0] for m in OutboxMessage.objects.all()) == [
        contact_a.email,
        contact_b.email,
    ]


def test_one_refused_client_stores_nothing_for_any(
    client_a, client_b, contact_a, template_mfa, admin, now
):
    # Bravo Legal has no decision maker: presenting there fails, Acme's draft goes too.
    before = _stored()
    with pytest.raises(LifecycleError) as refused:
        services.recommendations_apply_template(
            template_version=template_mfa,
            clients=[client_a, client_b],
            actor=admin,
            now=now,
            present=True,
        )
    assert refused.value.message == f"Bravo Legal: {Msg.NO_DECISION_MAKERS}"
    assert refused.value.field == "clients"
    assert _stored() == before


def test_a_client_that_already_has_the_template_open_is_refused(
    draft, client_a, client_b, template_mfa, admin, now
):
    before = _stored()
    with pytest.raises(LifecycleError) as refused:
        services.recommendations_apply_template(
            template_version=template_mfa, clients=[client_b, client_a], actor=admin, now=now
        )
    assert refused.value.message == Msg.ALREADY_OPEN.format(client="Acme Dental", pk=draft.pk)
    assert _stored() == before


def test_a_withdrawn_one_does_not_count(draft, client_a, template_mfa, admin, now):
    services.recommendation_withdraw(recommendation=draft, actor=admin, now=now, reason="Redo")
    made = services.recommendations_apply_template(
        template_version=template_mfa, clients=[client_a], actor=admin, now=now
    )
    assert len(made) == 1


def test_a_technician_cannot_reach_a_client_not_assigned_to_them(
    client_a, client_b, technician, template_mfa, now
):
    before = _stored()
    with pytest.raises(LifecycleError, match=r"^You cannot see the client Bravo Legal\.$"):
        services.recommendations_apply_template(
            template_version=template_mfa, clients=[client_a, client_b], actor=technician, now=now
        )
    assert _stored() == before


def test_no_clients_is_refused(template_mfa, admin, now):
    with pytest.raises(LifecycleError, match=Msg.NO_CLIENTS) as refused:
        services.recommendations_apply_template(
            template_version=template_mfa, clients=[], actor=admin, now=now
        )
    assert refused.value.code == "required"


def test_a_disabled_owner_is_refused_naming_the_first_client(
    client_a, client_b, template_mfa, admin, now
):
    from accounts.choices import Role
    from accounts.models import User

    gone = User.objects.create_user("gone", role=Role.TECHNICIAN, is_active=False)
    before = _stored()
    with pytest.raises(LifecycleError) as refused:
        services.recommendations_apply_template(
            template_version=template_mfa,
            clients=[client_a, client_b],
            actor=admin,
            now=now,
            owner=gone,
        )
    assert refused.value.message == f"Acme Dental: {Msg.OWNER_DISABLED}"
    assert _stored() == before


def test_more_clients_than_the_limit_are_refused(
    client_a, client_b, template_mfa, admin, now, monkeypatch
):
    monkeypatch.setattr(services, "APPLY_LIMIT", 1)
    before = _stored()
    with pytest.raises(LifecycleError) as refused:
        services.recommendations_apply_template(
            template_version=template_mfa, clients=[client_a, client_b], actor=admin, now=now
        )
    assert refused.value.message == "Apply a template to at most 1 clients at a time."
    assert _stored() == before
