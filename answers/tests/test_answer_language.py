"""The client pages speak the client's language, whatever the browser or the signed-in
staff member prefers; staff pages speak the staff member's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from clients.models import Client
from lib.errors import ServiceError
from recommendations.lifecycle import Msg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(time_machine):
    # The clock of the other answer-page tests: the links presented then are open.
    time_machine.move_to(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC), tick=False)


def test_an_italian_client_reads_its_answer_page_in_italian(client, token_a, client_a):
    Client.objects.filter(pk=client_a.pk).update(language="it")
    page = client.get(f"/answer/{token_a}/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="it">' in html
    assert "Raccomandazione di sicurezza per Acme Dental" in html
    assert "Firmate la risposta" in html and "Sign your answer" not in html


def test_a_refusal_on_the_answer_page_is_in_the_client_language(client, token_a, client_a):
    Client.objects.filter(pk=client_a.pk).update(language="it")
    before = translation.get_language()
    page = client.post(
        f"/answer/{token_a}/",
        {"decision": "accepted", "typed_name": "Alice D'Angelo", "consent": "on"},
    )
    assert page.status_code == 400
    assert "Per accettare serve una data di attuazione prevista." in page.content.decode()
    # The client's language ends with the view: the thread speaks what it spoke before.
    assert translation.get_language() == before
    assert ServiceError(Msg.PLANNED_DATE_REQUIRED).message == Msg.PLANNED_DATE_REQUIRED


def test_an_english_client_reads_english_even_from_an_italian_browser(client, token_a):
    page = client.get(f"/answer/{token_a}/", HTTP_ACCEPT_LANGUAGE="it")
    html = page.content.decode()
    assert '<html lang="en">' in html and "Sign your answer" in html


def test_a_staff_member_chooses_italian_and_keeps_it(client, manager):
    client.force_login(manager)
    assert "Dashboard" in client.get("/").content.decode()
    answer = client.post(reverse("set_language"), {"language": "it", "next": "/clients/"})
    assert answer.status_code == 302 and answer["Location"] == "/clients/"
    manager.refresh_from_db()
    assert manager.language == "it"
    client.cookies.clear()
    client.force_login(manager)  # a new session on another device
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Cruscotto" in html and '<html lang="it">' in html


def test_the_language_switch_refuses_an_unknown_language_and_a_foreign_next(client, manager):
    client.force_login(manager)
    assert client.post(reverse("set_language"), {"language": "xx"}).status_code == 400
    manager.refresh_from_db()
    assert manager.language == ""
    answer = client.post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert answer["Location"] == reverse("web:dashboard")
