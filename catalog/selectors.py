"""Reads of the catalog. Every staff account reads the whole catalog (it holds no
client data), so the selectors take the user for the same shape as every other
selector and scope nothing; a template that does not exist is a 404."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from accounts.models import User
from catalog.models import Template, TemplateVersion

# The orders a list may be asked for, by the name the URL carries.
SORTS = {
    "key": ("key",),
    "title": ("latest_title", "key"),
    "-updated": ("-latest_at", "key"),
}


def _latest(field: str) -> Subquery:
    return Subquery(
        TemplateVersion.objects.filter(template=OuterRef("pk"))
        .order_by("-number")
        .values(field)[:1]
    )


def template_list_for(
    user: User | AnonymousUser,
    *,
    search: str | None = None,
    tag: str | None = None,
    severity: str | None = None,
    category: str | None = None,
    without_italian: bool = False,
    include_retired: bool = True,
    sort: str = "key",
) -> QuerySet[Template]:
    """Templates annotated with their latest version (``latest_number``,
    ``latest_title``, ``latest_title_it``, ``latest_at``), in one query however many.

    ``search`` looks in the key, the tags and the latest title in either language;
    ``without_italian`` keeps the templates whose latest version has no Italian text.
    """
    qs = Template.objects.annotate(
        latest_number=_latest("number"),
        latest_title=_latest("title"),
        latest_title_it=_latest("title_it"),
        latest_at=_latest("created_at"),
    )
    if not include_retired:
        qs = qs.filter(is_active=True)
    if search:
        qs = qs.filter(
            Q(key__icontains=search)
            | Q(latest_title__icontains=search)
            | Q(latest_title_it__icontains=search)
            | Q(tags__icontains=search)
        )
    if tag:
        # JSON containment is not portable to SQLite; a quoted match on the stored
        # list is exact for the lower-case tags the service stores.
        qs = qs.filter(tags__icontains=f'"{tag.strip().lower()}"')
    if severity:
        qs = qs.filter(default_severity=severity)
    if category:
        qs = qs.filter(category=category)
    if without_italian:
        qs = qs.filter(latest_title_it="")
    return qs.order_by(*SORTS.get(sort, SORTS["key"]))


def template_get_for(user: User | AnonymousUser, pk: Any) -> Template:
    """The template, or Http404 when there is none with this id."""
    try:
        return Template.objects.get(pk=pk)
    except (Template.DoesNotExist, ValueError, TypeError):
        raise Http404("No such template.") from None


def version_list_for(user: User | AnonymousUser, template: Template) -> QuerySet[TemplateVersion]:
    """Every version of ``template``, newest first, with who wrote it."""
    return template.versions.select_related("created_by").order_by("-number")


def tag_list_for(user: User | AnonymousUser) -> list[tuple[str, int]]:
    """Every tag in the catalog with the number of templates carrying it, by name."""
    counts: dict[str, int] = {}
    for tags in Template.objects.values_list("tags", flat=True):
        for tag in tags:
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items())
