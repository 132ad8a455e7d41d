"""Writes for the catalog: templates and their versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from accounts.models import User
from accounts.permissions import Capability, require
from catalog.choices import Category, Framework, Severity
from catalog.fields import clean_definitions
from catalog.models import Template, TemplateVersion


def clean_control_refs(refs: Any) -> list[dict[str, str]]:
    """Normalise control references, e.g. ``{"framework": "CIS v8", "id": "6.5"}``."""
    if not refs:
        return []
    if not isinstance(refs, list):
        raise ValidationError({"control_refs": ["Control references must be a list."]})
    cleaned = []
    for index, ref in enumerate(refs, start=1):
        if (
            not isinstance(ref, dict)
            or not ref.get("id")
            or ref.get("framework") not in Framework.values
        ):
            raise ValidationError(
                {
                    "control_refs": [
                        f"Reference {index}: needs a framework "
                        f"({', '.join(Framework.values)}) and an id."
                    ]
                }
            )
        cleaned.append({"framework": ref["framework"], "id": str(ref["id"]).strip()})
    return cleaned


def template_create(
    *,
    key: str,
    title: str,
    body: str,
    category: str,
    default_severity: str,
    now: dt.datetime,
    risk_if_ignored: str = "",
    control_refs: list[dict[str, str]] | None = None,
    verification_rule: str = "",
    custom_fields: list[dict[str, Any]] | None = None,
    tags: list[str] | None = None,
    actor: User | None = None,
) -> TemplateVersion:
    """Create a catalog entry and its first version; return the version (admins;
    ``actor=None`` is the shipped catalog being loaded)."""
    require(actor, Capability.MANAGE_CATALOG)
    errors: dict[str, list[str]] = {}
    if category not in Category.values:
        errors["category"] = [f"Category must be one of {', '.join(Category.values)}."]
    if default_severity not in Severity.values:
        errors["default_severity"] = [f"Severity must be one of {', '.join(Severity.values)}."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        template = Template(
            key=key,
            category=category,
            default_severity=default_severity,
            tags=sorted({t.strip().lower() for t in (tags or []) if t.strip()}),
            created_at=now,
        )
        template.full_clean()
        template.save()
        return _version_create(
            template=template,
            number=1,
            title=title,
            body=body,
            risk_if_ignored=risk_if_ignored,
            control_refs=control_refs,
            verification_rule=verification_rule,
            custom_fields=custom_fields,
            now=now,
            actor=actor,
        )


def template_revise(
    *,
    template: Template,
    now: dt.datetime,
    title: str,
    body: str,
    risk_if_ignored: str = "",
    control_refs: list[dict[str, str]] | None = None,
    verification_rule: str = "",
    custom_fields: list[dict[str, Any]] | None = None,
    actor: User | None = None,
) -> TemplateVersion:
    """Add a new version; recommendations made from older versions keep their text."""
    require(actor, Capability.MANAGE_CATALOG)
    with transaction.atomic():
        locked = Template.objects.select_for_update().get(pk=template.pk)
        last = locked.versions.aggregate(n=Max("number"))["n"] or 0
        return _version_create(
            template=locked,
            number=last + 1,
            title=title,
            body=body,
            risk_if_ignored=risk_if_ignored,
            control_refs=control_refs,
            verification_rule=verification_rule,
            custom_fields=custom_fields,
            now=now,
            actor=actor,
        )


def _version_create(
    *, template: Template, number: int, now: dt.datetime, actor: User | None, **fields: Any
) -> TemplateVersion:
    version = TemplateVersion(
        template=template,
        number=number,
        title=fields["title"].strip(),
        body=fields["body"].strip(),
        risk_if_ignored=(fields["risk_if_ignored"] or "").strip(),
        control_refs=clean_control_refs(fields["control_refs"]),
        verification_rule=(fields["verification_rule"] or "").strip(),
        custom_fields=_definitions(fields["custom_fields"]),
        created_at=now,
        created_by=actor,
    )
    version.full_clean(exclude=["template"])
    version.save()
    return version


def _definitions(raw: Any) -> list[dict[str, Any]]:
    try:
        return clean_definitions(raw)
    except ValidationError as exc:
        raise ValidationError({"custom_fields": exc.messages}) from None
