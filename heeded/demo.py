"""Demo data: an MSP with three staff, twelve clients and about four hundred
recommendations covering the last twelve months.

Everything is written through the services (clients, catalog, recommendations), with
``now`` stepping through the year, so the ledger holds the same events in the same
order as if the year had really happened, and every chain verifies. The history is
planned first (one timeline per recommendation, drawn by ``heeded.demo_history`` and
checked here against the lifecycle's rules), then all steps of all recommendations are
replayed in time order. Who the clients are lives in ``heeded.demo_content``.

Deterministic: the same ``now`` gives the same data. Idempotent: if the demo clients
exist, nothing is added.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from axes.utils import reset as axes_reset
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count, F

from accounts.choices import Role
from accounts.models import User
from catalog.data import CatalogEntry, catalog_entries, catalog_load
from catalog.models import TemplateVersion
from clients.models import Client, Contact
from clients.services import client_create, contact_create
from followup.choices import OutboxStatus
from followup.models import DeliveryAttempt, OutboxMessage
from heeded import demo_content as content
from heeded import demo_history as history
from heeded.demo_history import (
    FOLLOWUP_KINDS,
    STAFF_KINDS,
    HistoryDraw,
    Plan,
    Retry,
    Step,
    weekday_on_or_before,
)
from ledger.models import Event
from lib.progress import Progress
from recommendations import services
from recommendations.choices import Channel, Decision
from recommendations.models import Recommendation
from reports.services import compliance_history_backfill, compliance_snapshot_take

# Documented in the README and printed by `heeded demo`; only ever a demo login.
DEMO_PASSWORD = "heeded-demo"  # noqa: S105
DEMO_ADMIN_USERNAME = "admin"
SEED = 8_2025
HISTORY_DAYS = 365
FOLLOWUP = "followup"
VERIFIER = "verification"


@dataclass(frozen=True)
class DemoSummary:
    loaded: bool
    clients: int
    templates_added: int
    recommendations: int
    events: int
    by_status: dict[str, int]
    seconds: float


def demo_present() -> bool:
    """True when the demo clients are already in the database."""
    return Client.objects.filter(slug__in=[c.slug for c in content.CLIENTS]).exists()


def demo_logins_reset(*, password: str = DEMO_PASSWORD) -> User:
    """Create the ``admin`` login, or give it back its role and the demo password, and
    give the demo staff accounts that password again. Returns the admin."""
    # One hash for every demo login: hashing is deliberately slow, once is enough.
    hashed = make_password(password)
    admin, _ = User.objects.get_or_create(
        username=DEMO_ADMIN_USERNAME, defaults={"email": f"admin@{content.MSP_DOMAIN}"}
    )
    admin.role = Role.ADMIN
    admin.is_active = True
    admin.is_staff = True
    admin.first_name = admin.first_name or "Demo"
    admin.last_name = admin.last_name or "Admin"
    admin.password = hashed
    admin.save()
    User.objects.filter(username__in=[s.username for s in content.STAFF]).update(
        password=hashed, is_active=True
    )
    # A locked-out demo login would make the printed password useless.
    for username in [DEMO_ADMIN_USERNAME, *(s.username for s in content.STAFF)]:
        axes_reset(username=username)
    return admin


def load_demo(*, now: dt.datetime, stdout: TextIO | None = None) -> DemoSummary:
    """Load the demo data as it would look at ``now``; add nothing if it is already there."""
    started = time.perf_counter()
    say: Callable[[str], None] = (lambda line: stdout.write(line + "\n")) if stdout else _mute
    if demo_present():
        say("Demo data already present: nothing added.")
        return _summary(loaded=False, templates_added=0, started=started)
    with transaction.atomic():
        builder = _Builder(now=now, say=say, stream=stdout)
        templates_added = builder.build()
    summary = _summary(loaded=True, templates_added=templates_added, started=started)
    say(
        f"Loaded {summary.clients} clients and {summary.recommendations} recommendations "
        f"({summary.events} ledger events) in {summary.seconds:.1f} s."
    )
    return summary


def _mute(line: str) -> None:
    pass


def _summary(*, loaded: bool, templates_added: int, started: float) -> DemoSummary:
    clients = Client.objects.filter(slug__in=[c.slug for c in content.CLIENTS])
    recs = Recommendation.objects.filter(client__in=clients)
    by_status = dict(recs.values_list("status").annotate(n=Count("id")).order_by("status"))
    return DemoSummary(
        loaded=loaded,
        clients=clients.count(),
        templates_added=templates_added,
        recommendations=recs.count(),
        events=Event.objects.filter(client__in=clients).count(),
        by_status=by_status,
        seconds=time.perf_counter() - started,
    )


class _Builder:
    def __init__(
        self, *, now: dt.datetime, say: Callable[[str], None], stream: TextIO | None = None
    ) -> None:
        self.now = now
        self.say = say
        self.stream = stream  # where progress is drawn, when it is a terminal
        # Two streams: what each client is advised and how it ends does not depend on
        # ``now``; only the dates (and the draws they need) do.
        self.plan_rng = random.Random(SEED)
        self.rng = random.Random(SEED + 1)
        self.staff: dict[str, User] = {}
        self.clients: dict[str, Client] = {}
        self.contacts: dict[str, list[Contact]] = {}
        self.meetings: dict[str, list[dt.date]] = {}
        self.versions: dict[str, TemplateVersion] = {}

    # -- the steps, in order --------------------------------------------------------

    def build(self) -> int:
        start = self.now - dt.timedelta(days=HISTORY_DAYS)
        self._staff_create(start - dt.timedelta(days=90))
        added = catalog_load(now=start - dt.timedelta(days=60), actor=self.staff[content.ADMIN])
        self.say(f"Catalog: {len(added.created)} templates added, {len(added.skipped)} present.")
        self._clients_create(start - dt.timedelta(days=30))
        plans = self._plan_all()
        self.say(f"Replaying a year of history for {len(plans)} recommendations...")
        self._replay(plans)
        self._mark_history_delivered()
        self._compliance_history()
        return len(added.created)

    def _compliance_history(self) -> None:
        # The daily snapshots the worker would have taken over the year, rebuilt from
        # each client's ledger, so the QBR's compliance chart has a history at once.
        days = sum(
            compliance_history_backfill(client=client, now=self.now)
            for client in Client.objects.all()
        )
        taken = compliance_snapshot_take(now=self.now)
        self.say(f"Compliance history: {days} past days and {taken} snapshots of today.")

    def _staff_create(self, joined: dt.datetime) -> None:
        hashed = make_password(DEMO_PASSWORD)
        for spec in content.STAFF:
            user, _ = User.objects.get_or_create(
                username=spec.username,
                defaults={
                    "email": spec.email,
                    "password": hashed,
                    "first_name": spec.first_name,
                    "last_name": spec.last_name,
                    "role": spec.role,
                    "date_joined": joined,
                },
            )
            self.staff[spec.username] = user

    def _clients_create(self, base: dt.datetime) -> None:
        technician = self.staff[content.TECHNICIAN]
        for index, spec in enumerate(content.CLIENTS):
            day = weekday_on_or_before(base.date() + dt.timedelta(days=index))
            created = dt.datetime.combine(
                day, dt.time(9 + self.rng.randint(0, 7), self.rng.randint(0, 59)), tzinfo=dt.UTC
            )
            owner = self.staff[spec.owner]
            client = client_create(
                name=spec.name,
                slug=spec.slug,
                domains=spec.domains,
                industry=spec.industry,
                regulated=spec.regulated,
                account_owner=owner,
                qbr_cadence_months=spec.qbr_cadence_months,
                time_zone=spec.time_zone,
                language=spec.language,
                actor=owner,
                now=created,
            )
            if spec.technician_assigned:
                client.staff.add(technician)
            contacts = []
            for offset, person in enumerate(spec.contacts, start=1):
                contacts.append(
                    contact_create(
                        client=client,
                        name=person.name,
                        email=f"{person.mailbox}@{spec.domains[0]}",
                        job_title=person.job_title,
                        phone=person.phone,
                        is_decision_maker=person.decision_maker,
                        is_escalation_contact=person.escalation,
                        actor=owner,
                        now=created + dt.timedelta(minutes=5 * offset),
                    )
                )
            self.clients[spec.slug] = client
            self.contacts[spec.slug] = contacts
            self.meetings[spec.slug] = self._meeting_days(spec, client)
        self.say(f"Clients: {len(self.clients)} created with their contacts.")

    def _meeting_days(self, spec: content.ClientSpec, client: Client) -> list[dt.date]:
        """QBR dates over the year: many decisions are taken there."""
        today = self.now.astimezone(client.tz).date()
        day = today - dt.timedelta(days=HISTORY_DAYS - self.rng.randint(10, 40))
        step = dt.timedelta(days=round(30.4 * spec.qbr_cadence_months))
        days = []
        while day < today:
            days.append(weekday_on_or_before(day))
            day += step
        return days

    # -- planning -------------------------------------------------------------------

    def _plan_all(self) -> list[Plan]:
        entries = catalog_entries()
        plans: list[Plan] = []
        for spec in content.CLIENTS:
            client = self.clients[spec.slug]
            picks = self._pick_templates(entries, spec.recommendations)
            items: list[tuple[CatalogEntry | None, content.AdHocSpec | None]] = [
                (entry, None) for entry in picks
            ]
            items += [(None, ad_hoc) for ad_hoc in spec.ad_hoc]
            for entry, ad_hoc in items:
                severity = entry.severity if entry else ad_hoc.severity  # type: ignore[union-attr]
                weights = history.STATUS_WEIGHTS[severity]
                final = self.plan_rng.choices(list(weights), weights=list(weights.values()))[0]
                plan = Plan(
                    client=client,
                    spec=spec,
                    final=final,
                    entry=entry,
                    ad_hoc=ad_hoc,
                    severity=severity,
                    steps=[],
                )
                plan.steps = self._timeline(plan)
                plans.append(plan)
        return plans

    def _pick_templates(self, entries: tuple[CatalogEntry, ...], count: int) -> list[CatalogEntry]:
        """A weighted sample without replacement: critical advice is given to almost everyone."""
        weight = {"critical": 6.0, "high": 3.0, "medium": 2.0, "low": 1.0}
        keyed = sorted(
            entries,
            key=lambda e: self.plan_rng.random() ** (1.0 / weight[e.severity]),
            reverse=True,
        )
        return keyed[:count]

    def _timeline(self, plan: Plan) -> list[Step]:
        tz = plan.client.tz
        today = self.now.astimezone(tz).date()
        for _ in range(200):
            try:
                steps = HistoryDraw(
                    rng=self.rng,
                    plan=plan,
                    today=today,
                    meetings=self.meetings[plan.spec.slug],
                    deciders=[c for c in self.contacts[plan.spec.slug] if c.is_decision_maker],
                ).draw()
                return self._fit(plan, steps, today)
            except Retry:
                continue
        raise RuntimeError(f"could not plan a {plan.final} history for {plan.client}")

    def _fit(self, plan: Plan, steps: list[Step], today: dt.date) -> list[Step]:
        """Move staff work off weekends, check the order, give each step its moment."""
        first = today - dt.timedelta(days=HISTORY_DAYS - 5)
        last = today - dt.timedelta(days=1)
        for step in steps:
            if step.kind in STAFF_KINDS and step.day.weekday() >= 5:
                # Weekend work moves to a nearby weekday: Thursday, Friday, Monday or Tuesday.
                friday = weekday_on_or_before(step.day)
                step.day = friday + dt.timedelta(days=self.rng.choice((-1, 0, 3, 4)))
        for before, after in itertools.pairwise(steps):
            if after.day <= before.day:
                raise Retry
        if steps[0].day < first or steps[-1].day > last:
            raise Retry
        for step in steps:
            if step.kind == "accept" and step.params["planned_for"] < step.day:
                raise Retry
            if step.kind == "defer" and step.params["deferred_until"] <= step.day:
                raise Retry
            step.at = self._moment(step, plan.client.tz)
            if "channel" in step.params:
                self._decision_record(plan, step)
        return steps

    def _decision_record(self, plan: Plan, step: Step) -> None:
        """Who was there and what proves it, once the day of the decision is final."""
        params, day = step.params, step.day
        responder = params["responder"]
        if params["channel"] == Channel.MEETING:
            contacts = self.contacts[plan.spec.slug]
            others = [c for c in contacts if c != responder and self.rng.random() < 0.5]
            people = [f"{c.name} ({c.job_title})" for c in [responder, *others]]
            staff = self.staff[plan.spec.owner]
            people.append(f"{staff.get_full_name()} ({content.MSP_NAME})")
            params["attendees"] = "; ".join(people)
            params["evidence_ref"] = f"{'QBR minutes' if params['qbr'] else 'Meeting notes'} {day}"
        elif params["channel"] == Channel.PHONE:
            params["evidence_ref"] = f"Phone call with {responder.name}, {day}"
        else:
            params["evidence_ref"] = f"Told staff during the on-site visit of {day}"

    def _moment(self, step: Step, tz: dt.tzinfo) -> dt.datetime:
        if step.kind in FOLLOWUP_KINDS:
            clock = dt.time(6, self.rng.randint(0, 59), self.rng.randint(0, 59))
        elif step.params.get("channel") == Channel.MEETING and step.params.get("qbr"):
            # Decisions taken at one QBR get close, ordered times that morning.
            clock = dt.time(10, self.rng.randint(0, 59), self.rng.randint(0, 59))
        else:
            clock = dt.time(
                self.rng.randint(8, 17), self.rng.randint(0, 59), self.rng.randint(0, 59)
            )
        return dt.datetime.combine(step.day, clock, tzinfo=tz).astimezone(dt.UTC)

    # -- replay ---------------------------------------------------------------------

    def _replay(self, plans: list[Plan]) -> None:
        queue = sorted(
            (
                (step.at, p_index, s_index)
                for p_index, plan in enumerate(plans)
                for s_index, step in enumerate(plan.steps)
            ),
        )
        with Progress(self.stream, "history", total=len(queue), unit="steps") as progress:
            for _, p_index, s_index in queue:
                plan = plans[p_index]
                self._apply(plan, plan.steps[s_index])
                progress.advance()
        final = dict(
            Recommendation.objects.filter(pk__in=[p.rec.pk for p in plans if p.rec]).values_list(
                "pk", "status"
            )
        )
        for plan in plans:
            if plan.rec is None or final[plan.rec.pk] != plan.final:
                raise RuntimeError(f"demo plan for {plan.rec} ended in the wrong state")

    def _apply(self, plan: Plan, step: Step) -> None:
        at = step.at
        assert at is not None
        spec = plan.spec
        manager = self.staff[spec.owner]
        worker = self._worker(spec)
        params = step.params
        if step.kind == "create":
            plan.rec = self._create(plan, at)
            return
        rec = plan.rec
        assert rec is not None
        if step.kind == "present":
            services.recommendation_present(recommendation=rec, actor=manager, now=at)
        elif step.kind in ("accept", "defer", "reject"):
            services.response_record(
                recommendation=rec,
                decision={"accept": Decision.ACCEPTED, "defer": Decision.DEFERRED}.get(
                    step.kind, Decision.REJECTED
                ),
                channel=params["channel"],
                now=at,
                recorded_by=manager,
                responder=params["responder"],
                justification=params.get("justification", ""),
                planned_for=params.get("planned_for"),
                deferred_until=params.get("deferred_until"),
                attendees=params.get("attendees", ""),
                evidence_ref=params.get("evidence_ref", ""),
            )
        elif step.kind == "start":
            services.recommendation_start_work(
                recommendation=rec, actor=worker, now=at, note=params["note"]
            )
        elif step.kind == "implement":
            services.recommendation_mark_implemented(
                recommendation=rec, actor=worker, now=at, note=params["note"]
            )
        elif step.kind == "verify":
            services.recommendation_mark_verified(
                recommendation=rec,
                actor=VERIFIER if params["automatic"] else worker,
                now=at,
                evidence_ref=params["evidence_ref"],
                note=params.get("note", ""),
            )
        elif step.kind == "drift":
            services.recommendation_drift(
                recommendation=rec, actor=VERIFIER, now=at, reason=params["reason"]
            )
        elif step.kind == "withdraw":
            services.recommendation_withdraw(
                recommendation=rec, actor=manager, now=at, reason=params["reason"]
            )
        elif step.kind == "expire_deferral":
            services.recommendation_expire_deferral(recommendation=rec, now=at, actor=FOLLOWUP)
        elif step.kind == "expire_planned":
            services.recommendation_expire_planned_date(recommendation=rec, now=at, actor=FOLLOWUP)
        elif step.kind == "ignore":
            services.recommendation_mark_ignored(
                recommendation=rec, now=at, actor=FOLLOWUP, reason=params["reason"]
            )
        else:  # pragma: no cover - a typo in the planner
            raise ValueError(step.kind)

    def _worker(self, spec: content.ClientSpec) -> User:
        """Who does the technical work: the assigned technician, else the admin."""
        return self.staff[content.TECHNICIAN if spec.technician_assigned else content.ADMIN]

    def _create(self, plan: Plan, at: dt.datetime) -> Recommendation:
        spec = plan.spec
        contacts = self.contacts[spec.slug]
        point_of_contact = next(c for c in contacts if c.is_decision_maker)
        common = {
            "client": plan.client,
            "actor": self.staff[spec.owner],
            "now": at,
            "owner": self._worker(spec),
            "contact": point_of_contact,
            "scope": self._scope(plan),
        }
        if plan.entry is not None:
            version = self._version(plan.entry.key)
            return services.recommendation_create(
                template_version=version,
                field_values=self._field_values(plan.entry, at.date()),
                **common,
            )
        ad_hoc = plan.ad_hoc
        assert ad_hoc is not None
        return services.recommendation_create(
            title=ad_hoc.title,
            body=ad_hoc.body,
            risk_if_ignored=ad_hoc.risk_if_ignored,
            severity=ad_hoc.severity,
            category=ad_hoc.category,
            tags=list(ad_hoc.tags),
            **common,
        )

    def _version(self, key: str) -> TemplateVersion:
        if key not in self.versions:
            # Versions are ordered newest first: a revised template's latest text is used.
            self.versions[key] = TemplateVersion.objects.filter(template__key=key).first()
        return self.versions[key]

    def _field_values(self, entry: CatalogEntry, day: dt.date) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for definition in entry.custom_fields:
            key = definition["key"]
            examples = entry.demo_values.get(key)
            if not definition["required"] and self.rng.random() < 0.3:
                continue
            if examples:
                values[key] = self.rng.choice(examples)
            elif definition["type"] == "date":
                sign = -1 if key.startswith("last_") else 1
                values[key] = (
                    day + dt.timedelta(days=sign * self.rng.randint(20, 200))
                ).isoformat()
        return values

    def _scope(self, plan: Plan) -> str:
        spec = plan.spec
        category = plan.category
        servers = (
            f" and {spec.servers} server{'s' if spec.servers > 1 else ''}" if spec.servers else ""
        )
        if category in ("endpoint", "patching"):
            return f"All {spec.devices} workstations and laptops{servers}"
        if category == "network":
            return "Main office: firewall, switches and Wi-Fi"
        if category in ("email", "identity"):
            return f"Microsoft 365 tenant ({', '.join(spec.domains)})"
        if category == "backup":
            return f"File shares{servers}, Microsoft 365"
        if category == "people":
            return f"All {spec.staff_count} staff"
        return ""

    def _mark_history_delivered(self) -> None:
        """The presentation e-mails belong to the past the demo pretends to have lived:
        record them as delivered when they were queued, instead of letting the worker
        send a year of mail at start-up."""
        pending = OutboxMessage.objects.filter(
            client__in=self.clients.values(), status=OutboxStatus.PENDING
        )
        attempts = [
            DeliveryAttempt(
                message_id=pk,
                number=1,
                worker="demo-loader",
                started_at=created,
                finished_at=created,
                ok=True,
            )
            for pk, created in pending.values_list("pk", "created_at")
        ]
        DeliveryAttempt.objects.bulk_create(attempts, batch_size=500)
        pending.update(
            status=OutboxStatus.SENT, sent_at=F("created_at"), attempts=1, next_attempt_at=None
        )
