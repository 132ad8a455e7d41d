"""``{% recommendation_devices rec %}``: the devices behind a recommendation's
verification, for the recommendation page (which the web app renders)."""

from __future__ import annotations

from typing import Any

from django import template

from recommendations.models import Recommendation
from verification.selectors import compliance_of

register = template.Library()


@register.inclusion_tag("verification/_recommendation_devices.html")
def recommendation_devices(rec: Recommendation) -> dict[str, Any]:
    if not rec.verification_rule:
        return {"rec": rec, "summary": None, "devices": []}
    summary, devices = compliance_of(rec)
    return {"rec": rec, "summary": summary, "devices": list(devices)}
