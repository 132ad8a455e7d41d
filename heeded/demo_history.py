"""The history of each demo recommendation: which steps it went through, on which
days, and the words people used (reasons, notes). Pure planning: nothing here writes;
``heeded.demo`` checks each drawn history against the lifecycle's rules and replays
it through the services.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from catalog.data import CatalogEntry
from clients.models import Client, Contact
from clients.policy import RESPONSE_DAYS
from heeded.demo_content import AdHocSpec, ClientSpec
from recommendations.choices import Channel, Status
from recommendations.models import Recommendation


class Retry(Exception):
    """A drawn timeline broke a rule; draw again."""


@dataclass
class Step:
    day: dt.date
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    at: dt.datetime | None = None


@dataclass
class Plan:
    client: Client
    spec: ClientSpec
    final: Status
    entry: CatalogEntry | None
    ad_hoc: AdHocSpec | None
    severity: str
    steps: list[Step]
    rec: Recommendation | None = None

    @property
    def key(self) -> str:
        return self.entry.key if self.entry else ""

    @property
    def category(self) -> str:
        return self.entry.category if self.entry else self.ad_hoc.category  # type: ignore[union-attr]


STAFF_KINDS = {
    "create",
    "present",
    "accept",
    "defer",
    "reject",
    "start",
    "implement",
    "verify",
    "withdraw",
}
FOLLOWUP_KINDS = {"expire_deferral", "expire_planned", "ignore"}


class HistoryDraw:
    """One random draw of a recommendation's history, as days and actions.

    Each ``_<status>`` method works backwards from the end state so that the
    history fits the last year; ``heeded.demo`` then checks the order and the
    lifecycle's date rules, and a failed draw is simply drawn again.
    """

    def __init__(
        self,
        *,
        rng: random.Random,
        plan: Plan,
        today: dt.date,
        meetings: list[dt.date],
        deciders: list[Contact],
    ) -> None:
        self.rng = rng
        self.plan = plan
        self.meetings = meetings
        self.deciders = deciders
        self.today = today
        self.due = RESPONSE_DAYS[plan.severity]
        self.lang = plan.spec.language

    def draw(self) -> list[Step]:
        return getattr(self, f"_{self.plan.final.value}")()

    # -- building blocks ------------------------------------------------------------

    def ago(self, low: int, high: int) -> dt.date:
        return self.today - dt.timedelta(days=self.rng.randint(low, high))

    def before(self, day: dt.date, low: int, high: int) -> dt.date:
        return day - dt.timedelta(days=self.rng.randint(low, high))

    def after(self, day: dt.date, low: int, high: int) -> dt.date:
        return day + dt.timedelta(days=self.rng.randint(low, high))

    def response_delay(self) -> int:
        """Days between presentation and answer: usually in time, sometimes late."""
        if self.rng.random() < 0.75:
            return self.rng.randint(1, max(1, self.due - 1))
        return self.rng.randint(self.due, self.due + 14)

    def opening(self, decided: dt.date) -> list[Step]:
        """Created, then presented, far enough before ``decided``."""
        presented = decided - dt.timedelta(days=self.response_delay())
        return self.presented_on(presented)

    def presented_on(self, presented: dt.date) -> list[Step]:
        return [
            Step(self.before(presented, 1, 9), "create"),
            Step(presented, "present"),
        ]

    def decision(self, kind: str, day: dt.date, **params: Any) -> Step:
        """An answer on ``day``; if a QBR falls within a week before it, often there."""
        near = [m for m in self.meetings if 0 <= (day - m).days <= 7]
        responder = self.rng.choice(self.deciders)
        if near and self.rng.random() < 0.6:
            day, channel, qbr = near[0], Channel.MEETING, True
        else:
            channel = self.rng.choices(
                [Channel.PHONE, Channel.STAFF, Channel.MEETING], weights=[5, 3, 2]
            )[0]
            qbr = False
        params.update(channel=channel, responder=responder, qbr=qbr)
        return Step(day, kind, params)

    def reason(self, kind: str) -> str:
        specific = SPECIFIC_REASONS.get(self.plan.key, {}).get(kind)
        if specific and self.rng.random() < 0.7:
            return self.rng.choice(specific)
        pools = (DEFER_REASONS if kind == "defer" else REJECT_REASONS)[
            self.lang if self.rng.random() < 0.7 else "en"
        ]
        choices = list(pools["any"])
        if self.plan.category in TECHNICAL_CATEGORIES:
            choices += pools["technical"]
        return self.rng.choice(choices)

    def accept(self, day: dt.date, planned: dt.date, remark: str | None = None) -> Step:
        text = self.rng.choice(ACCEPT_REMARKS) if remark is None else remark
        return self.decision("accept", day, planned_for=planned, justification=text)

    def defer(self, day: dt.date, until: dt.date) -> Step:
        return self.decision("defer", day, deferred_until=until, justification=self.reason("defer"))

    def reject(self, day: dt.date) -> Step:
        return self.decision("reject", day, justification=self.reason("reject"))

    def accepted_history(self, decided: dt.date, planned: dt.date) -> list[Step]:
        """Presented and accepted on ``decided``; sometimes only after a change of mind."""
        roll = self.rng.random()
        if roll < 0.12:
            until = self.before(decided, 1, self.due)
            deferred = self.before(until, 30, 90)
            return [
                *self.opening(deferred),
                self.defer(deferred, until),
                Step(until, "expire_deferral"),
                self.accept(decided, planned),
            ]
        if roll < 0.2:
            rejected = self.before(decided, 20, 120)
            return [
                *self.opening(rejected),
                self.reject(rejected),
                self.accept(decided, planned, self.rng.choice(CHANGE_OF_MIND)),
            ]
        return [*self.opening(decided), self.accept(decided, planned)]

    def work(self, decided: dt.date, done: dt.date, planned: dt.date) -> list[Step]:
        """Optional start of work between the decision and ``done``, and the planned
        date's lapse when the work finished late."""
        steps: list[Step] = []
        if (done - decided).days >= 2 and self.rng.random() < 0.7:
            started = self.after(decided, 1, (done - decided).days - 1)
            steps.append(Step(started, "start", {"note": self.rng.choice(WORK_NOTES)}))
        if planned < done - dt.timedelta(days=1):
            steps.append(Step(planned + dt.timedelta(days=1), "expire_planned"))
        return sorted(steps, key=lambda s: s.day)

    def verify(self, day: dt.date) -> Step:
        automatic = bool(self.plan.entry and self.plan.entry.verification_rule) and (
            self.rng.random() < 0.6
        )
        if automatic:
            evidence = f"endpoint-report:{self.plan.spec.slug}:{day}"
            note = self.plan.entry.verification_rule if self.plan.entry else ""
        else:
            evidence = f"ticket #{self.rng.randint(20_000, 29_999)}: screenshot and checklist"
            note = "Checked on site against the verification rule."
        return Step(day, "verify", {"automatic": automatic, "evidence_ref": evidence, "note": note})

    # -- one method per final status ------------------------------------------------

    def _draft(self) -> list[Step]:
        return [Step(self.ago(1, 45), "create")]

    def _awaiting_response(self) -> list[Step]:
        roll = self.rng.random()
        if roll < 0.55:  # presented recently, still within the response time
            return self.presented_on(self.ago(1, self.due - 1))
        if roll < 0.85:  # overdue by up to ten days: the ladder is running
            return self.presented_on(self.ago(self.due + 1, self.due + 10))
        until = self.ago(1, self.due - 1)  # a deferral ran out: asked again
        deferred = self.before(until, 30, 120)
        return [
            *self.opening(deferred),
            self.defer(deferred, until),
            Step(until, "expire_deferral"),
        ]

    def _accepted(self) -> list[Step]:
        if self.rng.random() < 0.65:
            planned = self.after(self.today, 0, 75)
            decided = min(self.before(planned, 7, 100), self.today - dt.timedelta(days=1))
            return self.accepted_history(decided, planned)
        planned = self.ago(2, 60)  # the planned date passed without the work being done
        decided = self.before(planned, 10, 90)
        return [
            *self.accepted_history(decided, planned),
            Step(planned + dt.timedelta(days=1), "expire_planned"),
        ]

    def _in_progress(self) -> list[Step]:
        if self.rng.random() < 0.7:
            planned = self.after(self.today, 0, 60)
            decided = min(self.before(planned, 10, 90), self.today - dt.timedelta(days=3))
            started = self.after(decided, 1, min(20, (self.today - decided).days - 1))
            return [
                *self.accepted_history(decided, planned),
                Step(started, "start", {"note": self.rng.choice(WORK_NOTES)}),
            ]
        planned = self.ago(2, 45)
        decided = self.before(planned, 10, 60)
        started = self.after(decided, 1, (planned - decided).days)
        return [
            *self.accepted_history(decided, planned),
            Step(started, "start", {"note": self.rng.choice(WORK_NOTES)}),
            Step(planned + dt.timedelta(days=1), "expire_planned"),
        ]

    def _deferred(self) -> list[Step]:
        until = self.after(self.today, 7, 150)
        decided = min(self.before(until, 30, 180), self.today - dt.timedelta(days=1))
        if self.rng.random() < 0.25:  # deferred once already, asked again, deferred again
            first_until = self.before(decided, 1, self.due)
            first = self.before(first_until, 30, 90)
            return [
                *self.opening(first),
                self.defer(first, first_until),
                Step(first_until, "expire_deferral"),
                self.defer(decided, until),
            ]
        return [*self.opening(decided), self.defer(decided, until)]

    def _rejected(self) -> list[Step]:
        decided = self.ago(1, 330)
        if self.rng.random() < 0.2:  # accepted first, then rejected once the quote came
            accepted = self.before(decided, 10, 60)
            planned = self.after(decided, 1, 60)
            return [
                *self.opening(accepted),
                self.accept(accepted, planned),
                self.reject(decided),
            ]
        return [*self.opening(decided), self.reject(decided)]

    def _ignored(self) -> list[Step]:
        ignored = self.ago(1, 300)
        presented = self.before(ignored, self.due + 14, self.due + 21)
        reason = "No response after reminders and escalation to the escalation contact."
        return [*self.presented_on(presented), Step(ignored, "ignore", {"reason": reason})]

    def _implemented(self) -> list[Step]:
        done = self.ago(1, 60) if self.rng.random() < 0.8 else self.ago(61, 200)
        decided = self.before(done, 5, 60)
        if self.rng.random() < 0.7:
            planned = self.after(done, 0, 30)
        else:
            planned = self.after(decided, 3, max(3, (done - decided).days - 2))
        note = self.rng.choice(DONE_NOTES)
        return [
            *self.accepted_history(decided, planned),
            *self.work(decided, done, planned),
            Step(done, "implement", {"note": note}),
        ]

    def _verified(self) -> list[Step]:
        verified = self.ago(1, 320)
        drift = self.rng.random() < 0.06
        first_verified = self.before(verified, 12, 60) if drift else verified
        direct = self.rng.random() < 0.2  # evidence arrived before anyone marked it done
        done = first_verified if direct else self.before(first_verified, 1, 21)
        decided = self.before(done, 5, 60)
        planned = (
            self.after(done, 0, 30)
            if self.rng.random() < 0.75
            else self.after(decided, 3, max(3, (done - decided).days - 2))
        )
        steps = [*self.accepted_history(decided, planned), *self.work(decided, done, planned)]
        if not direct:
            steps.append(Step(done, "implement", {"note": self.rng.choice(DONE_NOTES)}))
        steps.append(self.verify(first_verified))
        if drift:
            lost = self.after(first_verified, 5, (verified - first_verified).days - 5)
            reason = self.rng.choice(DRIFT_REASONS)
            steps += [
                Step(lost, "drift", {"reason": reason}),
                Step(lost + dt.timedelta(days=1), "expire_planned"),
                self.verify(verified),
            ]
        return steps

    def _withdrawn(self) -> list[Step]:
        withdrawn = self.ago(1, 330)
        reason = {"reason": self.rng.choice(WITHDRAW_REASONS)}
        roll = self.rng.random()
        if roll < 0.3:
            steps = [Step(self.before(withdrawn, 3, 40), "create")]
        elif roll < 0.7:
            steps = self.presented_on(self.before(withdrawn, 2, self.due + 10))
        elif roll < 0.85:
            decided = self.before(withdrawn, 10, 60)
            steps = [*self.opening(decided), self.defer(decided, self.after(withdrawn, 10, 90))]
        else:
            decided = self.before(withdrawn, 10, 120)
            steps = [*self.opening(decided), self.reject(decided)]
        return [*steps, Step(withdrawn, "withdraw", reason)]


