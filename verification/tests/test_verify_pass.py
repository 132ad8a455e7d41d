"""`heeded verify`: rules against devices, verified and drift through the lifecycle,
tickets closed and reopened by followup's subscriber, and a pass that reads only
what changed."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from followup.models import Ticket, TicketStatus
from followup.services.tickets import ticket_open_or_update
from ledger.models import Event
from recommendations.choices import Status
from verification.compliance import verify_pass
from verification.models import DeviceCompliance, RecommendationCompliance
from verification.services import Hotfix, Inventory, inventory_record
from verification.tests.conftest import sha

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "msrc"
MSRC = [DATA / "cvrfDocument-2026-Jan.xml", DATA / "cvrfDocument-2026-Feb.xml"]
needs_msrc = pytest.mark.skipif(
    not all(p.exists() for p in MSRC),
    reason="MSRC documents not found in ../shared/data/msrc (outside the repository)",
)
GUIDS = [
    "0a1b2c3d-0000-4000-8000-00000000000%d" % i  # noqa: UP031 - readable GUID series
    for i in range(1, 6)
]


def report(client, n, *kbs, now, name=None, build="10.0.19045.6691", tags=None, **checks):
    inventory = Inventory(
        machine_guid=GUIDS[n],
        computer_name=name or f"ACME-WS-{n:02d}",
        os_caption="Microsoft Windows 10 Pro",
        os_build=build,
        tags=tags,
        checks=checks or None,
        hotfixes=[Hotfix(f"KB{kb}", "Security Update", "NT AUTHORITY\\SYSTEM", "") for kb in kbs],
    )
    return inventory_record(
        client=client,
        inventory=inventory,
        document_hash=sha(f"{n}-{now.isoformat()}-{kbs}-{build}-{tags}-{checks}".encode()),
        source="collector",
        now=now,
    )


def test_an_accepted_item_whose_rule_holds_everywhere_becomes_verified(make_rec, client_a, now):
    rec = make_rec("KB5073724 present")
    report(client_a, 1, 5073724, 5072653, now=now)
    report(client_a, 2, 5073724, now=now, name="STUDIO-D'AMICO")

    result = verify_pass(now=now)

    rec.refresh_from_db()
    assert rec.status == Status.VERIFIED
    assert result.verified == [rec.pk]
    summary = RecommendationCompliance.objects.get(recommendation=rec)
    assert (summary.in_scope, summary.compliant, summary.holds) == (2, 2, True)
    event = Event.objects.filter(kind="recommendation.mark_verified").get()
    assert event.actor == "system:verification"
    assert event.data["evidence_ref"] == "verification: 2 of 2 devices compliant"


def test_one_device_missing_the_kb_keeps_the_item_accepted_and_says_which(make_rec, client_a, now):
    rec = make_rec("KB5073724 present")
    report(client_a, 1, 5073724, now=now)
    report(client_a, 2, 5072653, now=now)

    verify_pass(now=now)

    rec.refresh_from_db()
    assert rec.status == Status.ACCEPTED
    states = dict(DeviceCompliance.objects.values_list("device__computer_name", "state"))
    assert states == {"ACME-WS-01": "compliant", "ACME-WS-02": "not_compliant"}
    assert DeviceCompliance.objects.get(state="not_compliant").detail == "KB5073724 missing"


def test_the_threshold_is_configurable(make_rec, client_a, now, settings):
    settings.HEEDED_VERIFY_THRESHOLD = 50
    rec = make_rec("KB5073724 present")
    report(client_a, 1, 5073724, now=now)
    report(client_a, 2, 5072653, now=now)

    verify_pass(now=now)

    rec.refresh_from_db()
    assert rec.status == Status.VERIFIED


@needs_msrc
def test_a_january_kb_rule_is_met_by_februarys_update_that_supersedes_it(make_rec, client_a, now):
    call_command("msrc", "import", *map(str, MSRC), stdout=io.StringIO())
    rec = make_rec("KB5073724 present")
    report(client_a, 1, 5075912, now=now, build="10.0.19045.6937")

    verify_pass(now=now)

    rec.refresh_from_db()
    assert rec.status == Status.VERIFIED


def test_without_msrc_data_the_later_kb_does_not_count(make_rec, client_a, now):
    rec = make_rec("KB5073724 present")
    report(client_a, 1, 5075912, now=now)

    verify_pass(now=now)

    rec.refresh_from_db()
    assert rec.status == Status.ACCEPTED


@needs_msrc
def test_a_cve_rule_is_resolved_per_build_through_msrc(make_rec, client_a, now):
    call_command("msrc", "import", *map(str, MSRC), stdout=io.StringIO())
    rec = make_rec("fixes CVE-2026-21519")
    report(client_a, 1, 5075912, now=now, build="10.0.19045.6691")  # 22H2 with the KB
    report(client_a, 2, 5073724, now=now, build="10.0.19045.6691")  # January only
    report(client_a, 3, now=now, build="10.0.26100.32370")  # 24H2 at the fixed build
    report(client_a, 4, 5075912, now=now, build="6.1.7601.0")  # a build MSRC does not list

    verify_pass(now=now)

    states = dict(DeviceCompliance.objects.values_list("device__computer_name", "state"))
    assert states == {
        "ACME-WS-01": "compliant",
        "ACME-WS-02": "not_compliant",
        "ACME-WS-03": "compliant",
        "ACME-WS-04": "unknown",
    }
    rec.refresh_from_db()
    assert rec.status == Status.ACCEPTED


def test_only_tagged_devices_are_in_scope(make_rec, client_a, now):
    rec = make_rec("bitlocker on; smb1 off on devices tagged laptops")
    report(client_a, 1, now=now, tags=["laptops"], bitlocker_os_volume="on", smb1_enabled=False)
    report(client_a, 2, now=now, tags=["servers"], bitlocker_os_volume="off", smb1_enabled=True)

    verify_pass(now=now)

    rec.refresh_from_db()
    assert rec.status == Status.VERIFIED
    assert RecommendationCompliance.objects.get(recommendation=rec).in_scope == 1


def test_verified_closes_the_open_ticket_and_drift_reopens_it_escalated(
    make_rec, client_a, admin, now
):
    rec = make_rec("KB5073724 present", status=Status.IN_PROGRESS)
    ticket, _ = ticket_open_or_update(
        recommendation=rec, actor=admin, now=now, note="Roll out January's update."
    )
    report(client_a, 1, 5073724, now=now)

    verify_pass(now=now)

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.notes.last().text == "Verified: verification: 1 of 1 devices compliant"

    later = now + dt.timedelta(days=3, microseconds=417)
    report(client_a, 1, 5072653, now=later)  # the update was rolled back
    result = verify_pass(now=later)

    rec.refresh_from_db()
    assert result.drifted == [rec.pk]
    assert rec.status == Status.ACCEPTED
    reopened = Ticket.objects.exclude(status=TicketStatus.CLOSED).get(recommendation=rec)
    assert reopened.escalation_level == 1
    assert reopened.notes.last().text == (
        "Drift: The verification rule no longer holds on 1 of 1 devices: "
        "ACME-WS-01 (not compliant: KB5073724 missing)."
    )


def test_a_device_that_stops_reporting_goes_stale_and_the_item_drifts(make_rec, client_a, now):
    rec = make_rec("KB5073724 present")
    report(client_a, 1, 5073724, now=now)
    verify_pass(now=now)

    later = now + dt.timedelta(days=15)
    result = verify_pass(now=later)

    assert result.newly_stale == 1
    rec.refresh_from_db()
    assert rec.status == Status.ACCEPTED
    assert DeviceCompliance.objects.get().state == "stale"


def test_an_item_verified_by_a_person_stays_verified_where_no_device_is_in_scope(
    make_rec, client_a, now
):
    """A client without a collector (or no device with the rule's tag): the pass has no
    evidence either way, so it must not drift what a person verified with their own."""
    rec = make_rec("KB5073724 present", status=Status.VERIFIED)

    result = verify_pass(now=now)

    rec.refresh_from_db()
    assert rec.status == Status.VERIFIED and result.drifted == []
    summary = RecommendationCompliance.objects.get(recommendation=rec)
    assert (summary.in_scope, summary.holds) == (0, False)


def test_a_rejected_item_found_applied_is_noted_once(make_rec, client_a, now):
    rec = make_rec("KB5073724 present", status=Status.REJECTED)
    report(client_a, 1, 5073724, now=now)

    verify_pass(now=now)
    report(client_a, 2, 5073724, now=now + dt.timedelta(hours=1))
    verify_pass(now=now + dt.timedelta(hours=1))

    rec.refresh_from_db()
    assert rec.status == Status.REJECTED
    assert Event.objects.filter(kind="verification.applied_while_rejected").count() == 1


def test_a_bad_rule_is_recorded_and_verifies_nothing(make_rec, client_a, now):
    rec = make_rec("KB5073724 present; MFA on VPN")
    report(client_a, 1, 5073724, now=now)

    verify_pass(now=now)

    rec.refresh_from_db()
    assert rec.status == Status.ACCEPTED
    summary = RecommendationCompliance.objects.get(recommendation=rec)
    assert summary.rule_error.startswith("Clause 2 ('mfa on vpn') is not a rule")


def test_a_second_pass_with_nothing_changed_reads_almost_nothing(make_rec, client_a, client_b, now):
    for i in range(3):
        make_rec("KB5073724 present", key=f"patch-{i}")
    for n in range(1, 5):
        report(client_a, n, 5073724, now=now)
    first = verify_pass(now=now)
    assert first.recommendations == 3

    with CaptureQueriesContext(connection) as queries:
        second = verify_pass(now=now + dt.timedelta(minutes=5))

    assert second.recommendations == 0
    assert len(queries) <= 6


def test_the_pass_costs_the_same_queries_for_one_device_or_four(make_rec, client_a, now):
    make_rec("KB5073724 present")
    counts = []
    # The first pass creates the summary row; the two after it update theirs.
    rounds = ((1, now), (1, now + dt.timedelta(days=1)), (4, now + dt.timedelta(days=2)))
    for devices, at in rounds:
        for n in range(devices):
            report(client_a, n, 5072653, 5073700 + at.day, now=at)
        with CaptureQueriesContext(connection) as queries:
            verify_pass(now=at)
        counts.append(len(queries))
    assert counts[1] == counts[2]


def test_heeded_verify_prints_what_it_did(make_rec, client_a, now):
    make_rec("KB5073724 present")
    report(client_a, 1, 5073724, now=now)
    out = io.StringIO()

    call_command("verify", "--now", now.isoformat(), stdout=out)

    assert out.getvalue().startswith("1 clients, 1 recommendations evaluated; verified 1,")


def test_a_pass_that_dies_half_way_leaves_the_unevaluated_devices_for_the_next(
    make_rec, client_a, now, monkeypatch
):
    from verification import compliance
    from verification.models import Device

    rec = make_rec("KB5073724 present")
    report(client_a, 1, 5073724, now=now)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the worker killed during the client's evaluation

    monkeypatch.setattr(compliance, "_verify_client", killed)
    with pytest.raises(KeyboardInterrupt):
        verify_pass(now=now)
    assert Device.objects.get().needs_evaluation

    monkeypatch.undo()
    verify_pass(now=now + dt.timedelta(minutes=15))
    rec.refresh_from_db()
    assert rec.status == Status.VERIFIED
    assert not Device.objects.get().needs_evaluation


def test_a_report_arriving_during_the_pass_keeps_its_device_flagged(
    make_rec, client_a, now, monkeypatch
):
    from verification import compliance
    from verification.models import Device

    make_rec("KB5073724 present")
    report(client_a, 1, 5072653, now=now)
    evaluate = compliance._verify_client

    def with_a_report_meanwhile(*args, **kwargs):
        evaluate(*args, **kwargs)
        report(client_a, 1, 5073724, now=now + dt.timedelta(seconds=3))

    monkeypatch.setattr(compliance, "_verify_client", with_a_report_meanwhile)
    verify_pass(now=now)

    assert Device.objects.get().needs_evaluation
