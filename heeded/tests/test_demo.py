"""The demo data: loaded through the services, a consistent year of history, every
chain verifiable, and a second load that changes nothing."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from accounts.models import User
from catalog.models import Template
from clients.models import Client, Contact
from followup.choices import OutboxStatus
from followup.models import OutboxMessage
from heeded import demo_content
from heeded.demo import DEMO_ADMIN_USERNAME, DEMO_PASSWORD, HISTORY_DAYS, load_demo
from ledger.models import GENESIS_HASH, Event, Head
from recommendations.choices import STAFF_CHANNELS, Decision, Status
from recommendations.models import Recommendation, Response

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class _Terminal(io.StringIO):
    """Output that claims to be a terminal, so the load draws its progress line."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once for this module into an empty test database, and rolled
    back when the module is done (each test runs in a savepoint inside it)."""
    with django_db_blocker.unblock():
        assert not Client.objects.exists()
        with transaction.atomic():
            out = _Terminal()
            summary = load_demo(now=NOW, stdout=out)
            yield summary, out.getvalue()
            transaction.set_rollback(True)


def _heads() -> dict[int, tuple[int, str]]:
    return {h.client_id: (h.seq, h.hash) for h in Head.objects.all()}


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Template, Client, Contact, Recommendation, Response, Event)
    }


@pytest.mark.django_db
def test_the_demo_loads_twelve_clients_and_about_four_hundred_recommendations(demo):
    summary, out = demo
    assert summary.loaded
    assert summary.clients == Client.objects.count() == 12
    assert Template.objects.count() >= 40
    assert 350 <= Recommendation.objects.count() <= 450
    assert summary.recommendations == Recommendation.objects.count()
    assert "Loaded 12 clients" in out


@pytest.mark.django_db
def test_every_status_of_the_lifecycle_is_present(demo):
    present = set(Recommendation.objects.values_list("status", flat=True))
    assert present == set(Status.values)
    counts = demo[0].by_status
    assert all(counts[status] >= 10 for status in Status.values), counts


@pytest.mark.django_db
def test_each_client_has_domains_contacts_a_decision_maker_and_an_escalation_contact(demo):
    languages = set()
    for client in Client.objects.prefetch_related("domains", "contacts"):
        contacts = list(client.contacts.all())
        assert 2 <= len(contacts) <= 4, client
        assert any(c.is_decision_maker for c in contacts), client
        assert any(c.is_escalation_contact for c in contacts), client
        domains = [d.domain for d in client.domains.all()]
        assert domains and all(d.endswith(".example") for d in domains), client
        assert all(c.email.split("@")[1] in domains for c in contacts), client
        assert client.industry and client.account_owner is not None
        languages.add(client.language)
    assert languages == {"it", "en"}
    regulated = set(Client.objects.filter(regulated=True).values_list("industry", flat=True))
    assert {"Dental practice", "Pharmacy", "Accounting office"} <= regulated


@pytest.mark.django_db
def test_the_staff_have_their_roles_and_the_technician_sees_only_some_clients(demo):
    roles = dict(
        User.objects.filter(username__in=[s.username for s in demo_content.STAFF]).values_list(
            "username", "role"
        )
    )
    assert roles == {s.username: s.role for s in demo_content.STAFF}
    technician = User.objects.get(username=demo_content.TECHNICIAN)
    assigned = technician.assigned_clients.count()
    assert 0 < assigned < 12


@pytest.mark.django_db
def test_every_client_ledger_chain_recomputes_and_links(demo):
    clients = {c.pk: str(c.uuid) for c in Client.objects.all()}
    events = defaultdict(list)
    for event in Event.objects.order_by("client_id", "seq"):
        events[event.client_id].append(event)
    heads = _heads()
    assert set(events) == set(clients)
    for client_id, chain in events.items():
        previous = GENESIS_HASH
        for expected_seq, event in enumerate(chain, start=1):
            assert event.seq == expected_seq
            assert event.prev_hash == previous
            assert event.compute_hash(clients[client_id]) == event.hash
            previous = event.hash
        assert heads[client_id] == (chain[-1].seq, chain[-1].hash)


@pytest.mark.django_db
def test_the_history_lies_in_the_past_year_and_runs_forward_in_each_chain(demo):
    earliest = NOW - dt.timedelta(days=HISTORY_DAYS + 120)
    by_client = defaultdict(list)
    for client_id, at in Event.objects.order_by("client_id", "seq").values_list("client_id", "at"):
        by_client[client_id].append(at)
    for moments in by_client.values():
        assert moments == sorted(moments)
        assert earliest <= moments[0] and moments[-1] < NOW


@pytest.mark.django_db
def test_decisions_come_after_presentation_with_a_staff_channel_and_evidence(demo):
    responses = Response.objects.select_related("recommendation", "responder")
    assert responses.count() > 250
    channels = set()
    for response in responses:
        rec = response.recommendation
        assert rec.presented_at < response.recorded_at < NOW
        assert response.channel in STAFF_CHANNELS and response.recorded_by is not None
        assert response.responder.client_id == rec.client_id
        assert response.responder.is_decision_maker
        assert response.evidence_ref
        if response.channel == "meeting":
            assert response.attendees
        if response.decision in (Decision.DEFERRED, Decision.REJECTED):
            assert len(response.justification) > 20
        channels.add(response.channel)
    assert channels == set(STAFF_CHANNELS)


@pytest.mark.django_db
def test_open_items_have_dates_that_make_sense_at_now(demo):
    today = NOW.date()
    awaiting = Recommendation.objects.filter(status=Status.AWAITING_RESPONSE)
    overdue = [r for r in awaiting if r.is_overdue(NOW)]
    assert 0 < len(overdue) < awaiting.count()
    for rec in Recommendation.objects.filter(status=Status.DEFERRED):
        assert rec.deferred_until > today
    for rec in Recommendation.objects.filter(status__in=[Status.ACCEPTED, Status.IN_PROGRESS]):
        # A planned date that has passed has had its lapse recorded, as the sweep would.
        assert rec.planned_for >= today or rec.planned_date_lapsed_on == rec.planned_for
    assert Recommendation.objects.filter(planned_date_lapsed_on__isnull=False).exists()
    for rec in Recommendation.objects.filter(status=Status.REJECTED):
        assert rec.review_at > NOW
    assert not Recommendation.objects.filter(next_action_at__isnull=False, status=Status.VERIFIED)


@pytest.mark.django_db
def test_the_year_of_presentation_mail_is_recorded_as_already_delivered(demo):
    messages = OutboxMessage.objects.all()
    assert messages.count() >= Recommendation.objects.exclude(presented_at=None).count()
    assert not messages.exclude(status=OutboxStatus.SENT).exists()
    assert all(m.attempt_log.get().ok for m in messages[:20])


@pytest.mark.django_db
def test_the_load_shows_its_progress_on_a_terminal(demo):
    _, out = demo
    steps = re.findall(r"history: ([\d,]+)/([\d,]+) \(100%\)", out)
    assert steps, out[-500:]
    done, total = steps[-1]
    assert done == total and int(total.replace(",", "")) > 1_000


@pytest.mark.django_db
def test_loading_the_demo_a_second_time_adds_nothing(demo):
    counts, heads = _counts(), _heads()
    out = io.StringIO()
    summary = load_demo(now=NOW + dt.timedelta(days=3), stdout=out)
    assert not summary.loaded
    assert "already present" in out.getvalue()
    assert _counts() == counts
    assert _heads() == heads


@pytest.mark.django_db
def test_the_demo_command_resets_the_login_and_prints_it_with_the_url(demo):
    out = io.StringIO()
    call_command("demo", "--load-only", "--port", "8765", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8765/" in text
    assert f"Login:    {DEMO_ADMIN_USERNAME}" in text
    assert f"Password: {DEMO_PASSWORD}" in text
    admin = User.objects.get(username=DEMO_ADMIN_USERNAME)
    assert admin.check_password(DEMO_PASSWORD) and admin.is_admin
    staff = User.objects.get(username=demo_content.MANAGER)
    assert staff.check_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_the_demo_command_gives_a_changed_admin_password_back(demo):
    call_command("demo", "--no-serve", stdout=io.StringIO())
    admin = User.objects.get(username=DEMO_ADMIN_USERNAME)
    admin.set_password("something else entirely")
    admin.role = "technician"
    admin.save()
    call_command("demo", "--no-serve", stdout=io.StringIO())
    admin.refresh_from_db()
    assert admin.check_password(DEMO_PASSWORD) and admin.role == "admin"


@pytest.mark.django_db
def test_the_demo_command_refuses_a_port_out_of_range_and_stores_nothing(demo):
    with pytest.raises(CommandError, match="--port must be between 1 and 65535, got 70000"):
        call_command("demo", "--load-only", "--port", "70000", stdout=io.StringIO())
    assert not User.objects.filter(username=DEMO_ADMIN_USERNAME).exists()


def test_the_demo_command_refuses_a_database_that_is_not_migrated(tmp_path):
    env = {**os.environ, "HEEDED_DATA_DIR": str(tmp_path / "data")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "heeded.cli", "demo", "--load-only"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert re.search(r"The database is not migrated \(\d+ migration\(s\) pending\)", result.stderr)
    assert "Run `heeded migrate` first" in result.stderr
    assert "Password" not in result.stdout
