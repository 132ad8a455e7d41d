"""The words of the client pages for a status, a decision, a channel and a severity.

Clients read a gentler wording than staff ("Awaiting your answer" rather than
"Awaiting response"), so these are their own translatable strings; the page is
rendered in the client's language (``answers.views``), and these follow it.
"""

from __future__ import annotations

from django import template
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

register = template.Library()

STATUS: dict[str, Promise] = {
    "awaiting_response": _("Awaiting your answer"),
    "accepted": _("Accepted"),
    "in_progress": _("In progress"),
    "deferred": _("Deferred"),
    "rejected": _("Rejected"),
    "ignored": _("No answer"),
    "implemented": _("Implemented"),
    "verified": _("Verified"),
    "withdrawn": _("Withdrawn"),
}
DECISION: dict[str, Promise] = {
    "accepted": pgettext_lazy("a client's decision", "Accept"),
    "deferred": pgettext_lazy("a client's decision", "Defer"),
    "rejected": pgettext_lazy("a client's decision", "Reject"),
}
CHANNEL: dict[str, Promise] = {
    "signed_link": _("Signed link"),
    "portal": _("Client portal"),
    "email": _("Verified e-mail"),
    "meeting": _("Meeting"),
    "phone": _("Phone"),
    "staff": _("Recorded by staff"),
    "import": _("Imported"),
}
SEVERITY: dict[str, Promise] = {
    "critical": _("Critical"),
    "high": _("High"),
    "medium": _("Medium"),
    "low": _("Low"),
}


@register.filter
def client_status(value: str) -> str:
    return str(STATUS.get(value, value))


@register.filter
def client_decision(value: str) -> str:
    return str(DECISION.get(value, value))


@register.filter
def client_channel(value: str) -> str:
    return str(CHANNEL.get(value, value))


@register.filter
def client_severity(value: str) -> str:
    return str(SEVERITY.get(value, value))
