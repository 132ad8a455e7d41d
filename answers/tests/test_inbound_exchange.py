"""Answers by e-mail from a Microsoft 365 mailbox, end to end: `inbound_receive` with
HEEDED_MAIL_AUTH_MODE=exchange-online, and the spoofs of test_inbound.py again in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from answers.choices import Outcome
from answers.models import AnswerLink, InboundMessage
from answers.services.inbound import inbound_receive
from answers.tests.test_inbound import ACME, EVIL, PAGE_NOW, dns, reply, to
from answers.tests.test_mail_exchange import EXO_FAIL, EXO_PASS, TENANT, delivered
from recommendations.choices import Status
from recommendations.models import Response

ROOT = Path(__file__).resolve().parents[2]
ACME_PASS = EXO_PASS.replace("client.example", "acme-dental.example")
ACME_FAIL = EXO_FAIL.replace("client.example", "acme-dental.example")


@pytest.fixture(autouse=True)
def exchange_mode(time_machine, settings):
    time_machine.move_to(PAGE_NOW, tick=False)
    settings.HEEDED_TRUSTED_AUTHSERV_ID = "mx.msp.example"
    settings.HEEDED_MAIL_AUTH_MODE = "exchange-online"
    settings.HEEDED_EXCHANGE_TENANT_ID = TENANT


@pytest.fixture
def link(presented, contact_a) -> AnswerLink:
    return AnswerLink.objects.get(contact=contact_a)


def test_a_reply_delivered_by_exchange_online_is_recorded(link, presented):
    raw = delivered(reply(to(link), "REJECT we accept the risk\r\n"), ACME_PASS)
    result = inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns)
    assert result.message.outcome == Outcome.RECORDED
    assert result.message.verification["counted_by"] == "authentication-results"
    assert result.message.verification["auth_mode"] == "exchange-online"
    assert Response.objects.get().justification == "we accept the risk"


SPOOFS = {
    "unsigned": lambda link: reply(to(link)),
    "foreign-signature": lambda link: EVIL.sign(reply(to(link))),
    "foreign-from": lambda link: EVIL.sign(reply(to(link), sender="Mallory <ceo@evil.example>")),
    "exchange-style-header": lambda link: (
        f"Authentication-Results: {ACME_PASS}\r\n".encode() + reply(to(link))
    ),
    "trusted-authserv-header": lambda link: (
        b"Authentication-Results: mx.msp.example; dmarc=pass header.from=acme-dental.example\r\n"
        + reply(to(link))
    ),
}


_ALICE = "alice@acme-dental.example is not authenticated: "
_NO_TENANT = (
    "the message has no X-MS-Exchange-CrossTenant-Id header, so it was not delivered by "
    f"Exchange Online tenant {TENANT}, and "
)
_EXO_FAIL = _ALICE + "Exchange Online reports dmarc=fail for acme-dental.example."
_NOT_CLIENT = (
    "The sender's domain evil.example is not one of the client's domains (acme-dental.example)."
)
WHY = {
    ("unsigned", False): _ALICE + _NO_TENANT + "the message has no DKIM signature.",
    ("unsigned", True): _EXO_FAIL,
    ("foreign-signature", False): _ALICE
    + _NO_TENANT
    + "the DKIM signature of evil.example is not aligned with acme-dental.example.",
    ("foreign-signature", True): _EXO_FAIL,
    ("foreign-from", False): _NOT_CLIENT,
    ("foreign-from", True): _NOT_CLIENT,
    ("exchange-style-header", False): _ALICE + _NO_TENANT + "the message has no DKIM signature.",
    ("exchange-style-header", True): _EXO_FAIL,
    ("trusted-authserv-header", False): _ALICE + _NO_TENANT + "the message has no DKIM signature.",
    ("trusted-authserv-header", True): _EXO_FAIL,
}


@pytest.mark.parametrize("through_exchange", [False, True])
@pytest.mark.parametrize("name", sorted(SPOOFS))
def test_a_spoofed_reply_is_kept_for_review_and_changes_nothing(
    link, presented, name, through_exchange
):
    raw = SPOOFS[name](link)
    if through_exchange:
        raw = delivered(raw, ACME_FAIL)
    result = inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns)
    assert (result.exit_code, result.message.outcome) == (3, Outcome.UNVERIFIED)
    assert result.message.reason == WHY[name, through_exchange]
    presented.refresh_from_db()
    assert presented.status == Status.AWAITING_RESPONSE
    assert not Response.objects.exists() and InboundMessage.objects.count() == 1


def test_a_signed_reply_still_counts_by_heededs_own_dkim_check(link, presented):
    assert inbound_receive(raw=ACME.sign(reply(to(link))), now=PAGE_NOW, dnsfunc=dns).exit_code == 0


@pytest.mark.parametrize(
    ("tenant", "error"),
    [
        ("", "HEEDED_EXCHANGE_TENANT_ID: the exchange-online mail auth mode needs"),
        ("contoso.onmicrosoft.com", "HEEDED_EXCHANGE_TENANT_ID: the exchange-online mail auth"),
        (TENANT.upper(), None),
    ],
)
def test_the_exchange_mode_refuses_to_start_without_a_tenant_id(tmp_path, tenant, error):
    env = {
        **os.environ,
        "HEEDED_DATA_DIR": str(tmp_path),
        "HEEDED_MAIL_AUTH_MODE": "exchange-online",
        "HEEDED_EXCHANGE_TENANT_ID": tenant,
    }
    env.pop("DATABASE_URL", None)
    code = "import heeded.settings as s; print(s.HEEDED_EXCHANGE_TENANT_ID)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if error is None:
        assert (result.returncode, result.stdout.strip()) == (0, TENANT)
    else:
        assert result.returncode != 0 and error in result.stderr


def test_the_default_mode_is_the_authserv_id_mode(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEEDED_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, "-c", "import heeded.settings as s; print(s.HEEDED_MAIL_AUTH_MODE)"],
        cwd=ROOT,
        env={**env, "HEEDED_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "authserv-id"
