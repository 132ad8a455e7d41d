"""``heeded bench generate``: fill an empty database with an MSP's worth of data.

Clients, contacts and staff assignments go through the services (a few thousand calls).
Each client's recommendations are walked through the lifecycle's batch path
(``recommendations.batch.Batch``): every creation, presentation, decision and later
step runs the same transition table, decision rules and deadline maths as the
one-by-one services, in memory, and is then written set-based: the recommendations
and their Responses in multi-row inserts, the client's ledger events in one
``event_append_many`` (one lock per client, the chain computed in memory), the
dashboard's counters moved once. Devices and their hotfixes are plain bulk inserts.
The ledger verifies afterwards.

The rows look like years of real work: most recommendations decided, some awaiting an
answer or overdue, deferrals and planned dates spread over the coming months, every
decision with its Response and its ledger event. The same seed gives the same data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from accounts.choices import Role
from accounts.models import User
from catalog.choices import Severity
from clients.models import Client, Contact
from clients.services import client_create, client_staff_assign, contact_create
from lib.bulk import insert_rows
from lib.progress import Progress, silent
from recommendations.batch import Batch
from recommendations.choices import Channel, Decision, Status
from recommendations.models import Recommendation
from verification.models import Device

SEED = 20261130
CLIENT_PREFIX = "Studio Bench "
ADMIN = "bench-admin"
ZONES = ("Europe/Rome", "Europe/London", "America/New_York", "Asia/Kolkata", "UTC")
TITLES = (
    ("Enforce multi-factor authentication for remote access", "high"),
    ("Replace the end-of-life firewall", "critical"),
    ("Move backups off site and test a restore every quarter", "high"),
    ("Apply this month's Windows security updates", "critical"),
    ("Turn on BitLocker on every laptop", "medium"),
    ("Disable SMBv1 on file servers", "high"),
    ("Run security awareness training for all staff", "medium"),
    ("Remove local administrator rights from users", "medium"),
    ("Enable audit logging on the mail tenant", "low"),
    ("Replace shared accounts with named accounts", "low"),
)
# The status every generated recommendation ends in, with its weight.
MIX = (
    (Status.DRAFT, 4),
    (Status.AWAITING_RESPONSE, 14),
    (Status.ACCEPTED, 10),
    (Status.IN_PROGRESS, 5),
    (Status.DEFERRED, 8),
    (Status.REJECTED, 7),
    (Status.IGNORED, 3),
    (Status.IMPLEMENTED, 14),
    (Status.VERIFIED, 30),
    (Status.WITHDRAWN, 5),
)
# The client's decision on the way to each status that has one.
DECISION_OF = {
    Status.ACCEPTED: Decision.ACCEPTED,
    Status.IN_PROGRESS: Decision.ACCEPTED,
    Status.IMPLEMENTED: Decision.ACCEPTED,
    Status.VERIFIED: Decision.ACCEPTED,
    Status.DEFERRED: Decision.DEFERRED,
    Status.REJECTED: Decision.REJECTED,
}
JUSTIFICATION = "Budget is set in January."
WITHDRAWN_BECAUSE = "No longer applies after the office move."
CHUNK = 5000
CONTACTS = (("Giulia D'Angelo", True), ("Marco Rossi", True), ("Anna Bell", False))


class GenerateError(Exception):
    pass


@dataclasses.dataclass
class Generated:
    clients: int = 0
    recommendations: int = 0
    responses: int = 0
    events: int = 0
    devices: int = 0
    hotfixes: int = 0
    seconds: float = 0.0


def _split(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` as evenly as whole numbers allow."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def generate(
    *,
    clients: int,
    recommendations: int,
    devices: int = 0,
    kbs: int = 20,
    now: dt.datetime,
    seed: int = SEED,
    progress: Progress | None = None,
) -> Generated:
    """Fill the (migrated, empty) default database; refuse one that holds clients."""
    if clients < 1 or recommendations < 0 or devices < 0 or kbs < 0:
        raise GenerateError("sizes must be positive")
    if Client.objects.exists():
        raise GenerateError(
            "the database already holds clients: generate into an empty, migrated database"
        )
    progress = progress or silent()
    progress.add_total(clients + recommendations + devices)
    started = time.perf_counter()
    rng = random.Random(seed)
    out = Generated()
    admin, staff = _staff(now)
    technicians = [u for u in staff if u.role == Role.TECHNICIAN]
    owners = [admin, *staff]
    per_client = _split(recommendations, clients)
    per_client_devices = _split(devices, clients)
    for index in range(clients):
        with transaction.atomic():
            client, contacts = _client(index, admin, technicians, rng, now)
            made = _history(client, contacts, admin, owners, per_client[index], rng, now)
            out.recommendations += made[0]
            out.responses += made[1]
            out.events += made[2] + 1 + len(contacts) + 1  # created, contacts, assignment
            hotfixes = _devices(client, per_client_devices[index], kbs, rng, now)
        out.clients += 1
        out.devices += per_client_devices[index]
        out.hotfixes += hotfixes
        progress.advance(1 + per_client[index] + per_client_devices[index])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    out.seconds = time.perf_counter() - started
    return out


def generated() -> bool:
    """True when the database holds what ``generate`` writes (its clients)."""
    return Client.objects.filter(name__startswith=CLIENT_PREFIX).exists()


def _staff(now: dt.datetime) -> tuple[User, list[User]]:
    """The admin and the staff who own follow-ups (auditors, who may not act, apart)."""
    joined = now - dt.timedelta(days=4 * 365)
    unusable = make_password(None)
    admin = User.objects.create(
        username=ADMIN, role=Role.ADMIN, is_superuser=True, date_joined=joined, password=unusable
    )
    roles = [("manager", Role.ACCOUNT_MANAGER)] * 4 + [("technician", Role.TECHNICIAN)] * 15
    roles.append(("auditor", Role.AUDITOR))
    staff = User.objects.bulk_create(
        [
            User(
                username=f"bench-{name}-{i:02d}",
                email=f"bench-{name}-{i:02d}@msp.example",
                role=role,
                date_joined=joined,
                password=unusable,
            )
            for i, (name, role) in enumerate(roles)
        ]
    )
    return admin, [u for u in staff if u.role != Role.AUDITOR]


def _client(
    index: int, admin: User, technicians: list[User], rng: random.Random, now: dt.datetime
) -> tuple[Client, list[Contact]]:
    born = now - dt.timedelta(days=rng.randint(400, 1400))
    client = client_create(
        name=f"{CLIENT_PREFIX}{index:04d} S.r.l.",
        actor=admin,
        now=born,
        domains=[f"bench{index:04d}.example"],
        time_zone=ZONES[index % len(ZONES)],
        language="it" if index % 3 == 0 else "en",
    )
    contacts = [
        contact_create(
            client=client,
            name=name,
            email=f"{name.split()[0].lower()}.{index:04d}@bench{index:04d}.example",
            is_decision_maker=decides,
            actor=admin,
            now=born,
        )
        for name, decides in (
            ("Giulia D'Angelo", True),
            ("Marco Rossi", True),
            ("Anna Bell", False),
        )
    ]
    client_staff_assign(
        client=client, user=technicians[index % len(technicians)], actor=admin, now=born
    )
    return client, contacts


@dataclasses.dataclass
class _Life:
    """One recommendation's history: the status it ends in and when each step
    happened, chosen so that every step is one the lifecycle accepts at its moment (a
    planned date is not in the past when it is agreed, a deferral runs into the
    future)."""

    status: Status
    title: str
    severity: str
    owner: User
    created: dt.datetime
    presented: dt.datetime | None = None
    decided: dt.datetime | None = None
    planned_for: dt.date | None = None
    deferred_until: dt.date | None = None
    started: dt.datetime | None = None
    implemented: dt.datetime | None = None
    verified: dt.datetime | None = None
    withdrawn: dt.datetime | None = None

    def steps(self) -> Iterator[tuple[dt.datetime, str]]:
        """(moment, action) of each step after the creation, in order."""
        for at, action in (
            (self.withdrawn, "withdraw"),
            (self.presented, "present"),
            (self.decided, "mark_ignored" if self.status == Status.IGNORED else "decide"),
            (self.started, "start_work"),
            (self.implemented, "mark_implemented"),
            (self.verified, "mark_verified"),
        ):
            if at is not None:
                yield at, action


def _between(rng: random.Random, first: dt.datetime, last: dt.datetime) -> dt.datetime:
    """A moment from ``first`` to ``last`` (``first`` when the range is empty), to the
    microsecond."""
    span = (last - first).total_seconds()
    return first + dt.timedelta(seconds=rng.uniform(0, span)) if span > 0 else first


def _noon_before(day: dt.date) -> dt.datetime:
    """Noon UTC of the day before ``day``: a moment that is no later than ``day`` on
    any client's calendar (UTC-12 to UTC+14), so ``day`` is not yet in its past."""
    return dt.datetime.combine(day - dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC)


