"""Plain-text e-mails (subjects and bodies) must not be HTML-escaped: a client called
"Rossi & Figli Sant'Ambrogio" reads "&amp;" and "&#x27;" otherwise. Each template under
``templates/emails/*.txt`` wraps its text in ``{% autoescape off %}``; the first test
fails for any new .txt template that prints a variable outside such a block."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Node
from django.template.base import VariableNode
from django.template.defaulttags import AutoEscapeControlNode
from django.template.loader import get_template

EMAILS = Path(settings.BASE_DIR) / "templates" / "emails"
NAME = "Rossi & Figli Sant'Ambrogio"


def _escaped_variables(nodes: list[Node], *, escaping: bool = True) -> list[str]:
    """The variables of ``nodes`` that would be rendered with autoescape on."""
    found = []
    for node in nodes:
        inner = escaping
        if isinstance(node, AutoEscapeControlNode):
            inner = node.setting
        elif isinstance(node, VariableNode) and escaping:
            found.append(node.filter_expression.token)
        for attr in node.child_nodelists:
            found += _escaped_variables(getattr(node, attr, None) or [], escaping=inner)
    return found


def test_every_plain_text_email_template_renders_with_autoescape_off():
    names = sorted(p.name for p in EMAILS.glob("*.txt"))
    assert "answer_confirmation.subject.txt" in names and "presented.txt" in names
    escaped = {
        name: variables
        for name in names
        if (variables := _escaped_variables(get_template(f"emails/{name}").template.nodelist))
    }
    assert escaped == {}, "wrap these in {% autoescape off %}: " + repr(escaped)


def test_the_check_itself_sees_an_escaped_variable():
    from django.template import engines

    bare = engines["django"].from_string(
        "[{{ client.name }}] {% autoescape off %}{{ x }}{% endautoescape %}"
    )
    assert _escaped_variables(bare.template.nodelist) == ["client.name"]


@pytest.mark.django_db
def test_a_client_name_with_an_ampersand_and_an_apostrophe_reaches_the_outbox_as_written(
    admin, now
):
    from answers.services.recording import confirm_answer
    from clients.services import client_create, contact_create
    from followup.models import OutboxMessage
    from recommendations.services import (
        recommendation_create,
        recommendation_present,
        response_record,
    )

    for language in ("en", "it"):
        client = client_create(name=f"{NAME} ({language})", actor=admin, now=now, language=language)
        contact = contact_create(
            client=client,
            name="Chiara D'Angelo & Co.",
            email=f"chiara.{language}@rossi-figli.example",
            is_decision_maker=True,
            actor=admin,
            now=now,
        )
        rec = recommendation_create(
            client=client,
            actor=admin,
            now=now,
            title="Back up the <server> & test a restore",
            body="Keep an offsite copy; test that it's restorable.",
            severity="high",
        )
        rec = recommendation_present(recommendation=rec, actor=admin, now=now)
        presented = OutboxMessage.objects.get(
            idempotency_key__startswith="present:", payload__to=[contact.email]
        ).payload
        assert f"{NAME} ({language})" in presented["subject"]
        assert "Dear Chiara D'Angelo & Co.," in presented["text"] or (
            "Gentile Chiara D'Angelo & Co.," in presented["text"]
        )
        assert "Back up the <server> & test a restore" in presented["text"]
        later = now + dt.timedelta(hours=1, microseconds=417)
        response = response_record(
            recommendation=rec,
            decision="rejected",
            channel="phone",
            now=later,
            recorded_by=admin,
            responder=contact,
            justification="Costs & effort: we'll revisit",
        )
        confirm_answer(
            contact=contact,
            responses=[response],
            proposals=[],
            reference=f"test:{response.pk}",
            recommendation_id=rec.pk,
            now=later,
        )
        receipt = OutboxMessage.objects.get(
            idempotency_key=f"answer-confirmation:test:{response.pk}"
        )
        expected = {
            "en": f"[{NAME} (en)] Your answer was recorded",
            "it": f"[{NAME} (it)] La vostra risposta è stata registrata",
        }[language]
        assert receipt.payload["subject"] == expected
        assert "Costs & effort: we'll revisit" in receipt.payload["text"]
        assert f"evidence ledger of {NAME} ({language})" in receipt.payload["text"] or (
            f"registro delle evidenze di {NAME} ({language})" in receipt.payload["text"]
        )
        assert "&amp;" not in receipt.payload["text"]
        assert "Rossi &amp; Figli Sant&#x27;Ambrogio" in receipt.payload["html"]
        assert "&amp;" not in receipt.payload["text"] + receipt.payload["subject"]
        assert "&#x27;" not in receipt.payload["text"] + receipt.payload["subject"]
