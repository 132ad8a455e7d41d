"""``heeded bench generate``: fill an empty database with an MSP's worth of data.

Clients, contacts and staff assignments go through the services (a few thousand calls);
recommendations, responses, ledger events and devices are written set-based: rows built
in memory, inserted many per statement (``lib.bulk.insert_rows``), and each client's
ledger events appended with ``event_append_many`` (one lock per client, the chain
computed in memory). The ledger
verifies afterwards, and the dashboard's counters are rebuilt from the rows.

The rows look like years of real work: most recommendations decided, some awaiting an
answer or overdue, deferrals and planned dates spread over the coming months, every
decision with its Response and its ledger event (the same kinds and data keys the
lifecycle writes). The same seed gives the same data.
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

from accounts.models import User
from catalog.choices import Severity
from clients.models import Client, Contact
from clients.services import client_create, client_staff_assign, contact_create
from ledger.services import NewEvent, event_append_many
from lib.bulk import insert_rows
from lib.progress import Progress, silent
from recommendations import tallies
from recommendations.choices import Channel, Decision, Status
from recommendations.models import Recommendation, Response, snapshot_sha256
from verification.models import Device

SEED = 20261130
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
DECISION_OF = {
    Status.ACCEPTED: Decision.ACCEPTED,
    Status.IN_PROGRESS: Decision.ACCEPTED,
    Status.IMPLEMENTED: Decision.ACCEPTED,
    Status.VERIFIED: Decision.ACCEPTED,
    Status.DEFERRED: Decision.DEFERRED,
    Status.REJECTED: Decision.REJECTED,
}
ACTION_OF = {Decision.ACCEPTED: "accept", Decision.DEFERRED: "defer", Decision.REJECTED: "reject"}
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


def _stamp(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment else None


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


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
    technicians = [u for u in staff if u.role == "technician"]
    owners = [admin, *staff]
    per_client = _split(recommendations, clients)
    per_client_devices = _split(devices, clients)
    for index in range(clients):
        with transaction.atomic():
            client, contacts = _client(index, admin, technicians, rng, now)
            made = _history(client, contacts, owners, per_client[index], rng, now)
            out.recommendations += made[0]
            out.responses += made[1]
            out.events += made[2] + 1 + len(contacts) + 1  # created, contacts, assignment
            hotfixes = _devices(client, per_client_devices[index], kbs, rng, now)
        out.clients += 1
        out.devices += per_client_devices[index]
        out.hotfixes += hotfixes
        progress.advance(1 + per_client[index] + per_client_devices[index])
    tallies.rebuild()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    out.seconds = time.perf_counter() - started
    return out


def _staff(now: dt.datetime) -> tuple[User, list[User]]:
    joined = now - dt.timedelta(days=4 * 365)
    unusable = make_password(None)
    admin = User.objects.create(
        username=ADMIN, role="admin", is_superuser=True, date_joined=joined, password=unusable
    )
    roles = ["manager"] * 4 + ["technician"] * 15 + ["auditor"]
    staff = User.objects.bulk_create(
        [
            User(
                username=f"bench-{role}-{i:02d}",
                email=f"bench-{role}-{i:02d}@msp.example",
                role=role,
                date_joined=joined,
                password=unusable,
            )
            for i, role in enumerate(roles)
        ]
    )
    return admin, [u for u in staff if u.role != "auditor"]


def _client(
    index: int, admin: User, technicians: list[User], rng: random.Random, now: dt.datetime
) -> tuple[Client, list[Contact]]:
    born = now - dt.timedelta(days=rng.randint(400, 1400))
    client = client_create(
        name=f"Studio Bench {index:04d} S.r.l.",
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


def _history(
    client: Client,
    contacts: list[Contact],
    owners: list[User],
    count: int,
    rng: random.Random,
    now: dt.datetime,
) -> tuple[int, int, int]:
    """The client's recommendations, their responses and events; (recs, responses, events)."""
    statuses = [s for s, weight in MIX for _ in range(weight)]
    deciders = [c for c in contacts if c.is_decision_maker]
    recipients = sorted(c.email for c in deciders)
    day = dt.timedelta(days=1)
    recs: list[Recommendation] = []
    for _ in range(count):
        title, severity = TITLES[rng.randrange(len(TITLES))]
        body = f"{title}. Why it matters for {client.name}, and how the work is done."
        status = rng.choice(statuses)
        # Any moment between the client's arrival and a day ago, to the microsecond.
        span = (now - client.created_at).total_seconds() - 86_400
        created = client.created_at + dt.timedelta(seconds=rng.uniform(3_600, max(span, 7_200)))
        rec = Recommendation(
            client=client,
            title=title,
            body=body,
            text_sha256=snapshot_sha256(title=title, body=body, risk_if_ignored=""),
            language=client.language,
            severity=severity if rng.random() < 0.8 else rng.choice(Severity.values),
            status=status,
            owner=owners[rng.randrange(len(owners))],
            contact=deciders[0],
            created_at=created,
            updated_at=created,
        )
        if status not in (Status.DRAFT, Status.WITHDRAWN):
            rec.presented_at = created + dt.timedelta(hours=rng.randint(1, 72))
            rec.response_due_at = rec.presented_at + rng.randint(7, 30) * day
            rec.updated_at = rec.presented_at
        if status == Status.AWAITING_RESPONSE:
            rec.next_action_at = rec.response_due_at
        if status in DECISION_OF or status == Status.IGNORED:
            assert rec.presented_at is not None
            rec.decided_at = min(now, rec.presented_at + rng.randint(1, 25) * day)
            rec.updated_at = rec.decided_at
        if status in (Status.ACCEPTED, Status.IN_PROGRESS):
            rec.planned_for = (now + rng.randint(-60, 150) * day).date()
            rec.next_action_at = dt.datetime.combine(
                rec.planned_for, dt.time(9), tzinfo=dt.UTC
            ) + dt.timedelta(days=1)
        if status == Status.DEFERRED:
            rec.deferred_until = (now + rng.randint(-10, 180) * day).date()
            rec.deferral_count = 1
            rec.next_action_at = dt.datetime.combine(rec.deferred_until, dt.time(9), tzinfo=dt.UTC)
        if status in (Status.IMPLEMENTED, Status.VERIFIED):
            assert rec.decided_at is not None
            rec.implemented_at = min(now, rec.decided_at + rng.randint(1, 60) * day)
            rec.updated_at = rec.implemented_at
        if status == Status.VERIFIED:
            assert rec.implemented_at is not None
            rec.verified_at = rec.closed_at = rec.implemented_at + dt.timedelta(hours=6)
            rec.updated_at = rec.verified_at
        if status == Status.WITHDRAWN:
            rec.closed_at = rec.updated_at = created + 2 * day
            rec.close_reason = "No longer applies after the office move."
        recs.append(rec)
    insert_rows(recs, returning_ids=True)

    steps: list[tuple[dt.datetime, int, NewEvent, Recommendation | None]] = []
    for order, rec in enumerate(recs):
        steps.extend((at, order, event, decided) for at, event, decided in _events(rec, recipients))
    steps.sort(key=lambda step: (step[0], step[1]))
    events = [event for _, _, event, _ in steps]
    saved = event_append_many(client=client, events=events) if events else []
    responses = []
    for (_, _, event, decided), row in zip(steps, saved, strict=True):
        if decided is None:
            continue
        data = event.data
        responses.append(
            Response(
                recommendation=decided,
                decision=data["decision"],
                justification=data["justification"],
                planned_for=decided.planned_for if data["planned_for"] else None,
                deferred_until=decided.deferred_until if data["deferred_until"] else None,
                responder=deciders[0],
                responder_name=data["responder_name"],
                channel=data["channel"],
                shown_text_sha256=decided.text_sha256,
                recorded_at=event.at,
                ledger_seq=row.seq,
            )
        )
    insert_rows(responses)
    return len(recs), len(responses), len(saved)


