"""Small presentation helpers of the staff UI: badges, hashes, ledger events."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django import template
from django.utils import formats, timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from catalog.choices import Severity
from followup.choices import OutboxStatus
from ledger.models import Event
from recommendations.choices import Channel, Decision, Status
from recommendations.models import Recommendation

register = template.Library()

EVENT_LABELS = {
    "client.created": _("Client created"),
    "contact.added": _("Contact added"),
    "recommendation.created": _("Created"),
    "recommendation.present": _("Presented"),
    "recommendation.accept": _("Accepted"),
    "recommendation.defer": _("Deferred"),
    "recommendation.reject": _("Rejected"),
    "recommendation.start_work": _("Work started"),
    "recommendation.mark_implemented": _("Marked implemented"),
    "recommendation.mark_verified": _("Verified"),
    "recommendation.drift": _("Drift: evidence lost"),
    "recommendation.withdraw": _("Withdrawn"),
    "recommendation.expire_deferral": _("Deferral expired"),
    "recommendation.expire_planned_date": _("Planned date passed"),
    "recommendation.mark_ignored": _("Marked ignored"),
    "recommendation.edited": _("Draft edited"),
    "recommendation.owner_changed": _("Follow-up owner changed"),
    "recommendation.contact_changed": _("Point of contact changed"),
}

# The data fields of an event worth showing in a timeline, in this order; the rest
# (hashes of the text, raw ids) stay in the evidence pack.
EVENT_FIELDS = [
    ("responder_name", _("Answered by")),
    ("channel", _("Channel")),
    ("recorded_by", _("Recorded by")),
    ("attendees", _("Attendees")),
    ("planned_for", _("Planned for")),
    ("deferred_until", _("Deferred until")),
    ("justification", _("Justification")),
    ("reason", _("Reason")),
    ("note", _("Note")),
    ("evidence_ref", _("Evidence")),
    ("response_due_at", _("Response due")),
    ("recipients", _("Sent to")),
    ("severity", _("Severity")),
    ("owner", _("Owner")),
    ("text_sha256", _("Text SHA-256")),
    # recommendation.edited, .owner_changed, .contact_changed
    ("changed", _("Changed")),
    ("old", _("Before")),
    ("new", _("After")),
]


def _label(choices: type, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


# A badge depends only on its value and the language: a page of fifty rows draws the
# same dozen badges again and again, so each is built once per process and language.
@functools.lru_cache(maxsize=512)
def _badge(kind: str, value: str, language: str | None) -> str:
    choices = Status if kind == "status" else Severity
    return format_html('<span class="badge {}-{}">{}</span>', kind, value, _label(choices, value))


@register.simple_tag
def status_badge(status: str) -> str:
    return _badge("status", str(status), translation.get_language())


@register.simple_tag
def severity_badge(severity: str) -> str:
    return _badge("severity", str(severity), translation.get_language())


@register.simple_tag
def outbox_badge(status: str) -> str:
    return format_html(
        '<span class="badge outbox-{}">{}</span>', status, _label(OutboxStatus, status)
    )


@register.filter
def status_label(status: str) -> str:
    return _label(Status, status)


@register.filter
def decision_label(decision: str) -> str:
    return str(
        {"accepted": _("Accepted"), "deferred": _("Deferred"), "rejected": _("Rejected")}.get(
            decision, _label(Decision, decision)
        )
    )


@register.filter
def channel_label(channel: str) -> str:
    return _label(Channel, channel)


@register.filter
def short_hash(value: str, length: int = 12) -> str:
    return (value or "")[: int(length)]


@register.filter
def event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, kind))


@register.filter
def event_transition(event: Event) -> str:
    """'Draft → Awaiting response' when the event moved the status, else ''."""
    source, target = event.data.get("from"), event.data.get("to")
    if not source or not target or source == target:
        return ""
    return f"{_label(Status, source)} → {_label(Status, target)}"


def _show(key: str, value: Any) -> str:
    if key == "channel":
        return _label(Channel, value)
    if key == "severity":
        return _label(Severity, value)
    if key == "text_sha256":
        return f"{value[:16]}…"
    if key in ("recipients", "changed") and isinstance(value, list):
        return ", ".join(value)
    if key in ("planned_for", "deferred_until"):
        try:
            return formats.date_format(dt.date.fromisoformat(value), "j M Y")
        except (TypeError, ValueError):
            return str(value)
    if key == "response_due_at":
        try:
            moment = dt.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return str(value)
        return formats.date_format(timezone.localtime(moment), "j M Y H:i")
    return str(value)


@register.filter
def event_details(event: Event) -> list[tuple[str, str]]:
    """The key data fields of an event as (label, text) pairs, empty ones left out."""
    data = event.data or {}
    return [
        (label, _show(key, data[key]))
        for key, label in EVENT_FIELDS
        if data.get(key) not in (None, "", [])
    ]


@register.filter
def field_value(value: Any) -> str:
    """A custom field value as a person reads it."""
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value is None or value == "":
        return "—"
    return str(value)


@register.simple_tag
def overdue_since(rec: Recommendation) -> dt.date | dt.datetime | None:
    """What an overdue item is late against: the response deadline or the planned date."""
    if rec.status == Status.AWAITING_RESPONSE:
        return rec.response_due_at
    return rec.planned_for


@register.simple_tag
def days_late(rec: Recommendation, now: dt.datetime) -> int:
    """Whole days past the response deadline or the planned date (0 when not late)."""
    if rec.status == Status.AWAITING_RESPONSE and rec.response_due_at:
        return max((now - rec.response_due_at).days, 0)
    if rec.planned_for:
        return max((now.astimezone(rec.client.tz).date() - rec.planned_for).days, 0)
    return 0


@register.simple_tag
def is_overdue(rec: Recommendation, now: dt.datetime) -> bool:
    return rec.is_overdue(now)


@register.simple_tag(takes_context=True)
def nav_current(context: template.Context, *names: str) -> str:
    """' aria-current="page"' when the current view is one of ``names``."""
    match = getattr(context.get("request"), "resolver_match", None)
    if match is not None and match.url_name in names:
        return format_html(' aria-current="{}"', "page")
    return ""
