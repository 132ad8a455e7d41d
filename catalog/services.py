"""Writes for the catalog: templates and their versions.

A version is never changed once written: revising a template adds the next version,
and a recommendation keeps a copy of the text it was made from (``recommendations``),
so nothing a client was shown moves when the catalog does. Every check runs before
anything is written, and a refusal names each field at fault at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import Capability, require
from catalog.choices import Category, Framework, Severity
from catalog.fields import clean_definitions
from catalog.models import Template, TemplateVersion

# Per field, messages or ValidationErrors (which keep their code for the API).
Errors = dict[str, list[Any]]


def clean_control_refs(refs: Any) -> list[dict[str, str]]:
    """Normalise control references, e.g. ``{"framework": "CIS v8", "id": "6.5"}``."""
    if not refs:
        return []
    if not isinstance(refs, list):
        raise ValidationError({"control_refs": [_("Control references must be a list.")]})
    cleaned = []
    for index, ref in enumerate(refs, start=1):
        if (
            not isinstance(ref, dict)
            or not str(ref.get("id") or "").strip()
            or ref.get("framework") not in Framework.values
        ):
            raise ValidationError(
                {
                    "control_refs": [
                        _("Reference %(index)s: needs a framework (%(frameworks)s) and an id.")
                        % {"index": index, "frameworks": ", ".join(Framework.values)}
                    ]
                }
            )
        cleaned.append({"framework": ref["framework"], "id": str(ref["id"]).strip()})
    return cleaned


def clean_tags(tags: Any) -> list[str]:
    """Tags as stored on a template: lower case, trimmed, unique, sorted."""
    return sorted({str(t).strip().lower() for t in (tags or []) if str(t).strip()})


def template_create(
    *,
    key: str,
    title: str,
    body: str,
    category: str,
    default_severity: str,
    now: dt.datetime,
    risk_if_ignored: str = "",
    title_it: str = "",
    body_it: str = "",
    risk_if_ignored_it: str = "",
    control_refs: list[dict[str, str]] | None = None,
    verification_rule: str = "",
    custom_fields: list[dict[str, Any]] | None = None,
    tags: list[str] | None = None,
    actor: User | None = None,
) -> TemplateVersion:
    """Create a catalog entry and its first version; return the version (admins and
    account managers; ``actor=None`` is the shipped catalog being loaded)."""
    require(actor, Capability.MANAGE_CATALOG)
    template = Template(
        key=(key or "").strip(),
        category=category,
        default_severity=default_severity,
        tags=clean_tags(tags),
        created_at=now,
    )
    errors = _template_errors(template)
    try:
        template.full_clean()
    except ValidationError as exc:
        for field, field_errors in exc.error_dict.items():
            errors.setdefault(field, field_errors)
    version, version_errors = _version_build(
        number=1,
        now=now,
        actor=actor,
        fields={
            "title": title,
            "body": body,
            "risk_if_ignored": risk_if_ignored,
            "title_it": title_it,
            "body_it": body_it,
            "risk_if_ignored_it": risk_if_ignored_it,
            "control_refs": control_refs,
            "verification_rule": verification_rule,
            "custom_fields": custom_fields,
        },
    )
    errors.update(version_errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        template.save()
        version.template = template
        version.save()
    return version


def template_revise(
    *,
    template: Template,
    now: dt.datetime,
    title: str,
    body: str,
    risk_if_ignored: str = "",
    title_it: str = "",
    body_it: str = "",
    risk_if_ignored_it: str = "",
    control_refs: list[dict[str, str]] | None = None,
    verification_rule: str = "",
    custom_fields: list[dict[str, Any]] | None = None,
    tags: list[str] | None = None,
    default_severity: str | None = None,
    category: str | None = None,
    actor: User | None = None,
) -> TemplateVersion:
    """Add the next version; recommendations made from older versions keep their text.

    ``tags``, ``default_severity`` and ``category`` belong to the template, not to a
    version: when given they change what new recommendations start with, never an
    existing one (each keeps its own copy).
    """
    require(actor, Capability.MANAGE_CATALOG)
    version, errors = _version_build(
        number=0,
        now=now,
        actor=actor,
        fields={
            "title": title,
            "body": body,
            "risk_if_ignored": risk_if_ignored,
            "title_it": title_it,
            "body_it": body_it,
            "risk_if_ignored_it": risk_if_ignored_it,
            "control_refs": control_refs,
            "verification_rule": verification_rule,
            "custom_fields": custom_fields,
        },
    )
    with transaction.atomic():
        locked = Template.objects.select_for_update().get(pk=template.pk)
        if tags is not None:
            locked.tags = clean_tags(tags)
        if default_severity is not None:
            locked.default_severity = default_severity
        if category is not None:
            locked.category = category
        errors.update(_template_errors(locked))
        if errors:
            raise ValidationError(errors)
        locked.save(update_fields=["tags", "default_severity", "category"])
        version.template = locked
        version.number = (locked.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version.save()
    template.refresh_from_db()
    return version


def _template_errors(template: Template) -> Errors:
    errors: Errors = {}
    if template.category not in Category.values:
        errors["category"] = [
            _("Category must be one of %(values)s.") % {"values": ", ".join(Category.values)}
        ]
    if template.default_severity not in Severity.values:
        errors["default_severity"] = [
            _("Severity must be one of %(values)s.") % {"values": ", ".join(Severity.values)}
        ]
    return errors


def _version_build(
    *, number: int, now: dt.datetime, actor: User | None, fields: dict[str, Any]
) -> tuple[TemplateVersion, Errors]:
    """An unsaved version and every error in its fields (empty when it may be saved)."""
    text = {
        name: (fields[name] or "").strip()
        for name in (
            "title",
            "body",
            "risk_if_ignored",
            "title_it",
            "body_it",
            "risk_if_ignored_it",
        )
    }
    errors = _text_errors(text)
    try:
        control_refs = clean_control_refs(fields["control_refs"])
    except ValidationError as exc:
        errors.update(exc.error_dict)
        control_refs = []
    try:
        definitions = clean_definitions(fields["custom_fields"])
    except ValidationError as exc:
        errors["custom_fields"] = exc.messages
        definitions = []
    version = TemplateVersion(
        number=number,
        **text,
        control_refs=control_refs,
        verification_rule=(fields["verification_rule"] or "").strip(),
        custom_fields=definitions,
        created_at=now,
        created_by=actor,
    )
    try:
        version.full_clean(exclude=["template", "number", *errors])
    except ValidationError as exc:
        for field, field_errors in exc.error_dict.items():
            errors.setdefault(field, field_errors)
    return version, errors


def _text_errors(text: dict[str, str]) -> Errors:
    """The client text: English always, Italian all or nothing, risk in both or neither."""
    errors: Errors = {}
    if not text["title"]:
        errors["title"] = [_("A template needs a title in English.")]
    if not text["body"]:
        errors["body"] = [_("A template needs a text in English.")]
    if any(text[f"{name}_it"] for name in ("title", "body", "risk_if_ignored")):
        if not text["title_it"]:
            errors["title_it"] = [_("The Italian text needs a title too.")]
        if not text["body_it"]:
            errors["body_it"] = [_("The Italian title needs a text too.")]
        if text["risk_if_ignored"] and not text["risk_if_ignored_it"]:
            errors["risk_if_ignored_it"] = [
                _("Say the risk in Italian too, or the Italian client reads none.")
            ]
        if text["risk_if_ignored_it"] and not text["risk_if_ignored"]:
            errors["risk_if_ignored"] = [
                _("Say the risk in English too, or the English client reads none.")
            ]
    return errors
