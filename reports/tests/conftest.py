"""The QBR scene: Acme Dental's first quarter of 2026, built through the services.

At REPORT_NOW (Monday 30 March 2026, 08:00 UTC; Acme is in Europe/Rome) its items are:

| key | severity | history in the quarter | status at REPORT_NOW | open risk |
|---|---|---|---|---|
| mfa | critical | accepted 9 Jan, planned 15 Feb | accepted | overdue |
| backup | high | rejected 12 Jan by Alice on the phone | rejected | rejected |
| laps | medium | deferred 20 Jan to 30 Apr | deferred | deferred |
| patch | low | accepted 13 Jan, implemented, verified | verified | no |
| wifi | medium | presented 2 Feb, never answered | awaiting | overdue |
| edr | critical | presented 5 Jan, marked ignored 10 Mar | ignored | ignored |
| dmarc | high | accepted 16 Mar, planned 30 Apr, started | in_progress | not applied |
| usb | low | presented 27 Mar | awaiting, not due | no (awaiting) |

Decisions in the quarter: accepted mfa, patch, dmarc; rejected backup; deferred laps;
ignored edr: adoption 3 / 6 = 50.0 %; implemented of accepted 1 / 3 = 33.3 %.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil

import pytest

REPORT_NOW = dt.datetime(2026, 3, 30, 8, 0, 0, 250_000, tzinfo=dt.UTC)


def at(month: int, day: int, hour: int = 9, minute: int = 15, micro: int = 123_456) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, 0, micro, tzinfo=dt.UTC)


def pdf_tool(name: str) -> str:
    """The path of a poppler tool; skipped when absent, except under ``make test``
    (HEEDED_REQUIRE_PDF_TOOLS=1), where its absence is a failure."""
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("HEEDED_REQUIRE_PDF_TOOLS"):
        pytest.fail(f"{name} is missing: 'make poppler' installs Debian's poppler-utils")
    pytest.skip(f"{name} (Debian's poppler-utils) is not installed; 'make poppler' installs it")


@pytest.fixture
def scene(client_a, contact_a, admin):
    from clients.services import contact_create
    from recommendations import services as s

    dario = contact_create(
        client=client_a,
        name="Dario D'Alessandro",
        email="dario@acme-dental.example",
        is_decision_maker=True,
        actor=admin,
        now=at(1, 2),
    )

    def rec(title: str, severity: str, created: dt.datetime):
        r = s.recommendation_create(
            client=client_a,
            title=title,
            body=f"{title}: what to do and why.",
            risk_if_ignored="An attacker walks in.",
            severity=severity,
            category="identity",
            actor=admin,
            now=created,
            owner=admin,
            contact=contact_a,
        )
        return s.recommendation_present(
            recommendation=r, actor=admin, now=created + dt.timedelta(minutes=5)
        )

    items = {}
    items["mfa"] = rec("Require MFA for all remote access", "critical", at(1, 5))
    s.response_record(
        recommendation=items["mfa"],
        decision="accepted",
        channel="signed_link",
        now=at(1, 9, 14, 2, 987_654),
        responder=contact_a,
        planned_for=dt.date(2026, 2, 15),
    )
    items["edr"] = rec("Deploy EDR on every workstation", "critical", at(1, 5, 10))
    items["backup"] = rec("Back up patients' records off-site", "high", at(1, 7))
    s.response_record(
        recommendation=items["backup"],
        decision="rejected",
        channel="phone",
        now=at(1, 12, 16, 45, 1),
        responder=contact_a,
        recorded_by=admin,
        justification="Costa troppo quest'anno: rivalutare a giugno",
    )
    items["patch"] = rec("Patch the X-ray workstation", "low", at(1, 8))
    s.response_record(
        recommendation=items["patch"],
        decision="accepted",
        channel="email",
        now=at(1, 13),
        responder=dario,
        planned_for=dt.date(2026, 1, 31),
    )
    s.recommendation_mark_implemented(recommendation=items["patch"], actor=admin, now=at(1, 20))
    s.recommendation_mark_verified(recommendation=items["patch"], actor=admin, now=at(1, 21))
    items["laps"] = rec("Rotate local admin passwords (LAPS)", "medium", at(1, 14))
    s.response_record(
        recommendation=items["laps"],
        decision="deferred",
        channel="meeting",
        attendees="Alice Rossi, Dario D'Alessandro",
        now=at(1, 20, 11),
        responder=dario,
        recorded_by=admin,
        deferred_until=dt.date(2026, 4, 30),
        justification="Dopo il rinnovo dei PC di aprile",
    )
    items["wifi"] = rec("Separate the guests' Wi-Fi", "medium", at(2, 2))
    s.recommendation_mark_ignored(recommendation=items["edr"], now=at(3, 10))
    items["dmarc"] = rec("Publish a DMARC policy for acme-dental.example", "high", at(3, 2))
    s.response_record(
        recommendation=items["dmarc"],
        decision="accepted",
        channel="portal",
        now=at(3, 16),
        responder=contact_a,
        planned_for=dt.date(2026, 4, 30),
    )
    s.recommendation_start_work(recommendation=items["dmarc"], actor=admin, now=at(3, 17))
    items["usb"] = rec("Block USB storage", "low", at(3, 27))
    for key, item in items.items():
        item.refresh_from_db()
        items[key] = item
    return items


@pytest.fixture
def device_history(scene, client_a):
    """Acme's device compliance: 25.0% at the end of 27 and 28 March, 50.0% on the
    29th, and one of its two devices compliant now (verification's rows, as the worker
    and the verify pass leave them)."""
    from verification.models import DeviceCompliance, DeviceScoreDay
    from verification.tests.test_verify_pass import report

    for day, compliant in ((27, 1), (28, 1), (29, 2)):
        DeviceScoreDay.objects.create(
            client=client_a,
            day=dt.date(2026, 3, day),
            compliant=compliant,
            evaluated=4,
            taken_at=at(3, day + 1, 0, 30),
        )
    for n, state in ((1, "compliant"), (2, "not_compliant")):
        device = report(client_a, n, 5073724, now=at(3, 29)).device
        DeviceCompliance.objects.create(
            recommendation=scene["patch"], device=device, state=state, evaluated_at=at(3, 29)
        )
