from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pick(table: dict[str, str], key: str) -> str:
    """``{{ t|pick:"severity_high" }}``: a word of the client's language by computed key."""
    return table.get(key, key)
