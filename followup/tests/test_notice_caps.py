"""Sixty days of sweeps over the demo data: nobody is told more than once a day, and
every step reaches every person it concerns within its window (a day; a week for a
severity the client asked to hear about weekly)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter

import pytest
from django.conf import settings

from accounts.choices import Role
from accounts.models import User
from clients.models import Client
from followup.digest import DIGEST_HEADER
from followup.models import FollowupStep, NoticeItem, OutboxMessage
from followup.services.policy import client_policy_set
from followup.sweep import digest_send, sweep
from heeded.demo import load_demo

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 6, 30, 0, 125_000, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
DAYS = 60


def test_sixty_days_of_sweeps_tell_each_person_at_most_once_a_day():
    """Sweeps twice a day (06:30 and 15:00 UTC, as a worker's loop would) for 60 days."""
    every = 1
    load_demo(now=START)
    quiet = Client.objects.order_by("name").first()
    assert quiet is not None
    client_policy_set(
        client=quiet,
        actor=User.objects.filter(role=Role.ADMIN, is_active=True).first(),
        now=START,
        tier="Bronze",
        weekly_severities=["low"],
        weekly_weekday=0,
    )
    for day in range(0, DAYS, every):
        sweep(now=START + day * DAY + dt.timedelta(minutes=day))
        if (START + day * DAY).weekday() == 0:
            # The weekly digest from cron, Mondays after the morning sweep.
            digest_send(now=START + day * DAY + dt.timedelta(hours=1, seconds=day))
        sweep(now=START + day * DAY + dt.timedelta(hours=8, minutes=30, microseconds=day))

    # Every e-mail of the 60 days, whatever made it, counted per address and local day.
    sent = list(OutboxMessage.objects.filter(kind="email", created_at__gte=START))
    notices = [m for m in sent if m.idempotency_key.startswith("followup:")]
    assert len(notices) == len(sent)
    home = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    per_day: Counter[tuple[str, str, dt.date]] = Counter()
    for m in sent:
        (address,) = m.payload["to"]
        audience = m.idempotency_key.split(":")[1]
        tz = m.client.tz if m.client else home
        per_day[(audience, address, m.created_at.astimezone(tz).date())] += 1
    assert per_day and max(per_day.values()) == 1
    assert {a for a, _, _ in per_day} == {"client", "staff"}
    # The digest went out every week, alone or inside a day's notice, never beside one.
    digests = [m for m in sent if DIGEST_HEADER in m.payload["headers"]]
    assert {m.payload["headers"][DIGEST_HEADER] for m in digests} == {
        f"2026-W{w:02d}" for w in range(10, 19)
    }
    assert any("X-Heeded-Followup" in m.payload["headers"] for m in digests)

    # Every step was planned, and every person it concerns was told within its window.
    steps = FollowupStep.objects.filter(acted_at__gte=START)
    assert steps.count() > 50
    assert not steps.filter(notice_items__isnull=True, notified_at__isnull=True).exists()
    late = []
    waiting = []
    for item in NoticeItem.objects.select_related(
        "step__recommendation", "message", "client__followup_policy"
    ):
        weekly = (
            item.audience == "client"
            and item.client_id == quiet.pk
            and item.step.recommendation.severity == "low"
        )
        window = 7 * DAY if weekly else DAY
        if item.message is None:
            # Only what the last sweep could not yet send may wait.
            waiting.append(item)
            assert START + DAYS * DAY - item.step.acted_at < window + every * DAY, item
            continue
        if item.message.created_at - item.step.acted_at > window + (every - 1) * DAY:
            late.append(item)
    assert late == []
    # Grouping did something: some person had several steps in one day's notice.
    per_message = Counter(NoticeItem.objects.values_list("message", flat=True))
    assert max(n for m, n in per_message.items() if m) > 1
    print(
        f"every {every} day(s): {len(notices)} notices, {steps.count()} steps, "
        f"most items in one notice {max(n for m, n in per_message.items() if m)}, "
        f"busiest contact {max(Counter(a for (au, a, _) in per_day if au == 'client').values())} "
        f"notices in {DAYS} days, waiting {len(waiting)}"
    )
