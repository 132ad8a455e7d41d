"""Random sequences of real operations, through the services and at times with
microseconds, then backup -> restore into a fresh SQLite database and into the
suite's own database (PostgreSQL under the PostgreSQL run): every restore verifies,
the chain heads are the same, and a logical dump of each database is identical to
the original's."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.choices import Role
from accounts.models import User
from answers.errors import AnswerRefused
from answers.presentation import link_issue
from answers.services.inbound import inbound_receive
from answers.services.meetings import MeetingDecision, meeting_record
from answers.services.recording import AnswerItem
from answers.services.submissions import answer_submit
from clients.models import Client, Contact
from clients.services import client_create, contact_create
from followup.sweep import sweep
from heeded.backup import create_backup, database_at, logical_dump, restore_archive
from ledger.models import Head
from recommendations.choices import Channel
from recommendations.lifecycle import LifecycleError
from recommendations.models import Recommendation
from recommendations.services import (
    recommendation_create,
    recommendation_present,
    recommendation_withdraw,
    response_record,
)
from tracker.services import tracker_import

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 3, 2, 8, 0, 0, 1, tzinfo=dt.UTC)
AUTHSERV = "mx.msp.example"
CLIENTS = (
    ("Clinica Veterinaria Sant'Ambrogio", "santambrogio.example", "Chiara D'Alessandro"),
    ("Università di Ferrara, Ufficio IT", "unife.example", "Niccolò Bruñi"),
)
TITLES = (
    "Abilitare l'MFA sull'accesso remoto",
    "Backup fuori sede (3-2-1) «immutabili»",
    'Replace the "legacy" NAS\nbefore 2027',
)
OPERATIONS = (
    "create",
    "present",
    "phone",
    "meeting",
    "signed_link",
    "portal",
    "email",
    "defer",
    "sweep",
    "withdraw",
    "import",
)
DECISIONS = ("accepted", "deferred", "rejected")
# Up to four days between steps, to the microsecond: deadlines pass, sweeps act.
steps = st.lists(
    st.tuples(
        st.sampled_from(OPERATIONS),
        st.integers(min_value=0, max_value=50),
        st.sampled_from(DECISIONS),
        st.integers(min_value=1, max_value=4 * 24 * 3600 * 10**6),
    ),
    min_size=6,
    max_size=24,
)


class World:
    """Staff, two clients with a decision maker each, and the operations on them."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.staff = User.objects.create_user(
            "ada", email="ada@msp.example", role=Role.ADMIN, first_name="Adà", last_name="O'Neil"
        )
        self.clients: list[Client] = []
        self.contacts: list[Contact] = []
        for name, domain, person in CLIENTS:
            client = client_create(
                name=name, domains=[domain], actor=self.staff, now=self.tick(), language="it"
            )
            self.clients.append(client)
            self.contacts.append(
                contact_create(
                    client=client,
                    name=person,
                    email=f"decisioni@{domain}",
                    is_decision_maker=True,
                    actor=self.staff,
                    now=self.tick(),
                )
            )
        self.created = 0

    def tick(self, microseconds: int = 1) -> dt.datetime:
        self.now += dt.timedelta(microseconds=microseconds)
        return self.now

    def today(self, client: Client) -> dt.date:
        return self.now.astimezone(client.tz).date()

    def pick(self, index: int) -> Recommendation | None:
        recs = list(Recommendation.objects.order_by("pk"))
        return recs[index % len(recs)] if recs else None

    def contact_of(self, rec: Recommendation) -> Contact:
        return Contact.objects.get(client_id=rec.client_id, is_decision_maker=True)

    def dates(self, rec: Recommendation) -> dict[str, object]:
        today = self.today(rec.client)
        return {
            "planned_for": today + dt.timedelta(days=30),
            "deferred_until": today + dt.timedelta(days=3),
            "justification": "Budget dell'anno prossimo — già approvato",
        }

    def run(self, operation: str, index: int, decision: str) -> None:
        if operation == "create":
            self.created += 1
            recommendation_create(
                client=self.clients[index % len(self.clients)],
                actor=self.staff,
                now=self.now,
                title=f"{TITLES[index % len(TITLES)]} #{self.created}",
                body="Perché: un attacco costa più della prevenzione.",
                severity=("critical", "high", "medium", "low")[index % 4],
            )
        elif operation == "sweep":
            sweep(now=self.now)
        elif operation == "import":
            self.tracker(index, decision)
        elif (rec := self.pick(index)) is not None:
            getattr(self, operation)(rec, decision)

    def present(self, rec: Recommendation, decision: str) -> None:
        recommendation_present(recommendation=rec, actor=self.staff, now=self.now)

    def phone(self, rec: Recommendation, decision: str) -> None:
        response_record(
            recommendation=rec,
            decision=decision,
            channel=Channel.PHONE,
            now=self.now,
            recorded_by=self.staff,
            responder=self.contact_of(rec),
            **self.dates(rec),
        )

    def defer(self, rec: Recommendation, decision: str) -> None:
        self.phone(rec, "deferred")

    def meeting(self, rec: Recommendation, decision: str) -> None:
        contact = self.contact_of(rec)
        meeting_record(
            client=rec.client,
            channel=Channel.MEETING,
            held_on=self.today(rec.client),
            attendees=f"{contact.name}, Adà O'Neil",
            decisions=[
                MeetingDecision(
                    recommendation=rec,
                    decision=decision,
                    responder_name=contact.name,
                    responder=contact,
                    **self.dates(rec),
                )
            ],
            recorded_by=self.staff,
            now=self.now,
            notes="QBR — verbale firmato",
        )

    def signed_link(self, rec: Recommendation, decision: str, *, portal: bool = False) -> None:
        contact = self.contact_of(rec)
        link = None
        if not portal:
            link = link_issue(
                contact=contact, recommendations=[rec], now=self.now, created_by=self.staff
            )
        answer_submit(
            contact=contact,
            items=[AnswerItem(recommendation=rec, decision=decision, **self.dates(rec))],
            typed_name=contact.name,
            consent=True,
            channel=Channel.PORTAL if portal else Channel.SIGNED_LINK,
            now=self.now,
            link=link,
            form={"decision": decision, "note": "Sì, d'accordo"},
            ip="203.0.113.7",
            user_agent="Mozilla/5.0 (Università)",
        )

    def portal(self, rec: Recommendation, decision: str) -> None:
        self.signed_link(rec, decision, portal=True)

    def email(self, rec: Recommendation, decision: str) -> None:
        contact = self.contact_of(rec)
        link = link_issue(contact=contact, recommendations=[rec], now=self.now)
        planned = self.dates(rec)["planned_for"]
        body = f"ACCEPT {planned}" if decision == "accepted" else "REJECT troppo caro per noi"
        raw = (
            f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from="
            f"{contact.email.split('@')[1]}\r\n"
            f"From: {contact.name} <{contact.email}>\r\n"
            f"To: replies+{link.reply_token}@heeded.localhost\r\nSubject: Re: {rec.title[:40]}\r\n"
            f"Message-ID: <{link.pk}.{self.now.timestamp()}@client>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n\r\nCordiali saluti, {contact.name}\r\n"
        ).encode()
        inbound_receive(raw=raw, now=self.now)

    def withdraw(self, rec: Recommendation, decision: str) -> None:
        recommendation_withdraw(
            recommendation=rec, actor=self.staff, now=self.now, reason="L'hardware è dismesso"
        )

    def tracker(self, index: int, decision: str) -> None:
        name = CLIENTS[index % len(CLIENTS)][0]
        today = self.today(self.clients[0])
        status = {"accepted": "Accepted", "deferred": "Deferred", "rejected": "Rejected"}[decision]
        planned = (today + dt.timedelta(days=60)).isoformat() if decision == "accepted" else ""
        until = (today + dt.timedelta(days=90)).isoformat() if decision == "deferred" else ""
        why = "" if decision == "accepted" else '"Costi, per ora; ne riparliamo"'
        sheet = (
            "Client,Recommendation,Date made,Response category,Follow-up owner,Justification,"
            "Planned implementation date,Deferred until\r\n"
            f'"{name}",Cifratura dei portatili n. {index},{today - dt.timedelta(days=20)},'
            f"{status},ada,{why},{planned},{until}\r\n"
        )
        tracker_import(source=sheet.encode("utf-8"), actor=self.staff, now=self.now)


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory, django_db_blocker) -> Path:
    """An empty SQLite database migrated once; each example restores into a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    with django_db_blocker.unblock(), database_at(f"sqlite:///{path}", "roundtrip_template"):
        call_command("migrate", database="roundtrip_template", verbosity=0, interactive=False)
    return path


@pytest.fixture
def isolated(settings, tmp_path) -> Iterator[None]:
    settings.DATA_DIR = tmp_path / "data"
    settings.HEEDED_TRUSTED_AUTHSERV_ID = AUTHSERV
    yield


def _heads(alias: str = "default") -> dict[str, tuple[int, str]]:
    rows = Head.objects.using(alias).values_list("client__uuid", "seq", "hash")
    return {str(u): (s, h) for u, s, h in rows}


def _verify_exit() -> int:
    try:
        call_command("ledger", "verify", stdout=io.StringIO())
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


@settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=steps)
def test_random_histories_survive_backup_and_restore_on_both_engines(
    steps, migrated_sqlite, isolated
):
    call_command("flush", interactive=False, verbosity=0)
    world = World(START)
    for operation, index, decision, gap in steps:
        world.tick(gap)
        # A refused operation changes nothing, which the restores below also prove.
        with contextlib.suppress(LifecycleError, AnswerRefused):
            world.run(operation, index, decision)
    before = logical_dump()
    heads = _heads()
    with tempfile.TemporaryDirectory(prefix="roundtrip-") as tmp:
        archive = Path(tmp) / "b.tar.gz"
        create_backup(archive, now=world.now)

        fresh = Path(tmp) / "fresh.sqlite3"
        shutil.copy(migrated_sqlite, fresh)
        with database_at(f"sqlite:///{fresh}", "roundtrip_fresh") as alias:
            result = restore_archive(archive, using=alias)
            assert result.ledger.startswith("ok: 2 clients, ")
            assert _heads(alias) == heads
            assert logical_dump(alias) == before

        call_command("flush", interactive=False, verbosity=0)
        restore_archive(archive)
        assert _verify_exit() == 0
        assert _heads() == heads
        assert logical_dump() == before