def weekday_on_or_before(day: dt.date) -> dt.date:
    """Saturday and Sunday move back to Friday: staff and clients work on weekdays."""
    return day - dt.timedelta(days=max(0, day.weekday() - 4))


# --- What clients say ---------------------------------------------------------------
# Staff record the answer as given: Italian clients often answer in Italian.

# Reasons that fit any recommendation, and reasons that only fit technical changes
# (categories in TECHNICAL_CATEGORIES), by language.
TECHNICAL_CATEGORIES = frozenset({"endpoint", "patching", "network", "email", "identity", "backup"})

DEFER_REASONS = {
    "en": {
        "any": (
            "This year's IT budget is already committed; the owner will include it in next year's.",
            "We are moving office soon and would rather do this once, in the new premises.",
            "The person who would coordinate this is on leave this quarter.",
            "Agreed in principle, but the board must approve the spend at its next meeting.",
        ),
        "technical": (
            "Our busy season is starting; no changes to staff computers until it is over.",
            "Waiting for the Microsoft 365 Business Premium upgrade that is already planned.",
            "The software vendor must confirm compatibility first; we have asked and are waiting.",
            "It will be covered by the hardware refresh planned for next quarter.",
        ),
    },
    "it": {
        "any": (
            "Il budget IT di quest'anno è già impegnato; lo inseriamo nel prossimo esercizio.",
            "Siamo nel periodo di massimo carico di lavoro: rimandiamo a dopo la stagione.",
            "Trasloco previsto nei prossimi mesi: preferiamo farlo nella nuova sede.",
        ),
        "technical": (
            "Prima dobbiamo sentire il fornitore del gestionale per la compatibilità.",
            "Lo facciamo insieme al rinnovo dei PC previsto per il prossimo trimestre.",
            "In attesa della migrazione a Microsoft 365 Business Premium già pianificata.",
        ),
    },
}