def _life(
    client: Client, owners: list[User], rng: random.Random, now: dt.datetime, status: Status
) -> _Life:
    day, hour = dt.timedelta(days=1), dt.timedelta(hours=1)
    born = client.created_at + hour
    title, severity = TITLES[rng.randrange(len(TITLES))]
    life = _Life(
        status=status,
        title=title,
        severity=severity if rng.random() < 0.8 else rng.choice(Severity.values),
        owner=owners[rng.randrange(len(owners))],
        created=born,
    )
    if status in (Status.DRAFT, Status.WITHDRAWN):
        life.created = _between(rng, born, now - 3 * day)
        if status == Status.WITHDRAWN:
            life.withdrawn = life.created + 2 * day
        return life
    # When the client was asked (or, for the open decisions, answered): anywhere in
    # the client's years for settled items, recently for those still in play.
    if status == Status.AWAITING_RESPONSE:
        life.presented = _between(rng, max(born + day, now - 120 * day), now - hour)
    elif status in (Status.ACCEPTED, Status.IN_PROGRESS):
        life.planned_for = (now + rng.randint(-60, 150) * day).date()
        last = min(now - 2 * hour, _noon_before(life.planned_for))
        life.decided = _between(rng, max(born + 30 * day, last - 120 * day), last)
    elif status == Status.DEFERRED:
        life.deferred_until = (now + rng.randint(-10, 180) * day).date()
        last = min(now - hour, _noon_before(life.deferred_until - day))
        life.decided = _between(rng, max(born + 30 * day, last - 120 * day), last)
    else:
        life.presented = _between(rng, born + day, now - 90 * day)
    if life.decided is not None:
        life.presented = life.decided - dt.timedelta(seconds=rng.uniform(3_600, 25 * 86_400))
    assert life.presented is not None
    life.created = max(born, life.presented - dt.timedelta(seconds=rng.uniform(3_600, 72 * 3_600)))
    if status == Status.IGNORED:
        # The follow-up ladder ran its course: a few weeks without an answer.
        life.decided = life.presented + rng.randint(30, 60) * day
    elif status == Status.REJECTED:
        life.decided = life.presented + dt.timedelta(seconds=rng.uniform(3_600, 25 * 86_400))
    elif status in (Status.IMPLEMENTED, Status.VERIFIED):
        life.decided = life.presented + dt.timedelta(seconds=rng.uniform(3_600, 25 * 86_400))
        # Two days on is a future day on every client's calendar.
        life.planned_for = (life.decided + rng.randint(2, 60) * day).date()
        life.started = life.decided + hour
        life.implemented = min(now - 7 * hour, life.decided + rng.randint(1, 60) * day)
        if status == Status.VERIFIED:
            life.verified = life.implemented + 6 * hour
    elif status == Status.IN_PROGRESS:
        assert life.decided is not None
        life.started = life.decided + hour
    return life


