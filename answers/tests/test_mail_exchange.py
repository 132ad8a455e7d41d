"""The exchange-online mode: replies read from a Microsoft 365 mailbox.

Pure tests: no database. Messages are built as Exchange Online delivers them, after the
formats Microsoft documents ("Anti-spam message headers in Microsoft 365": an
Authentication-Results header without authserv-id; "Use headers to determine which
Exchange Online tenant a message was attributed to": the front-door Received header by a
host under mail.protection.outlook.com), beside Gmail's (authserv-id mx.google.com) and
Postfix with OpenDKIM and OpenDMARC (the MSP's own authserv-id). Every forged or spoofed
message of test_mail_verify.py is run again in this mode, as it arrives and as Exchange
Online would deliver it, and none counts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from answers.mail.exchange import authserv_id_of, is_tenant_id
from answers.mail.verify import MailVerdict, verify_inbound
from answers.tests.test_mail_verify import (
    NOW,
    Signer,
    _ed25519_signer,
    _rsa_signer,
    ar,
    mail,
)

TENANT = "3f2b9c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
OTHER_TENANT = "9d8c7b6a-5f4e-4d3c-8b2a-0f1e2d3c4b5a"
CLIENT = ["client.example"]
EXCHANGE = "exchange-online"

# What Exchange Online writes for a reply that passes, and for a spoof of client.example
# from an attacker's server (documented format: no authserv-id, `action=`, `compauth=`).
EXO_PASS = (
    "spf=pass (sender IP is 209.85.221.41)\r\n smtp.mailfrom=client.example; dkim=pass "
    "(signature was verified)\r\n header.d=client.example;dmarc=pass action=none\r\n "
    "header.from=client.example;compauth=pass reason=100"
)
EXO_FAIL = (
    "spf=fail (sender IP is 203.0.113.9)\r\n smtp.mailfrom=client.example; dkim=none "
    "(message not signed)\r\n header.d=none;dmarc=fail action=oreject\r\n "
    "header.from=client.example;compauth=fail reason=000"
)
EXO_NONE = (
    "spf=softfail (sender IP is 203.0.113.9)\r\n smtp.mailfrom=client.example; dkim=none "
    "(message not signed)\r\n header.d=none;dmarc=none action=none\r\n "
    "header.from=client.example;compauth=fail reason=001"
)
SENDER_PASS = "dmarc=pass action=none header.from=client.example;compauth=pass reason=100"
FRONT_DOOR = (
    b"Received: from mail-wr1-f41.google.com (209.85.221.41) by\r\n"
    b" AM4PEPF00027A5F.mail.protection.outlook.com (10.167.16.77) with Microsoft SMTP\r\n"
    b" Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.8398.14 via\r\n"
    b" Frontend Transport; Mon, 2 Mar 2026 09:00:10 +0000\r\n"
)
# Exchange's hops after the front door, down to the mailbox; the topmost is written last.
INSIDE = (
    b"Received: from AM9PR04MB8410.eurprd04.prod.outlook.com (2603:10a6:20b:40a::21)\r\n"
    b" by DB9PR04MB9644.eurprd04.prod.outlook.com with HTTPS; Mon, 2 Mar 2026\r\n"
    b" 09:00:12 +0000\r\n"
    b"Received: from AM4PEPF00027A5F.eurprd04.prod.outlook.com\r\n"
    b" (2603:10a6:20b:5de:cafe::3c) by AS4P190CA0012.outlook.office365.com\r\n"
    b" (2603:10a6:20b:5de::6) with Microsoft SMTP Server (version=TLS1_3,\r\n"
    b" cipher=TLS_AES_256_GCM_SHA384) id 15.20.8398.14 via Frontend Transport; Mon,\r\n"
    b" 2 Mar 2026 09:00:11 +0000\r\n"
)
RECEIVED_SPF = (
    b"Received-SPF: Pass (protection.outlook.com: domain of client.example\r\n"
    b" designates 209.85.221.41 as permitted sender) receiver=protection.outlook.com;\r\n"
    b" client-ip=209.85.221.41; helo=mail-wr1-f41.google.com; pr=C\r\n"
)


def tenant_headers(tenant: str = TENANT) -> bytes:
    """What Exchange adds at the end of the header block on delivery."""
    return (
        "X-MS-Exchange-Organization-ExpirationStartTime: 02 Mar 2026 09:00:10.9431 (UTC)\r\n"
        "X-MS-Exchange-Organization-AuthSource: AM4PEPF00027A5F.eurprd04.prod.outlook.com\r\n"
        "X-MS-Exchange-Organization-AuthAs: Anonymous\r\n"
        "X-MS-Exchange-CrossTenant-OriginalArrivalTime: 02 Mar 2026 09:00:10.8962 (UTC)\r\n"
        f"X-MS-Exchange-CrossTenant-Id: {tenant}\r\n"
        "X-MS-Exchange-CrossTenant-AuthSource: AM4PEPF00027A5F.eurprd04.prod.outlook.com\r\n"
        "X-MS-Exchange-CrossTenant-AuthAs: Anonymous\r\n"
        "X-MS-Exchange-CrossTenant-FromEntityHeader: Internet\r\n"
        "X-Microsoft-Antispam: BCL:0;\r\n"
        "X-Forefront-Antispam-Report: CIP:209.85.221.41;CTRY:IT;LANG:en;SCL:1;SRV:;\r\n"
        " IPV:NLI;SFV:NSPM;H:mail-wr1-f41.google.com;CAT:NONE;SFS:;DIR:INB;\r\n"
    ).encode()


def delivered(
    original: bytes,
    stamp: str | None = EXO_PASS,
    *,
    tenant: str = TENANT,
    between: bytes = b"",
) -> bytes:
    """``original`` as Exchange Online delivers it to a mailbox of ``tenant``.

    ``stamp`` is the Authentication-Results value Exchange writes (None: it writes none);
    ``between`` is put between that header and the front-door Received header, where only
    Exchange itself could write.
    """
    header_end = original.index(b"\r\n\r\n") + 2
    stamped = ar(stamp) if stamp is not None else b""
    return (
        INSIDE
        + stamped
        + between
        + RECEIVED_SPF
        + FRONT_DOOR
        + original[:header_end]
        + tenant_headers(tenant)
        + original[header_end:]
    )


@pytest.fixture(scope="module")
def client_key() -> Signer:
    return _rsa_signer("client.example", "google")


@pytest.fixture(scope="module")
def evil_key() -> Signer:
    return _ed25519_signer("evil.example", "evil")


@pytest.fixture(scope="module")
def dns(client_key, evil_key) -> Callable[..., bytes | None]:
    records = {s.dns_name: s.record.encode() for s in (client_key, evil_key)}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name)

    return lookup


def no_keys(name: bytes, timeout: int = 5) -> None:
    return None


def gmail_sent(signer: Signer, body: bytes = b"ACCEPT 2026-04-30\r\n") -> bytes:
    """A reply as Google Workspace sends it for client.example: DKIM-signed, then relayed."""
    signed = signer.sign(mail(body=body))
    return (
        b"Received: by mail-wr1-f41.google.com with SMTP id ffacd0b85a97d-38f3;\r\n"
        b" Mon, 02 Mar 2026 01:00:09 -0800 (PST)\r\n" + signed
    )


def check(
    raw: bytes,
    *,
    dnsfunc=no_keys,
    mode: str = EXCHANGE,
    trusted: str | None = None,
    tenant: str | None = TENANT,
    allowed=CLIENT,
) -> MailVerdict:
    verdict = verify_inbound(
        raw,
        allowed_domains=allowed,
        trusted_authserv_id=trusted,
        auth_mode=mode,
        exchange_tenant_id=tenant,
        dnsfunc=dnsfunc,
        now=NOW,
    )
    json.dumps(verdict.checks)  # the evidence must always be storable as JSON
    return verdict


def refused(verdict: MailVerdict, reason: str) -> None:
    assert (verdict.counted, verdict.reason) == (False, reason)


NO_KEY = (
    "the DKIM signature of client.example has no usable public key at "
    "google._domainkey.client.example"
)


def not_authenticated(why: str, dkim: str = "the message has no DKIM signature") -> str:
    return f"alice@client.example is not authenticated: {why}, and {dkim}."


# --- A genuine reply through Exchange Online ----------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "evidence"),
    [
        (EXO_PASS, "spf=pass for client.example"),
        (
            "spf=none (sender IP is 209.85.221.41) smtp.mailfrom=bounce.example; dkim=pass "
            "(signature was verified) header.d=client.example;dmarc=bestguesspass "
            "action=none header.from=client.example;compauth=pass reason=109",
            "dkim=pass for client.example",
        ),
        (
            "spf=pass (sender IP is 209.85.221.41) smtp.mailfrom=eu.client.example; "
            "dkim=none (message not signed) header.d=none;dmarc=none action=none "
            "header.from=client.example;compauth=pass reason=102",
            "spf=pass for eu.client.example",
        ),
    ],
)
def test_a_genuine_exchange_reply_counts_in_the_exchange_mode(client_key, stamp, evidence):
    verdict = check(delivered(gmail_sent(client_key), stamp))
    assert verdict.counted
    assert (
        verdict.reason == f"alice@client.example is authenticated by Exchange Online ({evidence})."
    )
    info = verdict.checks["authentication_results"]
    assert verdict.checks["counted_by"] == "authentication-results"
    assert (info["authserv_id"], info["above_front_door"], info["below_front_door"]) == (None, 1, 0)
    assert info["front_door_received"].startswith("from mail-wr1-f41.google.com (209.85.221.41)")
    assert info["exchange_headers"]["x-ms-exchange-organization-authas"] == ["Anonymous"]
    assert verdict.checks["exchange_tenant_id"] == TENANT


def test_a_reply_whose_signature_exchange_broke_still_counts_by_exchanges_header(client_key, dns):
    # A transport rule that tags the subject breaks the sender's DKIM signature; the
    # verdict Exchange stamped before the change is what counts.
    raw = delivered(gmail_sent(client_key)).replace(b"Subject: Re:", b"Subject: [EXTERNAL] Re:")
    assert not check(raw, dnsfunc=dns, mode="authserv-id", tenant=None).counted
    assert check(raw, dnsfunc=dns).counted


def test_the_tenant_id_is_compared_case_insensitively(client_key):
    assert check(delivered(gmail_sent(client_key), tenant=TENANT.upper())).counted
    assert check(delivered(gmail_sent(client_key)), tenant=TENANT.upper()).counted


def test_a_configured_authserv_id_is_accepted_in_exchanges_place(client_key):
    raw = delivered(gmail_sent(client_key), "mx.msp.example; dmarc=pass header.from=client.example")
    assert check(raw, trusted="mx.msp.example").counted
    refused(
        check(raw),
        not_authenticated(
            "the Authentication-Results header where Exchange Online writes its own names "
            "mx.msp.example, which is not Exchange Online",
            NO_KEY,
        ),
    )


def test_without_the_mode_an_exchange_reply_does_not_count_by_its_header(client_key):
    refused(
        check(delivered(gmail_sent(client_key)), mode="authserv-id", trusted="mx.msp.example"),
        not_authenticated(
            "there is no Authentication-Results header from mx.msp.example",
            "the DKIM signature of client.example has no usable public key at "
            "google._domainkey.client.example",
        ),
    )


# --- What a sender can write, and what Exchange says about it ---------------------------


def test_a_sender_written_pass_below_exchanges_failing_header_does_not_count():
    forged = mail(top=ar(SENDER_PASS) + ar("spf=pass smtp.mailfrom=client.example"))
    verdict = check(delivered(forged, EXO_FAIL))
    refused(
        verdict,
        "alice@client.example is not authenticated: Exchange Online reports dmarc=fail "
        "for client.example.",
    )
    info = verdict.checks["authentication_results"]
    assert (info["above_front_door"], info["below_front_door"]) == (1, 2)


def test_a_sender_written_pass_with_a_forged_front_door_below_the_real_one_does_not_count():
    forged = mail(top=ar(EXO_PASS) + RECEIVED_SPF + FRONT_DOOR.replace(b"AM4PEPF", b"FAKEPEPF"))
    verdict = check(delivered(forged, EXO_NONE))
    refused(
        verdict,
        not_authenticated(
            "the Authentication-Results header from Exchange Online shows no pass aligned "
            "with client.example"
        ),
    )
    assert "AM4PEPF" in verdict.checks["authentication_results"]["front_door_received"]


def test_a_sender_written_header_below_exchanges_passing_one_is_ignored(client_key):
    raw = delivered(ar("dmarc=fail header.from=client.example") + gmail_sent(client_key))
    verdict = check(raw)
    assert verdict.counted
    assert verdict.checks["authentication_results"]["below_front_door"] == 1


def test_two_headers_where_exchange_writes_one_do_not_count(client_key):
    # Only Exchange can write there, but if two appear no one can say which is its own.
    raw = delivered(gmail_sent(client_key), EXO_PASS, between=ar(SENDER_PASS))
    refused(
        check(raw),
        not_authenticated(
            "there are 2 Authentication-Results headers above the Received header where the "
            "message entered Exchange Online, so it is unclear which one Exchange wrote",
            NO_KEY,
        ),
    )


def test_an_exchange_style_header_written_by_the_sender_alone_does_not_count():
    refused(
        check(mail(top=ar(EXO_PASS))),
        not_authenticated(
            "the message has no X-MS-Exchange-CrossTenant-Id header, so it was not delivered "
            f"by Exchange Online tenant {TENANT}"
        ),
    )


def test_an_exchange_style_header_and_tenant_header_without_exchanges_received_do_not_count():
    raw = mail(top=ar(EXO_PASS), extra=f"X-MS-Exchange-CrossTenant-Id: {TENANT}\r\n".encode())
    refused(
        check(raw),
        not_authenticated(
            "no Received header shows the message entering Exchange Online (by a host under "
            "mail.protection.outlook.com)"
        ),
    )


def test_a_sender_written_header_is_not_taken_when_exchange_wrote_none():
    refused(
        check(delivered(mail(top=ar(EXO_PASS)), stamp=None)),
        not_authenticated(
            "Exchange Online wrote no Authentication-Results header above the Received header "
            "where the message entered it"
        ),
    )


def test_a_message_delivered_by_another_tenant_does_not_count(client_key):
    refused(
        check(delivered(gmail_sent(client_key), tenant=OTHER_TENANT)),
        not_authenticated(
            f"the message was delivered by Exchange Online tenant {OTHER_TENANT}, not {TENANT}",
            NO_KEY,
        ),
    )


def test_a_second_tenant_header_written_by_the_sender_does_not_count(client_key):
    original = gmail_sent(client_key).replace(
        b"Subject:", f"X-MS-Exchange-CrossTenant-Id: {TENANT}\r\nSubject:".encode(), 1
    )
    refused(
        check(delivered(original, tenant=OTHER_TENANT)),
        not_authenticated(
            "the message has 2 X-MS-Exchange-CrossTenant-Id headers, so it is unclear which "
            "tenant delivered it",
            NO_KEY,
        ),
    )


def test_an_unreadable_exchange_header_does_not_count():
    refused(
        check(delivered(mail(), "spf=pass smtp.mailfrom=client.example; dkim=")),
        not_authenticated(
            "the Authentication-Results header from Exchange Online cannot be parsed"
        ),
    )


def test_the_mode_needs_a_known_name_and_a_tenant_id():
    with pytest.raises(ValueError, match="auth_mode must be one of authserv-id, exchange-online"):
        check(mail(), mode="exchange")
    for tenant in (None, "", "contoso.onmicrosoft.com"):
        with pytest.raises(ValueError, match="needs the tenant id"):
            check(mail(), tenant=tenant)
    assert is_tenant_id(TENANT.upper()) and not is_tenant_id(TENANT[:-1])
    assert authserv_id_of(EXO_PASS) is None
    assert authserv_id_of("(comment) mx.google.com; dkim=pass") == "mx.google.com"
    assert authserv_id_of("mx.microsoft.com 1; spf=pass") == "mx.microsoft.com"


# --- Gmail and Postfix with OpenDKIM/OpenDMARC ------------------------------------------------

GMAIL = (
    "mx.google.com;\r\n       dkim=pass header.i=@client.example header.s=google "
    "header.b=Zx3fQ1aB;\r\n       spf=pass (google.com: domain of alice@client.example "
    "designates 209.85.221.41 as permitted sender) smtp.mailfrom=alice@client.example;\r\n"
    "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=client.example"
)
GMAIL_RECEIVED = (
    b"Received: from mail-wr1-f41.google.com (mail-wr1-f41.google.com. [209.85.221.41])\r\n"
    b"        by mx.google.com with SMTPS id a640c23a62f3a-ab7f2;\r\n"
    b"        Mon, 02 Mar 2026 01:00:10 -0800 (PST)\r\n"
)
# OpenDMARC's milter runs after OpenDKIM's, so its header is inserted on top.
POSTFIX = (
    ar("mx.msp.example; dmarc=pass (p=reject dis=none) header.from=client.example")
    + ar(
        "mx.msp.example;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=client.example "
        'header.i=@client.example header.a=rsa-sha256 header.s=google header.b="Zx3fQ1aB"'
    )
    + b"Received: from mail-wr1-f41.google.com (mail-wr1-f41.google.com [209.85.221.41])\r\n"
    + b"\tby mx.msp.example (Postfix) with ESMTPS id 4Z1b2C3d4Ez\r\n"
    + b"\tfor <replies+tok@msp.example>; Mon,  2 Mar 2026 10:00:10 +0100 (CET)\r\n"
)


def test_a_reply_through_gmail_counts_by_its_authserv_id_but_not_in_the_exchange_mode(
    client_key,
):
    raw = ar(GMAIL) + GMAIL_RECEIVED + gmail_sent(client_key)
    verdict = check(raw, mode="authserv-id", trusted="mx.google.com", tenant=None)
    assert verdict.counted
    assert verdict.reason == (
        "alice@client.example is authenticated by mx.google.com (dkim=pass for client.example)."
    )
    refused(
        check(raw, trusted="mx.google.com"),
        not_authenticated(
            "the message has no X-MS-Exchange-CrossTenant-Id header, so it was not delivered "
            f"by Exchange Online tenant {TENANT}",
            "the DKIM signature of client.example has no usable public key at "
            "google._domainkey.client.example",
        ),
    )


def test_a_reply_through_postfix_counts_by_its_authserv_id_but_not_in_the_exchange_mode(
    client_key,
):
    raw = POSTFIX + gmail_sent(client_key)
    verdict = check(raw, mode="authserv-id", trusted="mx.msp.example", tenant=None)
    assert verdict.counted
    assert verdict.reason == (
        "alice@client.example is authenticated by mx.msp.example (dmarc=pass for client.example)."
    )
    assert not check(raw, trusted="mx.msp.example").counted


# --- Every forged or spoofed message of test_mail_verify.py, again in this mode -----------

_HIDDEN = base64.b64encode(b"<alice@client.example>")
_SPOOF_FROMS = [
    b"From: Alice <alice@evilclient.example>",
    b"From: Alice Rossi\r\n <alice@client.example>",
    b"From: <@evil.example:alice@client.example>",
    b"From: =?utf-8?b?" + _HIDDEN + b"?=",
    b"From: Alice <=?utf-8?q?alice=40client.example?=>",
    b"From: =?utf-8?q?ceo=40client.example?= <alice@client.example>",
    b'From: "ceo@client.example" <alice@client.example>',
    b"From: alice@client.example (boss@client.example)",
    b"From: team: alice@client.example;",
    b"From: alice@client.example, bob@client.example",
    b"From: ",
    b"From: alice@[192.0.2.1]",
    b"From: alice@client.example <mallory@client.example>",
    b"From: <alice@client.example",
    b"From: Alice <alice@localhost>",
    b"From: Alice <alice@client_x.example>",
    "From: Alicé <alice@client.example>".encode(),
    b"From: Anna <anna@xn--caff-8oa.example>",
]


def _spoofs(client: Signer, evil: Signer) -> list[tuple[str, bytes, str]]:
    """(name, raw, stamp) of each forgery and the worst verdict Exchange could stamp on it.

    A From trick is signed by the client's own key (the worst case: the key signed whatever
    the attacker got it to sign), so Exchange may well report dmarc=pass for it; every
    other forgery comes from the attacker's server, and Exchange reports dmarc=fail.
    """
    cases = [
        (f"from-{i}", client.sign(mail(line)), EXO_PASS) for i, line in enumerate(_SPOOF_FROMS)
    ]
    signed = client.sign(mail())
    header_tricks = [
        ("duplicate-from-above", b"From: Mallory <mallory@client.example>\r\n" + signed),
        ("duplicate-from-below", client.sign(mail(extra=b"From: ceo@client.example\r\n"))),
        ("leading-space-from", b" From: ceo@client.example\r\n" + signed),
        ("indented-from", b"X-Note: hello\r\n From: ceo@client.example\r\n" + signed),
        ("space-before-colon", b"From : Mallory <ceo@client.example>\r\n" + signed),
        (
            "parser-defects",
            client.sign(
                mail(
                    extra=b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n",
                    body=b"ACCEPT 2026-04-30, no boundary\r\n",
                )
            ),
        ),
    ]
    header_tricks += [
        (
            f"second-{name.decode().lower()}",
            name
            + b": <forged@client.example>\r\n"
            + client.sign(mail(extra=b"In-Reply-To: <p1@msp.example>\r\n")),
        )
        for name in (b"Subject", b"To", b"In-Reply-To", b"Message-ID")
    ]
    cases += [(name, raw, EXO_PASS) for name, raw in header_tricks]
    forged = [
        ("unsigned", mail()),
        ("foreign-signature", evil.sign(mail())),
        ("foreign-from", evil.sign(mail(b"From: Mallory <ceo@evil.example>"))),
        ("body-changed", signed.replace(b"ACCEPT 2026-04-30", b"REJECT not needed")),
        ("appended-after-l", client.sign(mail(), length=True) + b"REJECT forget it\r\n"),
        ("from-not-signed", client.sign_raw(mail(), headers=[b"to", b"subject", b"date"])),
        ("untrusted-authserv", mail(top=ar("mx.attacker.example; " + SENDER_PASS))),
        ("trusted-authserv", mail(top=ar("mx.msp.example; " + SENDER_PASS))),
        (
            "forged-below-trusted",
            mail(
                top=ar("mx.msp.example; spf=fail smtp.mailfrom=evil.example; dmarc=none")
                + b"Received: from evil by mx\r\n"
                + ar("mx.msp.example; dmarc=pass header.from=client.example")
            ),
        ),
        ("other-domain-pass", mail(top=ar("mx.msp.example; dmarc=pass header.from=evil.example"))),
        ("exchange-style", mail(top=ar(EXO_PASS))),
        ("exchange-style-with-tenant", mail(top=ar(EXO_PASS), extra=_TENANT_LINE)),
        ("nul-byte", b"From: alice@client.example\r\nSubject: a\x00b\r\n\r\nACCEPT\r\n"),
    ]
    cases += [(name, raw, EXO_FAIL) for name, raw in forged]
    return cases


_TENANT_LINE = f"X-MS-Exchange-CrossTenant-Id: {TENANT}\r\n".encode()


@pytest.fixture(scope="module")
def spoofs(client_key, evil_key) -> list[tuple[str, bytes, str]]:
    return _spoofs(client_key, evil_key)


@pytest.mark.parametrize("trusted", [None, "mx.msp.example"])
def test_no_forged_or_spoofed_message_counts_in_the_exchange_mode(spoofs, dns, trusted):
    verdicts = [
        (name, check(variant, dnsfunc=dns, trusted=trusted))
        for name, raw, stamp in spoofs
        for variant in (raw, delivered(raw, stamp))
    ]
    assert len(verdicts) == 82
    assert [name for name, verdict in verdicts if verdict.counted] == []
    # Each was refused by a rule, not by a reader error.
    assert [name for name, verdict in verdicts if "error" in verdict.checks] == []


def test_a_complete_forgery_of_exchanges_headers_is_decided_by_exchanges_real_ones():
    # A sender can copy every header Exchange writes; in an Exchange Online mailbox they
    # all end up below the front-door Received header Exchange itself prepends.
    forged = mail(top=INSIDE + ar(EXO_PASS) + RECEIVED_SPF + FRONT_DOOR)
    refused(
        check(delivered(forged, EXO_FAIL)),
        "alice@client.example is not authenticated: Exchange Online reports dmarc=fail "
        "for client.example.",
    )


def test_the_spoof_corpus_would_count_without_its_forgery(client_key, dns):
    # Guards the test above: the same builders, unforged, do count in the mode.
    assert check(client_key.sign(mail()), dnsfunc=dns).counted
    assert check(delivered(mail()), dnsfunc=dns).counted
