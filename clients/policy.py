"""A client's follow-up terms: how long it has to answer each severity, whether
reminders go out, how the escalation ladder is spaced, when a rejection is reviewed.

``Policy`` is a plain value; the deadline maths in ``recommendations.deadlines`` takes
it as an argument and reads nothing. ``policy_for`` is the one place that reads a
client's override (``ClientPolicy``, its contract tier); callers that loop over
recommendations ``select_related("client__followup_policy")`` so it costs nothing
per row.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from django.core.exceptions import ObjectDoesNotExist

from catalog.choices import Severity

if TYPE_CHECKING:
    from clients.models import Client

RESPONSE_DAYS = {
    Severity.CRITICAL: 7,
    Severity.HIGH: 10,
    Severity.MEDIUM: 14,
    Severity.LOW: 30,
}
REJECTION_REVIEW_DAYS = 365


@dataclasses.dataclass(frozen=True)
class Policy:
    """The follow-up rules that apply to one client."""

    response_days: dict[str, int] = dataclasses.field(
        default_factory=lambda: {str(k): v for k, v in RESPONSE_DAYS.items()}
    )
    business_days: bool = False
    reminders: bool = True
    level2_after_days: int = 3
    level3_after_days: int = 4
    max_deferrals: int = 2
    rejection_review_months: int = 12
    review_at_next_qbr: bool = False
    # Quiet settings: severities whose follow-up notices reach the client's contacts
    # only once a week, on this weekday (0 = Monday) in the client's time zone.
    weekly_severities: tuple[str, ...] = ()
    weekly_weekday: int = 0

    def response_days_for(self, severity: str) -> int:
        """Days a client has to answer a recommendation of ``severity``."""
        return self.response_days.get(str(severity), RESPONSE_DAYS[Severity(severity)])

    def notice_day(self, severity: str, weekday: int) -> bool:
        """Whether a client notice about ``severity`` may go out on ``weekday``."""
        return str(severity) not in self.weekly_severities or weekday == self.weekly_weekday


DEFAULT = Policy()


def policy_for(client: Client | None) -> Policy:
    """The client's policy: its ``ClientPolicy`` override, else the defaults."""
    if client is None:
        return DEFAULT
    try:
        override = client.followup_policy
    except ObjectDoesNotExist:  # no override row
        return DEFAULT
    return override.as_policy()