def _history(
    client: Client,
    contacts: list[Contact],
    admin: User,
    owners: list[User],
    count: int,
    rng: random.Random,
    now: dt.datetime,
) -> tuple[int, int, int]:
    """The client's recommendations, walked through the lifecycle's batch path
    (``recommendations.batch``: the transition table, the decision rules and the
    deadline maths of the one-by-one services, then set-based writes) in the order
    the steps happened; returns (recommendations, responses, events)."""
    statuses = [s for s, weight in MIX for _ in range(weight)]
    responder = next(c for c in contacts if c.is_decision_maker)
    lives = [_life(client, owners, rng, now, rng.choice(statuses)) for _ in range(count)]
    # Every step of every recommendation of the client, oldest first: the client's
    # chain is in time order, and each recommendation's steps in their own order.
    timeline: list[tuple[dt.datetime, int, int, str]] = []
    for order, life in enumerate(lives):
        timeline.append((life.created, order, 0, "create"))
        timeline.extend(
            (at, order, index, action) for index, (at, action) in enumerate(life.steps(), 1)
        )
    timeline.sort()
    batch = Batch(actor=admin)
    recs: dict[int, Recommendation] = {}
    responses = 0
    body = "{}. Why it matters for " + client.name + ", and how the work is done."
    for at, order, _index, action in timeline:
        life = lives[order]
        if action == "create":
            recs[order] = batch.create(
                client=client,
                now=at,
                external_id_taken=_never,
                title=life.title,
                body=body.format(life.title),
                severity=life.severity,
                owner=life.owner,
                contact=responder,
                language=client.language,
            )
            continue
        rec = recs[order]
        if action == "present":
            batch.present(rec, now=at, notify_client=False)
        elif action == "decide":
            decision = DECISION_OF[life.status]
            batch.decide(
                rec,
                decision=decision,
                channel=Channel.EMAIL,
                now=at,
                responder=responder,
                justification="" if decision == Decision.ACCEPTED else JUSTIFICATION,
                planned_for=life.planned_for,
                deferred_until=life.deferred_until,
            )
            responses += 1
        elif action == "withdraw":
            batch.withdraw(rec, now=at, reason=WITHDRAWN_BECAUSE)
        else:
            getattr(batch, action)(rec, now=at)
    events = len(batch)
    batch.write()
    return len(recs), responses, events


