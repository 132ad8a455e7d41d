"""The shipped security catalog: well-formed references, usable custom fields, and a
loader that goes through the service and never touches what already exists."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from catalog.choices import Category, Framework, Severity
from catalog.data import catalog_entries, catalog_load
from catalog.fields import clean_definitions, clean_values
from catalog.models import Template, TemplateVersion

CIS_ID = re.compile(r"^(?P<control>\d{1,2})\.(?P<safeguard>\d{1,2})$")
# CSF 2.0 categories by function; a subcategory is e.g. PR.AA-01.
CSF_CATEGORIES = {
    "GV": {"OC", "RM", "RR", "PO", "OV", "SC"},
    "ID": {"AM", "RA", "IM"},
    "PR": {"AA", "AT", "DS", "PS", "IR"},
    "DE": {"CM", "AE"},
    "RS": {"MA", "AN", "CO", "MI"},
    "RC": {"RP", "CO"},
}
CSF_ID = re.compile(r"^(?P<function>[A-Z]{2})\.(?P<category>[A-Z]{2})-(?P<number>\d{2})$")

MUST_COVER = {
    "mfa-admin-accounts",
    "mfa-remote-access",
    "m365-block-legacy-auth",
    "email-dmarc-reject",
    "email-spf-dkim",
    "backup-immutable-offsite",
    "backup-restore-test",
    "edr-all-endpoints",
    "windows-laps",
    "bitlocker-encryption",
    "patch-os-14-days",
    "smbv1-disable",
    "no-local-admin",
    "security-awareness-training",
    "phishing-simulation",
    "firewall-firmware",
    "password-manager",
    "m365-conditional-access-baseline",
    "email-filtering-sandbox",
    "office-macro-block",
    "rdp-not-exposed",
    "asset-inventory",
    "vulnerability-scanning",
    "central-logging",
    "incident-response-plan",
    "vendor-remote-access",
    "wifi-segmentation",
    "eol-windows-10",
    "admin-account-separation",
    "m365-audit-log",
    "mdm-mobile-devices",
}


def test_the_catalog_has_at_least_45_distinct_recommendations_covering_the_essentials():
    entries = catalog_entries()
    keys = [e.key for e in entries]
    assert len(entries) >= 45
    assert len(set(keys)) == len(keys)
    assert len({e.title for e in entries}) == len(entries)
    assert set(keys) >= MUST_COVER, MUST_COVER - set(keys)
    assert {e.category for e in entries} == set(Category.values)
    assert {e.severity for e in entries} == set(Severity.values)


@pytest.mark.parametrize("entry", catalog_entries(), ids=lambda e: e.key)
def test_every_entry_cites_well_formed_cis_v8_and_nist_csf_2_ids(entry):
    assert entry.cis and entry.csf
    for ref in entry.cis:
        match = CIS_ID.match(ref)
        assert match, ref
        assert 1 <= int(match["control"]) <= 18 and int(match["safeguard"]) >= 1, ref
    for ref in entry.csf:
        match = CSF_ID.match(ref)
        assert match, ref
        assert match["category"] in CSF_CATEGORIES.get(match["function"], set()), ref
        assert int(match["number"]) >= 1, ref
    frameworks = {r["framework"] for r in entry.control_refs}
    assert frameworks == {Framework.CIS_V8, Framework.NIST_CSF_2}


@pytest.mark.parametrize("entry", catalog_entries(), ids=lambda e: e.key)
def test_every_entry_reads_as_concrete_advice(entry):
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", entry.body) if s]
    assert 2 <= len(sentences) <= 4, entry.body
    assert len(entry.risk_if_ignored) > 40
    assert entry.verification_rule
    assert entry.tags and all(t == t.lower() for t in entry.tags)


@pytest.mark.parametrize("entry", catalog_entries(), ids=lambda e: e.key)
def test_every_custom_field_is_valid_and_required_ones_have_demo_values(entry):
    definitions = clean_definitions(list(entry.custom_fields))
    assert set(entry.demo_values) <= {d["key"] for d in definitions}
    required = [d["key"] for d in definitions if d["required"]]
    assert all(entry.demo_values.get(key) for key in required), entry.key
    base = {key: entry.demo_values[key][0] for key in required}
    for key, examples in entry.demo_values.items():
        for example in examples:
            clean_values(definitions, {**base, key: example})


def test_the_catalog_offers_every_kind_of_custom_field():
    kinds = {f["type"] for e in catalog_entries() for f in e.custom_fields}
    assert kinds == {"text", "number", "date", "choice", "boolean"}
    assert any(f["required"] for e in catalog_entries() for f in e.custom_fields)
    assert any(not f["required"] for e in catalog_entries() for f in e.custom_fields)


@pytest.mark.django_db
def test_loading_creates_every_template_with_its_references_through_the_service(now, admin):
    result = catalog_load(now=now, actor=admin)
    assert result.created == [e.key for e in catalog_entries()] and result.skipped == []
    version = TemplateVersion.objects.get(template__key="smbv1-disable")
    assert version.number == 1 and version.created_by == admin
    assert {"framework": "CIS v8", "id": "4.8"} in version.control_refs
    assert {"framework": "NIST CSF 2.0", "id": "PR.PS-01"} in version.control_refs
    assert "SMB1Protocol" in version.verification_rule
    assert Template.objects.get(key="mfa-admin-accounts").default_severity == "critical"
    assert version.title_it == "Disattivare SMBv1 su tutti i dispositivi Windows"
    assert not TemplateVersion.objects.filter(title_it="").exists()


@pytest.mark.django_db
def test_loading_again_adds_nothing_and_keeps_an_existing_template_untouched(now, template_mfa):
    first = catalog_load(now=now)
    assert "mfa-remote-access" in first.skipped
    # The admin's own version of that key is kept, not replaced by the shipped text.
    assert TemplateVersion.objects.get(template__key="mfa-remote-access").body.startswith(
        "Enforce multi-factor authentication on VPN"
    )
    versions = TemplateVersion.objects.count()
    second = catalog_load(now=now)
    assert second.created == []
    assert len(second.skipped) == len(catalog_entries())
    assert TemplateVersion.objects.count() == versions


@pytest.mark.django_db
def test_the_catalog_load_command_reports_what_it_added_then_nothing():
    out = io.StringIO()
    call_command("catalog_load", stdout=out)
    assert f"Catalog: {len(catalog_entries())} template(s) added, 0 already present." in (
        out.getvalue()
    )
    out = io.StringIO()
    call_command("catalog_load", stdout=out)
    assert f"0 template(s) added, {len(catalog_entries())} already present." in out.getvalue()


@pytest.mark.parametrize("entry", catalog_entries(), ids=lambda e: e.key)
def test_every_entry_speaks_italian_as_well(entry):
    assert entry.title_it and entry.body_it and entry.risk_if_ignored_it
    assert entry.title_it != entry.title and entry.body_it != entry.body
    # Typographic slips a translation tends to leave behind.
    for text in (entry.title_it, entry.body_it, entry.risk_if_ignored_it):
        assert "  " not in text and text == text.strip()
    assert not entry.title_it.endswith(".")
