"""Template tags of the list pages: column headers that sort, links that keep the
filters of the URL (so a list's state is its address, shareable and bookmarkable)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(
    context: template.Context,
    key: str,
    label: str,
    current: str,
    descending: bool,
    param: str = "sort",
    css: str = "",
) -> SafeString:
    """A ``<th>`` whose link sorts the list by ``key`` — the other way round when it
    is already sorted by it — keeping every other parameter of the URL but the page."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else None
    active = key == current
    value = f"-{key}" if active and not descending else key
    if query is not None:
        query[param] = value
        query.pop("page", None)
        href = "?" + query.urlencode()
    else:
        href = f"?{param}={value}"
    if active:
        aria = "descending" if descending else "ascending"
        arrow = " ▼" if descending else " ▲"
        title = _("Sorted %(direction)s; select to reverse") % {
            "direction": _("descending") if descending else _("ascending")
        }
    else:
        aria, arrow, title = "none", "", _("Select to sort by this column")
    return format_html(
        '<th scope="col" class="{}" aria-sort="{}">'
        '<a class="sort-link" href="{}" title="{}">{}{}</a></th>',
        css,
        aria,
        href,
        title,
        label,
        arrow,
    )