REJECT_REASONS = {
    "en": {
        "any": (
            "The cost is not justified for a business of our size; the owner accepts the risk.",
            "The owner considers the risk low in our situation and accepts it.",
            "Nobody has time for this at the moment; management prefers to accept the risk.",
        ),
        "technical": (
            "Not compatible with software we depend on, and there is no alternative today.",
            "Too disruptive for staff at the moment; management prefers to accept the risk.",
        ),
    },
    "it": {
        "any": (
            "Costo eccessivo per le nostre dimensioni; il titolare accetta il rischio.",
            "Il titolare ritiene il rischio basso per la nostra realtà e lo accetta.",
        ),
        "technical": (
            "Non compatibile con il gestionale in uso e al momento non ci sono alternative.",
            "Troppo impattante sull'operatività quotidiana; preferiamo accettare il rischio.",
        ),
    },
}

# Reasons that only make sense for one recommendation; used when present.
SPECIFIC_REASONS: dict[str, dict[str, tuple[str, ...]]] = {
    "smbv1-disable": {
        "defer": (
            "The leased copier scans to a shared folder over SMBv1; we switch it off "
            "when the new copier arrives at the end of the lease.",
        ),
        "reject": (
            "The imaging software reaches its share over SMBv1 and the vendor has no "
            "update; we accept the risk on that one server.",
        ),
    },
    "no-local-admin": {
        "defer": (
            "Designers need admin rights for plug-in updates; revisit once the software "
            "is deployed through the Company Portal.",
        ),
        "reject": ("The partners want to keep admin rights on their own laptops.",),
    },
    "eol-windows-10": {
        "defer": (
            "Replacement PCs are budgeted for next quarter; the remaining machines are "
            "enrolled in ESU until then.",
        ),
    },
    "backup-immutable-offsite": {
        "defer": ("Waiting for the cloud storage quote to be approved by the owner.",),
        "reject": ("The owner considers the weekly rotated USB disk sufficient.",),
    },
    "phishing-simulation": {
        "reject": (
            "The partners do not want fake e-mails sent to staff; the training alone "
            "is enough for them.",
        ),
    },
    "security-awareness-training": {
        "defer": ("We start after the new hires join in September.",),
    },
    "mdm-mobile-devices": {
        "reject": (
            "Staff refuse any management of their personal phones and we will not buy "
            "company phones.",
        ),
        "defer": ("We will enrol phones when the current mobile contract is renewed.",),
    },
    "email-dmarc-reject": {
        "defer": (
            "Newsletters still go out from a platform we cannot authenticate; we move "
            "to p=reject after switching provider.",
        ),
    },
    "external-pentest": {
        "reject": (
            "Neither our customers nor the insurer ask for it; the cost is not "
            "justified this year.",
        ),
    },
    "central-logging": {
        "reject": ("A SIEM subscription is not justified for an office of this size.",),
    },
    "application-allowlisting": {
        "reject": ("Too restrictive for the way the office works; we accept the risk.",),
    },
    "m365-conditional-access-baseline": {
        "defer": ("Needs Business Premium licences; the upgrade is planned at the renewal.",),
    },
    "backup-m365-saas": {
        "reject": ("We rely on Microsoft's own retention; the owner accepts the risk.",),
    },
    "mfa-remote-access": {
        "defer": ("Two partners use very old phones; we will order hardware tokens first.",),
    },
    "incident-tabletop": {
        "defer": ("The owner wants to do it together with the insurance renewal meeting.",),
    },
    "firewall-firmware": {
        "defer": ("The update needs downtime; the next planned shutdown is over the holidays.",),
    },
    "eol-server-2012": {
        "defer": ("The practice-management vendor certifies the new server version in spring.",),
    },
    "rdp-not-exposed": {
        "defer": (
            "The accounting vendor still connects over RDP until their new remote "
            "support tool is installed next month.",
        ),
    },
    "wifi-segmentation": {
        "defer": (
            "The access points must be replaced first; new ones are in next quarter's budget.",
        ),
    },
    "winre-kb5034441": {
        "reject": (
            "The affected laptops are replaced within the year; resizing their recovery "
            "partitions is not worth the effort.",
        ),
    },
}