def _never(external_id: str) -> bool:
    return False


def _devices(client: Client, count: int, kbs: int, rng: random.Random, now: dt.datetime) -> int:
    """``count`` devices that reported today, each with ``kbs`` hotfixes; rows written."""
    if count == 0:
        return 0
    rows = insert_rows(
        [
            Device(
                client=client,
                machine_guid=f"{client.pk:06x}{n:06x}-bench-4000-8000-{rng.getrandbits(48):012x}",
                computer_name=f"{client.slug[:8].upper()}-WS{n:04d}",
                os_caption="Microsoft Windows 11 Pro",
                os_build="10.0.26100.7623",
                first_seen=now - dt.timedelta(days=rng.randint(30, 900)),
                last_seen=now - dt.timedelta(hours=rng.randint(0, 96)),
            )
            for n in range(count)
        ],
        returning_ids=True,
    )
    sql = (
        "INSERT INTO verification_installedhotfix (device_id, hotfix_id, kb, flagged, "
        "description, installed_by, installed_on_raw, installed_on, first_seen, last_seen) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    written = 0
    with connection.cursor() as cursor:
        batch: list[tuple[Any, ...]] = []
        for device in rows:
            for k in range(kbs):
                installed = (now - dt.timedelta(days=30 * k + rng.randint(0, 20))).date()
                number = 5_060_000 - k * 1_000 - rng.randint(0, 99)
                batch.append(
                    (
                        device.pk,
                        f"KB{number}",
                        number,
                        False,
                        "Security Update",
                        "NT AUTHORITY\\SYSTEM",
                        installed.strftime("%m/%d/%Y"),
                        installed,
                        device.first_seen,
                        device.last_seen,
                    )
                )
            if len(batch) >= CHUNK:
                cursor.executemany(sql, batch)
                written += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            written += len(batch)
    return written
