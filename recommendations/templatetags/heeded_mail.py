"""Template filters of the e-mails (``{% load heeded_mail %}``)."""

from __future__ import annotations

import datetime as dt

from django import template

from recommendations import mail

register = template.Library()


@register.filter
def long_date(value: dt.date | dt.datetime | None) -> str:
    """``value`` as a day in the active language: "9 March 2026", "9 marzo 2026"."""
    return mail.long_date(value) if value else ""
