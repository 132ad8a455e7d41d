"""Editing a draft and changing a recommendation's owner or point of contact."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from accounts.choices import Role
from accounts.models import User
from clients.services import contact_create
from ledger.models import Event
from recommendations import services, tallies
from recommendations.choices import Status
from recommendations.lifecycle import LifecycleError, Msg, NotDraft
from recommendations.models import Recommendation, snapshot_sha256
from recommendations.tests.helpers import bring_to, snapshot

LATER = dt.timedelta(minutes=7, microseconds=431_207)


def _last_event(rec: Recommendation) -> Event:
    return Event.objects.filter(recommendation_id=rec.pk).order_by("-seq")[0]


def test_editing_a_draft_records_what_changed_with_old_and_new_values(draft, admin, now):
    old_title = draft.title
    rec = services.recommendation_edit(
        recommendation=draft,
        actor=admin,
        now=now + LATER,
        title="  Require MFA on the D'Angelo Società VPN  ",
        severity="high",
        tags=["VPN", " mfa ", "vpn"],
    )
    assert rec.title == "Require MFA on the D'Angelo Società VPN"
    assert rec.severity == "high" and rec.tags == ["mfa", "vpn"]
    assert rec.text_sha256 == snapshot_sha256(
        title=rec.title, body=rec.body, risk_if_ignored=rec.risk_if_ignored
    )
    assert rec.updated_at == now + LATER
    event = _last_event(rec)
    assert event.kind == "recommendation.edited"
    assert event.data["changed"] == ["title", "severity", "tags"]
    assert event.data["before"]["title"] == old_title
    assert event.data["after"] == {
        "title": "Require MFA on the D'Angelo Società VPN",
        "severity": "high",
        "tags": ["mfa", "vpn"],
    }
    assert event.data["text_sha256"] == rec.text_sha256
    # Not a transition: the compliance history must not read a status from it.
    assert "to" not in event.data
    # The draft moved from the critical to the high counter of the dashboard.
    assert tallies.differences() == []


def test_an_edit_that_changes_nothing_is_refused(draft, admin, now):
    before = snapshot(draft)
    with pytest.raises(LifecycleError, match=Msg.NOTHING_CHANGED):
        services.recommendation_edit(
            recommendation=draft, actor=admin, now=now, title=f"  {draft.title} "
        )
    assert snapshot(draft) == before


def test_an_edit_with_bad_values_names_each_field_and_stores_nothing(draft, admin, now):
    before = snapshot(draft)
    with pytest.raises(ValidationError) as refused:
        services.recommendation_edit(
            recommendation=draft, actor=admin, now=now, title=" ", severity="urgent", category="x"
        )
    assert refused.value.message_dict == {
        "title": ["A recommendation needs a title."],
        "severity": ["Severity must be one of critical, high, medium, low."],
        "category": [refused.value.message_dict["category"][0]],
    }
    assert refused.value.message_dict["category"][0].startswith("Category must be one of ")
    assert snapshot(draft) == before


def test_a_presented_recommendation_keeps_its_text(presented, admin, now):
    before = snapshot(presented)
    with pytest.raises(NotDraft, match=Msg.NOT_DRAFT) as refused:
        services.recommendation_edit(recommendation=presented, actor=admin, now=now, title="New")
    assert refused.value.http_status == 409
    assert snapshot(presented) == before


def test_changing_the_owner_records_the_old_and_the_new_owner(draft, admin, manager, now):
    rec = services.recommendation_set_owner(
        recommendation=draft, owner=manager, actor=admin, now=now + LATER
    )
    assert rec.owner == manager
    event = _last_event(rec)
    assert (event.kind, event.data) == (
        "recommendation.owner_changed",
        {"old": "ada", "new": "marco"},
    )
    rec = services.recommendation_set_owner(recommendation=rec, owner=None, actor=admin, now=now)
    assert rec.owner is None
    assert _last_event(rec).data == {"old": "marco", "new": None}


@pytest.mark.parametrize(
    ("make_owner", "message"),
    [
        (
            lambda: User.objects.create_user("gone", role=Role.TECHNICIAN, is_active=False),
            Msg.OWNER_DISABLED,
        ),
        (lambda: User.objects.create_user("otto2", role=Role.AUDITOR), Msg.OWNER_NOT_STAFF),
    ],
    ids=["disabled", "auditor"],
)
def test_an_owner_who_cannot_act_is_refused(draft, admin, now, make_owner, message):
    owner = make_owner()
    before = snapshot(draft)
    with pytest.raises(LifecycleError, match=message) as refused:
        services.recommendation_set_owner(recommendation=draft, owner=owner, actor=admin, now=now)
    assert refused.value.field == "owner"
    assert snapshot(draft) == before


def test_setting_the_same_owner_again_is_refused(draft, admin, now):
    before = snapshot(draft)
    with pytest.raises(LifecycleError, match=Msg.OWNER_UNCHANGED):
        services.recommendation_set_owner(recommendation=draft, owner=admin, actor=admin, now=now)
    assert snapshot(draft) == before


def test_changing_the_point_of_contact_records_both_contacts(presented, contact_a, admin, now):
    chiara = contact_create(
        client=presented.client,
        name="Chiara D'Angelo",
        email="chiara@acme-dental.example",
        actor=admin,
        now=now,
    )
    rec = services.recommendation_set_contact(
        recommendation=presented, contact=chiara, actor=admin, now=now + LATER
    )
    assert rec.contact == chiara and rec.status == Status.AWAITING_RESPONSE
    event = _last_event(rec)
    assert event.kind == "recommendation.contact_changed"
    assert event.data == {
        "old": "Alice Rossi <alice@acme-dental.example>",
        "new": "Chiara D'Angelo <chiara@acme-dental.example>",
        "old_id": contact_a.pk,
        "new_id": chiara.pk,
    }


def test_a_contact_of_another_client_is_refused(draft, contact_b, admin, now):
    before = snapshot(draft)
    with pytest.raises(LifecycleError, match=Msg.CONTACT_OTHER_CLIENT) as refused:
        services.recommendation_set_contact(
            recommendation=draft, contact=contact_b, actor=admin, now=now
        )
    assert refused.value.field == "contact"
    assert snapshot(draft) == before


def test_an_inactive_contact_is_refused(draft, admin, now):
    former = contact_create(
        client=draft.client,
        name="Ex Employee",
        email="ex@acme-dental.example",
        actor=admin,
        now=now,
    )
    former.is_active = False
    former.save()
    before = snapshot(draft)
    with pytest.raises(LifecycleError, match=Msg.CONTACT_INACTIVE):
        services.recommendation_set_contact(
            recommendation=draft, contact=former, actor=admin, now=now
        )
    assert snapshot(draft) == before


def test_a_withdrawn_recommendation_cannot_be_reassigned(draft, admin, manager, contact_a, now):
    rec = bring_to(Status.WITHDRAWN, draft, user=admin, contact=contact_a, now=now)
    before = snapshot(rec)
    with pytest.raises(LifecycleError, match=Msg.CLOSED) as refused:
        services.recommendation_set_owner(recommendation=rec, owner=manager, actor=admin, now=now)
    assert refused.value.http_status == 409
    assert snapshot(rec) == before
