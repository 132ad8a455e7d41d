"""The security catalog that ships with Heeded: recommendations an MSP commonly gives
small businesses, each with CIS Controls v8 and NIST CSF 2.0 references, and what the
client reads (title, text, risk) in English and Italian.

The entries live in ``security_catalog.json`` (data, not code, so they can be reviewed
and extended without touching Python). ``catalog_load`` writes them through
``catalog.services.template_create`` and skips every key that already exists, so it
can run on every start and never touches a template an admin has revised.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from accounts.models import User
from catalog.choices import Framework
from catalog.models import Template
from catalog.services import template_create

CATALOG_FILE = Path(__file__).with_name("security_catalog.json")


@dataclass(frozen=True)
class CatalogEntry:
    """One shipped recommendation, as written in the JSON file."""

    key: str
    title: str
    category: str
    severity: str
    cis: tuple[str, ...]
    csf: tuple[str, ...]
    body: str
    risk_if_ignored: str
    verification_rule: str
    # What the client reads, in Italian (title, body, risk; see CLIENT_TEXT_FIELDS).
    title_it: str
    body_it: str
    risk_if_ignored_it: str
    tags: tuple[str, ...]
    custom_fields: tuple[dict[str, Any], ...]
    # Example values the demo generator picks from; not part of the template.
    demo_values: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def control_refs(self) -> list[dict[str, str]]:
        return [{"framework": Framework.CIS_V8, "id": i} for i in self.cis] + [
            {"framework": Framework.NIST_CSF_2, "id": i} for i in self.csf
        ]


@cache
def catalog_entries() -> tuple[CatalogEntry, ...]:
    """The shipped entries, in file order."""
    raw = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    return tuple(
        CatalogEntry(
            key=item["key"],
            title=item["title"],
            category=item["category"],
            severity=item["severity"],
            cis=tuple(item["cis"]),
            csf=tuple(item["csf"]),
            body=item["body"],
            risk_if_ignored=item["risk_if_ignored"],
            verification_rule=item.get("verification_rule", ""),
            title_it=item["title_it"],
            body_it=item["body_it"],
            risk_if_ignored_it=item["risk_if_ignored_it"],
            tags=tuple(item.get("tags", ())),
            custom_fields=tuple(item.get("custom_fields", ())),
            demo_values=dict(item.get("demo_values", {})),
        )
        for item in raw
    )


@dataclass(frozen=True)
class CatalogLoadResult:
    created: list[str]
    skipped: list[str]


def catalog_load(*, now: dt.datetime, actor: User | None = None) -> CatalogLoadResult:
    """Create every shipped template whose key does not exist yet; return what was
    created and what was skipped. Existing templates are never revised."""
    existing = set(Template.objects.values_list("key", flat=True))
    created: list[str] = []
    skipped: list[str] = []
    for entry in catalog_entries():
        if entry.key in existing:
            skipped.append(entry.key)
            continue
        template_create(
            key=entry.key,
            title=entry.title,
            body=entry.body,
            category=entry.category,
            default_severity=entry.severity,
            risk_if_ignored=entry.risk_if_ignored,
            title_it=entry.title_it,
            body_it=entry.body_it,
            risk_if_ignored_it=entry.risk_if_ignored_it,
            control_refs=entry.control_refs,
            verification_rule=entry.verification_rule,
            custom_fields=[dict(f) for f in entry.custom_fields],
            tags=list(entry.tags),
            now=now,
            actor=actor,
        )
        created.append(entry.key)
    return CatalogLoadResult(created=created, skipped=skipped)
