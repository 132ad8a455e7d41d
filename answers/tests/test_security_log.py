"""Refused answer links, portal sign-in links and unverified e-mails are logged on
heeded.security with the actor and request id, and never with a token."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from answers.models import AnswerLink
from answers.services.inbound import inbound_receive
from answers.tests.test_answer_page import ACCEPT
from answers.tests.test_inbound import ACME, EVIL, PAGE_NOW, dns, reply, to

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(PAGE_NOW, tick=False)


def _refusals(records):
    return [r for r in records if r.event == "link_refused"]


def test_a_token_that_names_no_link_is_logged_without_the_token(client, security_events):
    token = "bm90LWEtbGluay1hdC1hbGw-Società"

    response = client.get(f"/answer/{token}/", REMOTE_ADDR="198.51.100.23")

    assert response.status_code == 404
    [record] = _refusals(security_events)
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        'link_refused actor="anonymous" kind="answer" link="" outcome="invalid" '
        'address="198.51.100.23"'
    )
    assert record.request_id == response["X-Request-ID"]


def test_an_expired_link_and_its_refused_renewal_are_logged_with_the_link(
    client, token_a, presented, contact_a, security_events, time_machine
):
    link = AnswerLink.objects.get(contact=contact_a)
    time_machine.move_to(presented.presented_at + dt.timedelta(days=30), tick=False)

    shown = client.get(f"/answer/{token_a}/")
    client.post(f"/answer/{token_a}/renew/")
    again = client.post(f"/answer/{token_a}/renew/")

    assert shown.status_code == 410
    refusals = _refusals(security_events)
    assert [(r.fields["link"], r.fields["outcome"]) for r in refusals] == [
        (link.pk, "expired"),
        (link.pk, "renew_refused"),
    ]
    assert [r.request_id for r in refusals] == [shown["X-Request-ID"], again["X-Request-ID"]]
    assert all(token_a not in r.getMessage() for r in security_events)


def test_showing_a_used_links_answers_is_no_refusal_but_answering_again_is(
    client, token_a, presented, security_events
):
    assert client.post(f"/answer/{token_a}/", ACCEPT).status_code == 200
    client.get(f"/answer/{token_a}/")
    assert _refusals(security_events) == []

    response = client.post(f"/answer/{token_a}/", ACCEPT)

    [record] = _refusals(security_events)
    assert record.fields["outcome"] == "used"
    assert record.request_id == response["X-Request-ID"]


def test_a_bad_portal_sign_in_link_is_logged(client, security_events):
    response = client.post("/portal/sign-in/not-a-real-code/")

    assert response.status_code == 400
    [record] = _refusals(security_events)
    assert record.getMessage() == (
        'link_refused actor="anonymous" kind="portal_sign_in" outcome="invalid" address="127.0.0.1"'
    )
    assert record.request_id == response["X-Request-ID"]


@pytest.mark.parametrize(
    ("make", "sender"),
    [
        (lambda link: reply(to(link)), "alice@acme-dental.example"),
        (
            lambda link: EVIL.sign(reply(to(link), sender="Mallory <ceo@evil.example>")),
            "ceo@evil.example",
        ),
        (
            lambda link: ACME.sign(reply(to(link), sender="Eve <eve@acme-dental.example>")),
            "eve@acme-dental.example",
        ),
    ],
)
def test_an_unverified_email_is_logged_with_its_claimed_sender(
    presented, contact_a, security_events, make, sender
):
    link = AnswerLink.objects.get(contact=contact_a)

    result = inbound_receive(raw=make(link), now=PAGE_NOW, dnsfunc=dns)

    stored = result.message
    assert stored.outcome == "unverified"
    [record] = [r for r in security_events if r.event == "inbound_unverified"]
    assert record.levelno == logging.WARNING
    assert record.actor == "anonymous"
    assert record.fields == {
        "actor": "anonymous",
        "inbound": stored.pk,
        "client": presented.client_id,
        "claimed_from": sender,
        "reason": stored.reason,
    }
    assert record.request_id == "-"  # no request: the mail-in command or poller
    assert link.reply_token not in record.getMessage()


def test_a_counted_email_is_no_security_event(presented, contact_a, security_events, settings):
    settings.HEEDED_TRUSTED_AUTHSERV_ID = "mx.msp.example"
    link = AnswerLink.objects.get(contact=contact_a)

    result = inbound_receive(raw=ACME.sign(reply(to(link))), now=PAGE_NOW, dnsfunc=dns)

    assert result.message.outcome == "recorded"
    assert [r.event for r in security_events] == []
