"""The non-response transitions: their inputs, dates and deadlines."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from followup.models import OutboxMessage
from recommendations import services
from recommendations.choices import Status
from recommendations.lifecycle import LifecycleError, Msg, NotDue
from recommendations.models import Recommendation
from recommendations.tests.helpers import DAY, bring_to, respond, snapshot


def test_presenting_queues_one_email_per_decision_maker_and_starts_the_clock(
    draft, admin, contact_a, now
):
    rec = services.recommendation_present(recommendation=draft, actor=admin, now=now)
    assert rec.status == Status.AWAITING_RESPONSE
    assert rec.response_due_at == now + 7 * DAY  # critical
    # The follow-up engine looks first at the halfway reminder (followup.policy).
    assert rec.next_action_at == rec.response_due_at - 3 * DAY
    messages = list(OutboxMessage.objects.filter(recommendation=rec))
    assert [m.payload["to"] for m in messages] == [[contact_a.email]]
    assert rec.text_sha256 in messages[0].payload["text"]
    assert messages[0].payload["message_id"].endswith("@heeded.localhost>")


def test_presenting_to_a_client_without_decision_makers_is_refused(draft, admin, contact_a, now):
    contact_a.is_decision_maker = False
    contact_a.save()
    before = snapshot(draft)
    with pytest.raises(LifecycleError, match=Msg.NO_DECISION_MAKERS):
        services.recommendation_present(recommendation=draft, actor=admin, now=now)
    assert snapshot(draft) == before


def test_withdrawing_needs_a_reason(presented, admin, now):
    before = snapshot(presented)
    with pytest.raises(LifecycleError, match=Msg.WITHDRAW_REASON_REQUIRED):
        services.recommendation_withdraw(recommendation=presented, actor=admin, now=now, reason=" ")
    assert snapshot(presented) == before


def test_a_deferral_expires_only_on_its_date_and_asks_again(presented, admin, contact_a, now):
    respond(
        presented,
        "deferred",
        user=admin,
        contact=contact_a,
        now=now,
        deferred_until=dt.date(2026, 4, 1),
    )
    presented.refresh_from_db()
    before = snapshot(presented)
    too_early = dt.datetime(2026, 3, 31, 21, 59, tzinfo=dt.UTC)  # 23:59 in Rome
    with pytest.raises(NotDue, match=Msg.DEFERRAL_NOT_DUE):
        services.recommendation_expire_deferral(recommendation=presented, now=too_early)
    assert snapshot(presented) == before
    on_time = presented.next_action_at
    rec = services.recommendation_expire_deferral(recommendation=presented, now=on_time)
    assert rec.status == Status.AWAITING_RESPONSE
    assert rec.deferred_until is None
    assert rec.response_due_at == on_time + 7 * DAY
    assert rec.next_action_at == rec.response_due_at - 3 * DAY


def test_a_deferral_without_a_date_is_refused_by_name_and_nothing_changes(
    presented, admin, contact_a, now
):
    respond(presented, "deferred", user=admin, contact=contact_a, now=now)
    Recommendation.objects.filter(pk=presented.pk).update(deferred_until=None)
    presented.refresh_from_db()
    before = snapshot(presented)
    with pytest.raises(LifecycleError, match=Msg.DEFER_DATE_REQUIRED) as refused:
        services.recommendation_expire_deferral(recommendation=presented, now=now + 90 * DAY)
    assert refused.value.field == "deferred_until"
    assert snapshot(presented) == before


def test_a_planned_date_lapses_once(presented, admin, contact_a, now):
    respond(
        presented,
        "accepted",
        user=admin,
        contact=contact_a,
        now=now,
        planned_for=dt.date(2026, 3, 10),
    )
    presented.refresh_from_db()
    with pytest.raises(NotDue, match=Msg.PLANNED_DATE_NOT_DUE):
        services.recommendation_expire_planned_date(recommendation=presented, now=now)
    lapsed_at = presented.next_action_at
    rec = services.recommendation_expire_planned_date(recommendation=presented, now=lapsed_at)
    assert rec.status == Status.ACCEPTED
    assert rec.planned_date_lapsed_on == dt.date(2026, 3, 10)
    assert rec.next_action_at is None
    assert rec.is_overdue(lapsed_at)
    before = snapshot(rec)
    with pytest.raises(NotDue, match=Msg.PLANNED_DATE_ALREADY_LAPSED):
        services.recommendation_expire_planned_date(recommendation=rec, now=lapsed_at + DAY)
    assert snapshot(rec) == before


def test_a_new_planned_date_rearms_the_lapse(presented, admin, contact_a, now):
    respond(
        presented,
        "accepted",
        user=admin,
        contact=contact_a,
        now=now,
        planned_for=dt.date(2026, 3, 10),
    )
    presented.refresh_from_db()
    services.recommendation_expire_planned_date(
        recommendation=presented, now=presented.next_action_at
    )
    respond(
        presented,
        "accepted",
        user=admin,
        contact=contact_a,
        now=now + 10 * DAY,
        planned_for=dt.date(2026, 4, 30),
    )
    presented.refresh_from_db()
    assert presented.next_action_at == dt.datetime(2026, 4, 30, 22, 0, tzinfo=dt.UTC)


def test_drift_sends_a_verified_item_back_to_accepted_and_due_today(draft, admin, contact_a, now):
    rec = bring_to(Status.VERIFIED, draft, user=admin, contact=contact_a, now=now)
    later = now + 30 * DAY
    rec = services.recommendation_drift(
        recommendation=rec, actor=admin, now=later, reason="BitLocker off on PC-12"
    )
    assert rec.status == Status.ACCEPTED
    assert rec.verified_at is None
    assert rec.planned_for == later.date()
    assert rec.next_action_at is not None


def test_marking_verified_records_the_evidence_reference(draft, admin, contact_a, now):
    rec = bring_to(Status.IMPLEMENTED, draft, user=admin, contact=contact_a, now=now)
    rec = services.recommendation_mark_verified(
        recommendation=rec, actor=admin, now=now, evidence_ref="endpoint-report:42"
    )
    event = rec.events.order_by("-seq").first()
    assert event.data["evidence_ref"] == "endpoint-report:42"
    assert rec.next_action_at is None


def test_ignored_items_wait_for_nothing_but_a_late_answer_is_still_taken(
    presented, admin, contact_a, now
):
    rec = services.recommendation_mark_ignored(recommendation=presented, now=now + 30 * DAY)
    assert rec.status == Status.IGNORED
    assert rec.next_action_at is None
    respond(rec, "accepted", user=admin, contact=contact_a, now=now + 31 * DAY)
    rec.refresh_from_db()
    assert rec.status == Status.ACCEPTED


def test_creating_checks_custom_fields_against_the_template(client_a, admin, now):
    from catalog.services import template_create

    version = template_create(
        key="backup",
        title="Immutable backups",
        body="Keep an offline copy.",
        category="backup",
        default_severity="high",
        now=now,
        custom_fields=[
            {"key": "servers", "type": "number", "required": True},
            {"key": "vendor", "type": "choice", "choices": ["Veeam", "Datto"]},
        ],
    )
    with pytest.raises(ValidationError) as refused:
        services.recommendation_create(
            client=client_a,
            template_version=version,
            actor=admin,
            now=now,
            field_values={"servers": "many", "vendor": "Tape", "colour": "red"},
        )
    errors = refused.value.message_dict
    assert errors["field_values.servers"] == ["Servers must be a number (got 'many')."]
    assert errors["field_values.vendor"] == ["Vendor must be one of: Veeam, Datto."]
    assert errors["field_values.colour"] == ["This field is not defined for this recommendation."]
    rec = services.recommendation_create(
        client=client_a,
        template_version=version,
        actor=admin,
        now=now,
        field_values={"servers": "3", "vendor": "Veeam"},
    )
    assert rec.field_values == {"servers": "3", "vendor": "Veeam"}
    assert rec.severity == "high"
    assert rec.title == "Immutable backups"


def test_an_ad_hoc_recommendation_needs_a_title_a_body_and_a_severity(client_a, admin, now):
    from recommendations.models import Recommendation

    with pytest.raises(ValidationError) as refused:
        services.recommendation_create(client=client_a, actor=admin, now=now)
    assert set(refused.value.message_dict) == {"title", "body", "severity"}
    assert not Recommendation.objects.exists()


def test_a_template_revision_does_not_change_what_was_presented(presented, template_mfa, now):
    from catalog.services import template_revise

    template_revise(template=template_mfa.template, now=now, title="New title", body="New body")
    presented.refresh_from_db()
    assert presented.title == "Require MFA for all remote access"


def test_an_external_id_is_unique_per_client(client_a, client_b, admin, now):
    from recommendations.models import Recommendation

    fields = {"actor": admin, "now": now, "title": "T", "body": "B", "severity": "low"}
    services.recommendation_create(client=client_a, external_id="SHEET-7", **fields)
    with pytest.raises(ValidationError) as refused:
        services.recommendation_create(client=client_a, external_id=" SHEET-7 ", **fields)
    assert refused.value.message_dict == {
        "external_id": ["This client already has a recommendation with external id 'SHEET-7'."]
    }
    services.recommendation_create(client=client_b, external_id="SHEET-7", **fields)
    assert Recommendation.objects.filter(external_id="SHEET-7").count() == 2