ACCEPT_REMARKS = (
    "",
    "",
    "Approved by the owner; schedule it with the office manager.",
    "Approved within the quote sent last week.",
    "Go ahead, but avoid month-end.",
)

CHANGE_OF_MIND = (
    "After the cyber insurance renewal questionnaire asked about it, the owner approved it.",
    "A supplier of ours was hit by ransomware; we want this done now.",
    "Budget released after the half-year review.",
)

WITHDRAW_REASONS = (
    "Superseded by a broader recommendation presented at the QBR.",
    "No longer applicable: the service was moved to the cloud.",
    "Duplicate of an item already tracked for this client.",
    "The device concerned has been decommissioned.",
    "Replaced by a revised recommendation with a corrected scope.",
)

WORK_NOTES = (
    "Ticket opened and scheduled with the office manager.",
    "Pilot on two machines first, then everyone.",
    "Change scheduled for the evening maintenance window.",
    "Waiting for the office manager to confirm a date for the visit.",
)

DONE_NOTES = (
    "Policy deployed to every device through Intune.",
    "Completed during the evening maintenance window.",
    "Done on site; staff briefed at the end of the day.",
    "Configured and documented in the client's runbook.",
)

DRIFT_REASONS = (
    "Two laptops re-imaged by the hardware vendor reported without the setting.",
    "A new workstation joined without the policy applied.",
)

