"""Template helpers of the administration pages."""

from __future__ import annotations

from django import template

from accounts.permissions import Capability, allows

register = template.Library()


@register.filter
def may(user: object, capability: str) -> bool:
    """``{% if user|may:"manage_clients" %}``: the role table's answer, so a page shows
    a button exactly when the service behind it would accept the user."""
    return allows(user, Capability(capability))
