"""Writing the catalog: a template's text in English and Italian, revisions that add a
version and never move what a client was shown, refusals that name every field at
fault and store nothing, and who may do it."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.permissions import Msg
from catalog.data import catalog_entries
from catalog.models import Template, TemplateVersion
from catalog.services import template_create, template_revise
from ledger.models import Event
from lib.errors import NotAllowed
from recommendations.models import snapshot_sha256

pytestmark = pytest.mark.django_db

LATER = dt.timedelta(days=40, microseconds=123_456)

ITALIAN = {
    "title_it": "Attivare l'MFA su tutti gli accessi da remoto",
    "body_it": "Richiedere un secondo fattore per VPN, RD Gateway e webmail.",
    "risk_if_ignored_it": "Basta una password rubata per entrare da remoto.",
}


def _stored() -> tuple[int, int]:
    return Template.objects.count(), TemplateVersion.objects.count()


def _fields(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


def test_a_version_holds_its_client_text_in_english_and_italian(admin, now):
    version = template_create(
        key="mfa-remote-access",
        title="Require MFA for all remote access",
        body="Require a second factor for VPN, RD Gateway and webmail.",
        risk_if_ignored="One stolen password is enough to get in remotely.",
        category="identity",
        default_severity="critical",
        now=now,
        actor=admin,
        **ITALIAN,
    )

    italian, english = version.text("it"), version.text("en")
    assert (italian.title, italian.body, italian.risk_if_ignored) == tuple(ITALIAN.values())
    assert not italian.is_fallback and italian.language == "it"
    assert english.title == "Require MFA for all remote access" and not english.is_fallback
    assert version.languages == ["en", "it"]


def test_a_version_without_italian_falls_back_to_english_and_says_so(template_mfa):
    text = template_mfa.text("it")

    assert text.is_fallback
    assert (text.language, text.requested) == ("en", "it")
    assert text.title == template_mfa.title
    assert template_mfa.languages == ["en"]


def test_revising_adds_a_version_and_never_changes_what_was_presented(
    presented, template_mfa, manager, now
):
    shown = (presented.title, presented.body, presented.risk_if_ignored, presented.text_sha256)
    events_before = list(Event.objects.values_list("seq", "hash"))

    v2 = template_revise(
        template=template_mfa.template,
        title="Require phishing-resistant MFA for all remote access",
        body="Use FIDO2 keys or number matching for VPN, RD Gateway and webmail.",
        risk_if_ignored="Push fatigue and SMS interception defeat weak MFA.",
        tags=["mfa", "Remote-Access"],
        default_severity="high",
        now=now + LATER,
        actor=manager,
        **ITALIAN,
    )

    assert (v2.number, v2.template_id) == (2, template_mfa.template_id)
    presented.refresh_from_db()
    assert (
        presented.title,
        presented.body,
        presented.risk_if_ignored,
        presented.text_sha256,
    ) == shown
    assert presented.template_version_id == template_mfa.pk
    assert presented.text_sha256 == snapshot_sha256(
        title=shown[0], body=shown[1], risk_if_ignored=shown[2]
    )
    # Version 1 is untouched and nothing was written to the ledger.
    v1 = TemplateVersion.objects.get(pk=template_mfa.pk)
    assert (v1.title, v1.body, v1.title_it) == (template_mfa.title, template_mfa.body, "")
    assert list(Event.objects.values_list("seq", "hash")) == events_before
    template = Template.objects.get(pk=template_mfa.template_id)
    assert template.tags == ["mfa", "remote-access"] and template.default_severity == "high"
    assert presented.severity == "critical" and presented.tags == ["mfa"]


def test_an_italian_text_needs_a_title_and_a_text_and_the_risk_in_both(admin, now):
    with pytest.raises(ValidationError) as refused:
        template_create(
            key="dmarc-reject",
            title="Move DMARC to p=reject",
            body="Publish DMARC and move it to p=reject.",
            risk_if_ignored="Anyone can send mail as the company.",
            category="email",
            default_severity="high",
            body_it="Pubblicare il DMARC e portarlo a p=reject.",
            now=now,
            actor=admin,
        )

    assert _fields(refused) == {
        "title_it": ["The Italian text needs a title too."],
        "risk_if_ignored_it": ["Say the risk in Italian too, or the Italian client reads none."],
    }
    assert _stored() == (0, 0)


def test_every_bad_field_is_named_at_once_and_nothing_is_stored(admin, now):
    with pytest.raises(ValidationError) as refused:
        template_create(
            key="Not a slug!",
            title="  ",
            body="Keep three copies of the data.",
            category="backup",
            default_severity="urgent",
            title_it="Conservare tre copie dei dati",
            body_it="",
            control_refs=[
                {"framework": "CIS v8", "id": "11.3"},
                {"framework": "ISO 27001", "id": "A.8.13"},
            ],
            custom_fields=[{"key": "Copies", "type": "number"}],
            now=now,
            actor=admin,
        )

    errors = _fields(refused)
    assert set(errors) == {
        "key",
        "title",
        "body_it",
        "default_severity",
        "control_refs",
        "custom_fields",
    }
    assert errors["title"] == ["A template needs a title in English."]
    assert errors["body_it"] == ["The Italian title needs a text too."]
    assert errors["control_refs"] == [
        "Reference 2: needs a framework (CIS v8, NIST CSF 2.0) and an id."
    ]
    assert errors["default_severity"] == ["Severity must be one of critical, high, medium, low."]
    assert _stored() == (0, 0)


def test_a_refused_revision_stores_no_version_and_leaves_the_template(template_mfa, admin, now):
    with pytest.raises(ValidationError) as refused:
        template_revise(
            template=template_mfa.template,
            title="Require MFA everywhere",
            body="",
            control_refs=[{"framework": "CIS v8", "id": " "}],
            tags=["changed"],
            now=now + LATER,
            actor=admin,
        )

    assert set(_fields(refused)) == {"body", "control_refs"}
    assert _stored() == (1, 1)
    assert Template.objects.get().tags == ["mfa"]


@pytest.mark.parametrize(
    ("persona", "message"),
    [("technician", Msg.CATALOG_MANAGERS_ONLY), ("auditor", Msg.READ_ONLY)],
)
def test_technicians_and_auditors_read_the_catalog_but_do_not_change_it(
    request, template_mfa, persona, message, now
):
    with pytest.raises(NotAllowed, match=message):
        template_revise(
            template=template_mfa.template,
            title="Changed",
            body="Changed.",
            now=now,
            actor=request.getfixturevalue(persona),
        )
    assert _stored() == (1, 1)


def test_the_migration_gives_unrevised_shipped_versions_their_italian(admin, now):
    migration = importlib.import_module("catalog.migrations.0003_shipped_catalog_in_italian")
    shipped, edited = catalog_entries()[0], catalog_entries()[1]
    for entry, body in ((shipped, shipped.body), (edited, "Our own wording, revised in 2026.")):
        template_create(
            key=entry.key,
            title=entry.title,
            body=body,
            risk_if_ignored=entry.risk_if_ignored,
            category=entry.category,
            default_severity=entry.severity,
            now=now,
            actor=admin,
        )

    # A migration's schema editor, as far as the step uses it: the database it migrates.
    migration.add_italian(django_apps, SimpleNamespace(connection=connection))

    filled = TemplateVersion.objects.get(template__key=shipped.key)
    untouched = TemplateVersion.objects.get(template__key=edited.key)
    assert (filled.title_it, filled.body_it, filled.risk_if_ignored_it) == (
        shipped.title_it,
        shipped.body_it,
        shipped.risk_if_ignored_it,
    )
    assert filled.body == shipped.body
    assert (untouched.title_it, untouched.body_it) == ("", "")