# How the final statuses are spread, by severity: critical advice is mostly taken up,
# low-severity advice is deferred, rejected or ignored more often.
STATUS_WEIGHTS: dict[str, dict[Status, int]] = {
    "critical": {
        Status.DRAFT: 3,
        Status.AWAITING_RESPONSE: 10,
        Status.ACCEPTED: 13,
        Status.IN_PROGRESS: 11,
        Status.DEFERRED: 6,
        Status.REJECTED: 3,
        Status.IGNORED: 2,
        Status.IMPLEMENTED: 12,
        Status.VERIFIED: 36,
        Status.WITHDRAWN: 4,
    },
    "high": {
        Status.DRAFT: 5,
        Status.AWAITING_RESPONSE: 10,
        Status.ACCEPTED: 12,
        Status.IN_PROGRESS: 9,
        Status.DEFERRED: 9,
        Status.REJECTED: 7,
        Status.IGNORED: 4,
        Status.IMPLEMENTED: 12,
        Status.VERIFIED: 27,
        Status.WITHDRAWN: 5,
    },
    "medium": {
        Status.DRAFT: 6,
        Status.AWAITING_RESPONSE: 11,
        Status.ACCEPTED: 10,
        Status.IN_PROGRESS: 6,
        Status.DEFERRED: 11,
        Status.REJECTED: 11,
        Status.IGNORED: 6,
        Status.IMPLEMENTED: 12,
        Status.VERIFIED: 21,
        Status.WITHDRAWN: 6,
    },
    "low": {
        Status.DRAFT: 7,
        Status.AWAITING_RESPONSE: 11,
        Status.ACCEPTED: 8,
        Status.IN_PROGRESS: 4,
        Status.DEFERRED: 13,
        Status.REJECTED: 16,
        Status.IGNORED: 10,
        Status.IMPLEMENTED: 10,
        Status.VERIFIED: 14,
        Status.WITHDRAWN: 7,
    },
}