def _events(
    rec: Recommendation, recipients: list[str]
) -> Iterator[tuple[dt.datetime, NewEvent, Recommendation | None]]:
    """The ledger events the lifecycle would have written for ``rec``, with the
    recommendation again on the event that records a client's decision."""

    def event(kind: str, at: dt.datetime, data: dict[str, Any]) -> NewEvent:
        return NewEvent(
            kind=kind, actor=f"user:{ADMIN}", at=at, data=data, recommendation_id=rec.pk
        )

    yield (
        rec.created_at,
        event(
            "recommendation.created",
            rec.created_at,
            {
                "title": rec.title,
                "text_sha256": rec.text_sha256,
                "language": rec.language,
                "severity": rec.severity,
                "template_version": None,
                "owner": rec.owner.get_username() if rec.owner else None,
                "contact": rec.contact_id,
                "tags": [],
                "field_values": {},
                "external_id": None,
            },
        ),
        None,
    )
    if rec.status == Status.WITHDRAWN:
        assert rec.closed_at is not None
        withdrawal = {"from": Status.DRAFT, "to": Status.WITHDRAWN, "reason": rec.close_reason}
        yield rec.closed_at, event("recommendation.withdraw", rec.closed_at, withdrawal), None
        return
    if rec.presented_at is None:
        return
    yield (
        rec.presented_at,
        event(
            "recommendation.present",
            rec.presented_at,
            {
                "from": Status.DRAFT,
                "to": Status.AWAITING_RESPONSE,
                "text_sha256": rec.text_sha256,
                "response_due_at": _stamp(rec.response_due_at),
                "recipients": recipients,
            },
        ),
        None,
    )
    decision = DECISION_OF.get(Status(rec.status))
    if rec.status == Status.IGNORED:
        assert rec.decided_at is not None
        ignored = {"from": Status.AWAITING_RESPONSE, "to": Status.IGNORED, "reason": ""}
        yield rec.decided_at, event("recommendation.mark_ignored", rec.decided_at, ignored), None
    if decision is None:
        return
    assert rec.decided_at is not None
    to = {Decision.ACCEPTED: Status.ACCEPTED, Decision.DEFERRED: Status.DEFERRED}.get(
        decision, Status.REJECTED
    )
    data: dict[str, Any] = {
        "from": Status.AWAITING_RESPONSE,
        "to": to,
        "decision": decision,
        "justification": "" if decision == Decision.ACCEPTED else "Budget is set in January.",
        "planned_for": _iso(rec.planned_for),
        "deferred_until": _iso(rec.deferred_until),
        "responder": None,
        "responder_name": "Giulia D'Angelo",
        "channel": Channel.EMAIL,
        "recorded_by": None,
        "attendees": "",
        "shown_text_sha256": rec.text_sha256,
        "evidence_ref": "",
    }
    yield rec.decided_at, event(f"recommendation.{ACTION_OF[decision]}", rec.decided_at, data), rec
    if rec.status in (Status.IN_PROGRESS, Status.IMPLEMENTED, Status.VERIFIED):
        started = rec.decided_at + dt.timedelta(hours=1)
        data = {"from": Status.ACCEPTED, "to": Status.IN_PROGRESS}
        yield started, event("recommendation.start_work", started, data), None
    if rec.implemented_at is not None:
        data = {"from": Status.IN_PROGRESS, "to": Status.IMPLEMENTED}
        yield (
            rec.implemented_at,
            event("recommendation.mark_implemented", rec.implemented_at, data),
            None,
        )
    if rec.verified_at is not None:
        data = {"from": Status.IMPLEMENTED, "to": Status.VERIFIED}
        yield rec.verified_at, event("recommendation.mark_verified", rec.verified_at, data), None


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
