"""Inbound mail verification against real DKIM vectors and hand-built attacks.

Pure tests: no database. The RFC 8463 vectors come from dkimpy's source distribution (see
data/mail/README.md); every other message is signed here with freshly generated keys.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from answers.mail.verify import MailVerdict, aligned, domain_is_within, verify_inbound

DATA = Path(__file__).parent / "data" / "mail"
TRUSTED = "mx.msp.example"
CLIENT = ["client.example"]
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Signer:
    domain: str
    selector: str
    algorithm: bytes
    private: bytes
    record: str

    @property
    def dns_name(self) -> bytes:
        return f"{self.selector}._domainkey.{self.domain}.".encode()

    def sign(self, message: bytes, **options: object) -> bytes:
        signature = dkim.sign(
            message,
            self.selector.encode(),
            self.domain.encode(),
            self.private,
            signature_algorithm=self.algorithm,
            canonicalize=(b"relaxed", b"relaxed"),
            **options,
        )
        return signature + message

    def sign_raw(self, message: bytes, *, headers: Sequence[bytes], extra=()) -> bytes:
        """Sign with hand-picked tags, including what ``dkim.sign`` refuses to produce."""
        signer = dkim.DKIM(message, signature_algorithm=self.algorithm)
        canon = dkim.CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
        signer.hasher = dkim.HASH_ALGORITHMS[self.algorithm]
        body_hash = base64.b64encode(signer.hasher(canon.canonicalize_body(signer.body)).digest())
        domain = self.domain.encode()
        fields = [
            (b"v", b"1"),
            (b"a", self.algorithm),
            (b"c", b"relaxed/relaxed"),
            (b"d", domain),
            (b"i", b"@" + domain),
            (b"q", b"dns/txt"),
            (b"s", self.selector.encode()),
            (b"t", str(int(time.time())).encode()),
            *extra,
            (b"h", b" : ".join(headers)),
            (b"bh", body_hash),
            (b"b", b"0" * 60),
        ]
        key = dkim.crypto.parse_pem_private_key(self.private)
        header = signer.gen_header(fields, list(headers), canon, b"DKIM-Signature", key)
        return b"DKIM-Signature: " + header + message


def _rsa_signer(domain: str, selector: str) -> Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Signer(
        domain,
        selector,
        b"rsa-sha256",
        private,
        f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}",
    )


def _ed25519_signer(domain: str, selector: str) -> Signer:
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes_raw()
    public = key.public_key().public_bytes_raw()
    return Signer(
        domain,
        selector,
        b"ed25519-sha256",
        base64.b64encode(seed),
        f"v=DKIM1; k=ed25519; p={base64.b64encode(public).decode()}",
    )


@pytest.fixture(scope="module")
def rsa_client() -> Signer:
    return _rsa_signer("client.example", "rsa2026")


@pytest.fixture(scope="module")
def ed_client() -> Signer:
    return _ed25519_signer("client.example", "ed2026")


@pytest.fixture(scope="module")
def ed_sub() -> Signer:
    return _ed25519_signer("mail.client.example", "sub")


@pytest.fixture(scope="module")
def ed_evil() -> Signer:
    return _ed25519_signer("evil.example", "evil")


@pytest.fixture(scope="module")
def dns(rsa_client, ed_client, ed_sub, ed_evil) -> Callable[..., bytes | None]:
    records = {s.dns_name: s.record.encode() for s in (rsa_client, ed_client, ed_sub, ed_evil)}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name)

    return lookup


def rfc_dns(name: bytes, timeout: int = 5) -> bytes | None:
    path = DATA / f"{name.decode()}txt"
    return path.read_bytes() if path.exists() else None


def mail(
    from_line: bytes = b"From: Alice Rossi <alice@client.example>",
    body: bytes = b"ACCEPT 2026-04-30\r\n",
    *,
    top: bytes = b"",
    extra: bytes = b"",
) -> bytes:
    return (
        top
        + from_line
        + b"\r\nTo: answers+tok@msp.example\r\nSubject: Re: Turn on MFA\r\n"
        + b"Date: Mon, 02 Mar 2026 10:00:00 +0100\r\nMessage-ID: <r1@client.example>\r\n"
        + extra
        + b"\r\n"
        + body
    )


def check(
    raw: bytes,
    *,
    dnsfunc=None,
    allowed: Sequence[str] = CLIENT,
    trusted: str | None = TRUSTED,
) -> MailVerdict:
    verdict = verify_inbound(
        raw,
        allowed_domains=allowed,
        trusted_authserv_id=trusted,
        dnsfunc=dnsfunc or (lambda name, timeout=5: None),
        now=NOW,
    )
    json.dumps(verdict.checks)  # the evidence must always be storable as JSON
    return verdict


def refused(verdict: MailVerdict, reason: str) -> None:
    assert (verdict.counted, verdict.reason) == (False, reason)
    assert verdict.checks["counted"] is False


# --- The RFC 8463 dual-signed message --------------------------------------------------

RFC_MESSAGE = (DATA / "rfc8463-dual-signed.eml").read_bytes()


def _without_first_signature(raw: bytes) -> bytes:
    second = raw.index(b"DKIM-Signature:", 1)
    return raw[second:]


def test_the_rfc8463_message_counts_by_its_ed25519_signature():
    verdict = check(RFC_MESSAGE, dnsfunc=rfc_dns, allowed=["football.example.com"], trusted=None)
    assert verdict.counted
    assert verdict.reason == (
        "joe@football.example.com is authenticated by Heeded's own check of the DKIM "
        "signature of football.example.com (ed25519-sha256, selector brisbane)."
    )
    assert verdict.from_address == "joe@football.example.com"
    assert verdict.from_domain == "football.example.com"
    first = verdict.checks["dkim"]["signatures"][0]
    assert first["signed_headers"] == ["From", "To", "Subject", "Date", "Message-ID"]
    assert first["h"] == ["from", "to", "subject", "date", "message-id", "from", "subject", "date"]
    assert verdict.checks["counted_by"] == "dkim"
    assert verdict.message is not None and verdict.message["Subject"] == "Is dinner ready?"


def test_the_rfc8463_message_counts_by_its_rsa_signature_alone():
    verdict = check(
        _without_first_signature(RFC_MESSAGE),
        dnsfunc=rfc_dns,
        allowed=["football.example.com"],
        trusted=None,
    )
    assert verdict.counted
    assert verdict.reason.endswith(
        "the DKIM signature of football.example.com (rsa-sha256, selector test)."
    )
    assert verdict.checks["dkim"]["signatures"][0]["key_bits"] == 1024


def test_the_rsa_signature_counts_when_the_ed25519_key_is_missing():
    def rsa_only(name: bytes, timeout: int = 5) -> bytes | None:
        return None if name.startswith(b"brisbane.") else rfc_dns(name)

    verdict = check(RFC_MESSAGE, dnsfunc=rsa_only, allowed=["football.example.com"])
    assert verdict.counted
    first, second = verdict.checks["dkim"]["signatures"]
    assert first["reason"] == (
        "the DKIM signature of football.example.com has no usable public key at "
        "brisbane._domainkey.football.example.com"
    )
    assert second["counts"] is True and second["a"] == "rsa-sha256"


def test_the_rfc8463_message_counts_for_a_parent_domain_of_the_client():
    verdict = check(RFC_MESSAGE, dnsfunc=rfc_dns, allowed=["Example.COM"])
    assert verdict.counted
    assert verdict.checks["allowed_domain_matched"] == "example.com"


def test_the_rfc8463_message_does_not_count_for_another_client():
    refused(
        check(RFC_MESSAGE, dnsfunc=rfc_dns, allowed=["client.example"]),
        "The sender's domain football.example.com is not one of the client's domains "
        "(client.example).",
    )


def test_the_rfc8463_message_does_not_count_once_its_body_is_changed():
    tampered = RFC_MESSAGE.replace(b"We lost the game.", b"We won the game.")
    broken = (
        "the DKIM signature of football.example.com does not match the body (changed after signing)"
    )
    refused(
        check(tampered, dnsfunc=rfc_dns, allowed=["football.example.com"]),
        "joe@football.example.com is not authenticated: there is no "
        f"Authentication-Results header from mx.msp.example, and {broken}; {broken}.",
    )


def test_the_rfc8463_message_does_not_count_once_its_subject_is_changed():
    tampered = RFC_MESSAGE.replace(b"Is dinner ready?", b"ACCEPT all of it")
    refused(
        check(tampered, dnsfunc=rfc_dns, allowed=["football.example.com"], trusted=None),
        "joe@football.example.com is not authenticated: no trusted authserv-id is "
        "configured, and the DKIM signature of football.example.com does not verify; "
        "the DKIM signature of football.example.com does not verify.",
    )


# --- Our own signatures ---------------------------------------------------------------------


@pytest.mark.parametrize("signer_name", ["rsa_client", "ed_client", "ed_sub"])
def test_a_message_signed_by_the_client_domain_or_its_subdomain_counts(request, dns, signer_name):
    signer: Signer = request.getfixturevalue(signer_name)
    verdict = check(signer.sign(mail()), dnsfunc=dns)
    assert verdict.counted
    algorithm = signer.algorithm.decode()
    assert verdict.reason == (
        "alice@client.example is authenticated by Heeded's own check of the DKIM signature "
        f"of {signer.domain} ({algorithm}, selector {signer.selector})."
    )


def test_a_sender_on_a_subdomain_of_a_client_domain_counts(ed_client, dns):
    raw = ed_client.sign(mail(b"From: Alice <alice@eu.client.example>"))
    verdict = check(raw, dnsfunc=dns)
    assert verdict.counted and verdict.from_domain == "eu.client.example"


def test_an_encoded_display_name_is_decoded_and_counts(ed_client, dns):
    raw = ed_client.sign(mail(b"From: =?utf-8?q?Mar=C3=ADa_Rossi?= <Alice@Client.Example>"))
    verdict = check(raw, dnsfunc=dns)
    assert verdict.counted
    assert verdict.from_address == "Alice@client.example"
    assert verdict.checks["from_display_name"] == "María Rossi"


def test_an_mbox_envelope_line_from_an_mta_pipe_is_set_aside(ed_client, dns):
    raw = b"From bounce@client.example Mon Mar  2 10:00:00 2026\n" + ed_client.sign(mail())
    verdict = check(raw, dnsfunc=dns)
    assert verdict.counted
    assert verdict.checks["envelope_line"].startswith("From bounce@client.example")


def test_a_signature_by_an_unaligned_domain_does_not_count(ed_evil, dns):
    refused(
        check(ed_evil.sign(mail()), dnsfunc=dns),
        "alice@client.example is not authenticated: there is no Authentication-Results "
        "header from mx.msp.example, and the DKIM signature of evil.example is not aligned "
        "with client.example.",
    )


def test_a_look_alike_domain_is_neither_allowed_nor_aligned(ed_client, dns):
    raw = ed_client.sign(mail(b"From: Alice <alice@evilclient.example>"))
    refused(
        check(raw, dnsfunc=dns),
        "The sender's domain evilclient.example is not one of the client's domains "
        "(client.example).",
    )
    assert not aligned("evilclient.example", "client.example")
    assert not domain_is_within("evilclient.example", "client.example")
    assert domain_is_within("a.b.client.example", "CLIENT.example")


def test_a_body_changed_after_signing_does_not_count(rsa_client, dns):
    raw = rsa_client.sign(mail()).replace(b"ACCEPT 2026-04-30", b"REJECT not needed")
    refused(
        check(raw, dnsfunc=dns),
        "alice@client.example is not authenticated: there is no Authentication-Results "
        "header from mx.msp.example, and the DKIM signature of client.example does not "
        "match the body (changed after signing).",
    )


def test_a_body_length_signature_with_appended_text_does_not_count(ed_client, dns):
    raw = ed_client.sign(mail(), length=True) + b"REJECT forget it\r\n"
    verdict = check(raw, dnsfunc=dns)
    refused(
        verdict,
        "alice@client.example is not authenticated: there is no Authentication-Results "
        "header from mx.msp.example, and the DKIM signature of client.example covers only "
        "the first 19 bytes of the body and 18 more follow.",
    )
    assert verdict.checks["dkim"]["signatures"][0]["l"] == 19


def test_a_body_length_signature_that_covers_the_whole_body_counts(ed_client, dns):
    verdict = check(ed_client.sign(mail(), length=True), dnsfunc=dns)
    assert verdict.counted
    assert verdict.checks["dkim"]["signatures"][0]["body_length"] == 19


def test_a_signature_that_does_not_cover_from_does_not_count(rsa_client, dns):
    raw = rsa_client.sign_raw(mail(), headers=[b"to", b"subject", b"date"])
    refused(
        check(raw, dnsfunc=dns),
        "alice@client.example is not authenticated: there is no Authentication-Results "
        "header from mx.msp.example, and the DKIM signature of client.example does not "
        "cover the From header.",
    )


def test_a_hand_built_signature_covering_from_counts(rsa_client, dns):
    raw = rsa_client.sign_raw(mail(), headers=[b"from", b"to", b"subject"])
    assert check(raw, dnsfunc=dns).counted


def test_a_signature_past_its_expiry_does_not_count(rsa_client, dns):
    expiry = int(time.time()) + 3600
    raw = rsa_client.sign_raw(
        mail(), headers=[b"from", b"subject"], extra=[(b"x", str(expiry).encode())]
    )
    later = dt.datetime.fromtimestamp(expiry + 1, tz=dt.UTC)
    verdict = verify_inbound(
        raw, allowed_domains=CLIENT, trusted_authserv_id=None, dnsfunc=dns, now=later
    )
    refused(
        verdict,
        "alice@client.example is not authenticated: no trusted authserv-id is configured, "
        "and the DKIM signature of client.example expired before the check.",
    )


def test_a_message_without_any_signature_or_trusted_header_does_not_count():
    refused(
        check(mail()),
        "alice@client.example is not authenticated: there is no Authentication-Results "
        "header from mx.msp.example, and the message has no DKIM signature.",
    )


# --- From header ambiguities ------------------------------------------------------------------


def test_a_duplicate_from_does_not_count(ed_client, dns):
    signed = ed_client.sign(mail())
    raw = b"From: Mallory <mallory@client.example>\r\n" + signed
    verdict = check(raw, dnsfunc=dns)
    refused(verdict, "The message has 2 From headers; exactly one is required.")
    assert verdict.from_address is None


def test_a_duplicate_from_below_the_signed_one_does_not_count(ed_client, dns):
    raw = ed_client.sign(mail(extra=b"From: ceo@client.example\r\n"))
    refused(check(raw, dnsfunc=dns), "The message has 2 From headers; exactly one is required.")


def test_a_leading_space_from_on_the_first_line_does_not_count(ed_client, dns):
    raw = b" From: ceo@client.example\r\n" + ed_client.sign(mail())
    refused(
        check(raw, dnsfunc=dns),
        "The first header line starts with whitespace, so mail programs disagree on which "
        "field it belongs to.",
    )


def test_an_indented_from_inside_another_field_does_not_count(ed_client, dns):
    raw = b"X-Note: hello\r\n From: ceo@client.example\r\n" + ed_client.sign(mail())
    refused(
        check(raw, dnsfunc=dns),
        "Header line 2 is an indented 'From:' that some mail programs read as a From "
        "header and others as part of the field above.",
    )


def test_whitespace_before_the_colon_of_from_does_not_count(ed_client, dns):
    raw = b"From : Mallory <ceo@client.example>\r\n" + ed_client.sign(mail())
    refused(
        check(raw, dnsfunc=dns),
        "Header line 1 has whitespace before its colon, which mail programs read differently.",
    )


def test_a_folded_from_does_not_count(ed_client, dns):
    raw = ed_client.sign(mail(b"From: Alice Rossi\r\n <alice@client.example>"))
    verdict = check(raw, dnsfunc=dns)
    refused(
        verdict,
        "The From header is folded over several lines, which mail programs read differently.",
    )
    assert verdict.checks["from_header"] == "Alice Rossi\r\n <alice@client.example>"


def test_a_route_address_does_not_count(ed_client, dns):
    raw = ed_client.sign(mail(b"From: <@evil.example:alice@client.example>"))
    refused(
        check(raw, dnsfunc=dns), "The From header uses an obsolete route address (<@host:...>)."
    )


def test_an_encoded_word_hiding_the_address_does_not_count(ed_client, dns):
    hidden = base64.b64encode(b"<alice@client.example>")
    raw = ed_client.sign(mail(b"From: =?utf-8?b?" + hidden + b"?="))
    refused(check(raw, dnsfunc=dns), "The From address is hidden in an encoded word.")


def test_an_encoded_word_inside_the_angle_address_does_not_count(ed_client, dns):
    raw = ed_client.sign(mail(b"From: Alice <=?utf-8?q?alice=40client.example?=>"))
    refused(check(raw, dnsfunc=dns), "The From address is hidden in an encoded word.")


def test_an_encoded_display_name_showing_another_address_does_not_count(ed_client, dns):
    raw = ed_client.sign(mail(b"From: =?utf-8?q?ceo=40client.example?= <alice@client.example>"))
    refused(
        check(raw, dnsfunc=dns),
        "The From header shows another address (ceo@client.example) besides the sender's "
        "address alice@client.example.",
    )


@pytest.mark.parametrize(
    ("from_line", "reason"),
    [
        (
            b'From: "ceo@client.example" <alice@client.example>',
            "The From header shows another address (ceo@client.example) besides the "
            "sender's address alice@client.example.",
        ),
        (
            b"From: alice@client.example (boss@client.example)",
            "The From header shows another address (boss@client.example) besides the "
            "sender's address alice@client.example.",
        ),
        (
            b"From: team: alice@client.example;",
            "The From header uses group syntax; one plain address is required.",
        ),
        (
            b"From: alice@client.example, bob@client.example",
            "The From header holds 2 addresses; exactly one is required.",
        ),
        (b"From: ", "The From header holds no address."),
        (
            b"From: alice@[192.0.2.1]",
            "The From address uses an IP literal instead of a domain name.",
        ),
        (
            b"From: alice@client.example <mallory@client.example>",
            "The From header is malformed: invalid address in address-list; period in 'phrase'.",
        ),
        (
            b"From: <alice@client.example",
            "The From header is malformed: missing trailing '>' on angle-addr.",
        ),
        (
            b"From: Alice <alice@localhost>",
            "The From domain 'localhost' is not a valid domain name.",
        ),
        (
            b"From: Alice <alice@client_x.example>",
            "The From domain 'client_x.example' is not a valid domain name.",
        ),
        (
            "From: Alicé <alice@client.example>".encode(),
            "The From header contains raw non-ASCII bytes; only encoded words are accepted.",
        ),
    ],
)
def test_an_ambiguous_from_header_does_not_count(ed_client, dns, from_line, reason):
    raw = ed_client.sign(mail(from_line))
    refused(check(raw, dnsfunc=dns), reason)


def test_a_message_without_from_does_not_count():
    raw = b"To: answers@msp.example\r\nSubject: hi\r\n\r\nACCEPT\r\n"
    refused(check(raw), "The message has no From header.")


def test_a_header_line_that_is_no_field_does_not_count():
    raw = b"From: alice@client.example\r\nthis is not a header\r\n\r\nACCEPT\r\n"
    refused(check(raw), "Header line 2 is not a valid header field.")


def test_a_nul_byte_in_the_header_does_not_count():
    raw = b"From: alice@client.example\r\nSubject: a\x00b\r\n\r\nACCEPT\r\n"
    refused(check(raw), "Header line 2 contains a NUL or a bare carriage return.")


def test_a_message_with_parser_defects_does_not_count(ed_client, dns):
    extra = b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n"
    raw = ed_client.sign(mail(extra=extra, body=b"ACCEPT 2026-04-30, no boundary\r\n"))
    verdict = check(raw, dnsfunc=dns)
    refused(
        verdict,
        "The message has parser defects: MultipartInvariantViolationDefect, "
        "StartBoundaryNotFoundDefect.",
    )
    assert verdict.message is not None


# --- Authentication-Results of the trusted server -------------------------------------------


def ar(value: str) -> bytes:
    return f"Authentication-Results: {value}\r\n".encode()


@pytest.mark.parametrize(
    ("header", "evidence"),
    [
        ("mx.msp.example; dmarc=pass (p=reject) header.from=client.example", "dmarc=pass"),
        ("MX.MSP.example; dkim=pass header.d=client.example header.s=s1", "dkim=pass"),
        ("mx.msp.example; dkim=pass header.i=@eu.client.example", "dkim=pass"),
        ("mx.msp.example; spf=pass smtp.mailfrom=bounce@client.example", "spf=pass"),
    ],
)
def test_a_trusted_topmost_pass_counts(header, evidence):
    verdict = check(mail(top=ar(header) + b"Received: from mx by mx\r\n"))
    assert verdict.counted
    assert verdict.reason.startswith(
        f"alice@client.example is authenticated by mx.msp.example ({evidence} for "
    )
    assert verdict.checks["counted_by"] == "authentication-results"
    assert verdict.checks["authentication_results"]["used_index"] == 1


def test_the_reason_names_what_passed():
    header = (
        "mx.msp.example; spf=pass smtp.mailfrom=bounce@mail.client.example; "
        "dmarc=pass header.from=client.example"
    )
    verdict = check(mail(top=ar(header)))
    assert verdict.reason == (
        "alice@client.example is authenticated by mx.msp.example "
        "(spf=pass for mail.client.example)."
    )


def test_a_trusted_dmarc_fail_does_not_count_even_with_a_valid_signature(ed_client, dns):
    raw = ar(
        "mx.msp.example; dkim=pass header.d=client.example; dmarc=fail header.from=client.example"
    ) + ed_client.sign(mail())
    verdict = check(raw, dnsfunc=dns)
    refused(
        verdict,
        "alice@client.example is not authenticated: mx.msp.example reports dmarc=fail "
        "for client.example.",
    )
    assert "dkim" not in verdict.checks


def test_an_untrusted_authserv_id_is_ignored():
    raw = mail(top=ar("mx.attacker.example; dmarc=pass header.from=client.example"))
    verdict = check(raw)
    refused(
        verdict,
        "alice@client.example is not authenticated: there is no Authentication-Results "
        "header from mx.msp.example, and the message has no DKIM signature.",
    )
    assert verdict.checks["authentication_results"]["headers_seen"] == 1


def test_an_attacker_added_header_below_the_trusted_one_does_not_count():
    top = ar("mx.msp.example; spf=fail smtp.mailfrom=evil.example; dkim=none; dmarc=none")
    forged = ar("mx.msp.example; dmarc=pass header.from=client.example")
    verdict = check(mail(top=top + b"Received: from evil by mx\r\n" + forged))
    refused(
        verdict,
        "alice@client.example is not authenticated: the Authentication-Results header from "
        "mx.msp.example shows no pass aligned with client.example, and the message has no "
        "DKIM signature.",
    )
    assert verdict.checks["authentication_results"]["used_index"] == 1
    assert verdict.checks["authentication_results"]["headers_seen"] == 2


def test_a_trusted_header_below_another_servers_header_is_still_found():
    top = ar("relay.msp.example; dmarc=fail header.from=client.example")
    trusted = ar("mx.msp.example; dmarc=pass header.from=client.example")
    verdict = check(mail(top=top + trusted))
    assert verdict.counted
    assert verdict.checks["authentication_results"]["used_index"] == 2


@pytest.mark.parametrize(
    "header",
    [
        "mx.msp.example; dmarc=pass header.from=evil.example",
        "mx.msp.example; dkim=pass header.d=evil.example",
        "mx.msp.example; spf=pass smtp.mailfrom=bounce@evil.example",
        "mx.msp.example; dmarc=pass",
        "mx.msp.example; dkim=fail header.d=client.example; dmarc=none header.from=client.example",
    ],
)
def test_a_trusted_header_without_an_aligned_pass_does_not_count(header):
    refused(
        check(mail(top=ar(header))),
        "alice@client.example is not authenticated: the Authentication-Results header from "
        "mx.msp.example shows no pass aligned with client.example, and the message has no "
        "DKIM signature.",
    )


def test_without_a_trusted_authserv_id_only_our_own_dkim_check_can_count(ed_client, dns):
    header = ar("mx.msp.example; dmarc=pass header.from=client.example")
    refused(
        check(mail(top=header), trusted=None),
        "alice@client.example is not authenticated: no trusted authserv-id is configured, "
        "and the message has no DKIM signature.",
    )
    assert check(header + ed_client.sign(mail()), dnsfunc=dns, trusted="").counted


def test_a_trusted_header_without_a_pass_falls_back_to_our_own_dkim_check(ed_client, dns):
    header = ar("mx.msp.example; dkim=temperror header.d=client.example")
    verdict = check(header + ed_client.sign(mail()), dnsfunc=dns)
    assert verdict.counted and verdict.checks["counted_by"] == "dkim"


def test_an_unreadable_trusted_header_is_not_skipped_for_one_below_it():
    top = ar("mx.msp.example; dkim=")
    below = ar("mx.msp.example; dmarc=pass header.from=client.example")
    verdict = check(mail(top=top + below))
    refused(
        verdict,
        "alice@client.example is not authenticated: the Authentication-Results header from "
        "mx.msp.example cannot be parsed, and the message has no DKIM signature.",
    )
    assert verdict.checks["authentication_results"]["used_index"] == 1


def test_a_comment_before_the_trusted_authserv_id_is_understood():
    header = ar("(received here) mx.msp.example; dmarc=pass header.from=client.example")
    assert check(mail(top=header)).counted


def test_a_counting_signature_records_which_headers_it_signed(ed_client, dns):
    raw = ed_client.sign(mail(), include_headers=[b"from", b"subject", b"in-reply-to"])
    verdict = check(raw, dnsfunc=dns)
    assert verdict.counted
    assert verdict.checks["signed_headers"] == ["from", "subject"]


@pytest.mark.parametrize("name", [b"Subject", b"To", b"In-Reply-To", b"Message-ID"])
def test_a_second_copy_of_a_single_use_header_does_not_count(ed_client, dns, name):
    raw = (
        name
        + b": <forged@client.example>\r\n"
        + ed_client.sign(mail(extra=b"In-Reply-To: <p1@msp.example>\r\n"))
    )
    refused(
        check(raw, dnsfunc=dns),
        f"The message has 2 {name.decode()} headers; at most one is allowed.",
    )


def test_a_failing_dns_resolver_leaves_the_message_uncounted(ed_client):
    def broken(name: bytes, timeout: int = 5) -> bytes:
        raise RuntimeError("resolver down")

    verdict = check(ed_client.sign(mail()), dnsfunc=broken)
    refused(verdict, "The message could not be checked (RuntimeError).")
    assert verdict.checks["error"] == "RuntimeError: resolver down"
    assert verdict.from_address == "alice@client.example"


def test_a_signed_message_delivered_with_bare_newlines_counts(rsa_client, ed_client, dns):
    raw = ed_client.sign(rsa_client.sign(mail())).replace(b"\r\n", b"\n")
    verdict = check(raw, dnsfunc=dns)
    assert verdict.counted
    assert [s["a"] for s in verdict.checks["dkim"]["signatures"]] == ["ed25519-sha256"]


def test_the_evidence_lists_every_signature_that_did_not_count(ed_evil, rsa_client, dns):
    raw = ed_evil.sign(rsa_client.sign(mail()).replace(b"ACCEPT", b"REJECT"))
    verdict = check(raw, dnsfunc=dns, trusted=None)
    assert [(s["d"], s["counts"]) for s in verdict.checks["dkim"]["signatures"]] == [
        ("evil.example", False),
        ("client.example", False),
    ]
    assert verdict.checks["counted_by"] is None


def test_an_internationalised_client_domain_matches_its_ascii_form(ed_client, dns):
    raw = ed_client.sign(mail(b"From: Anna <anna@xn--caff-8oa.example>"))
    verdict = check(raw, dnsfunc=dns, allowed=["client.example", "Caffè.example"])
    assert verdict.checks["allowed_domains"] == ["client.example", "xn--caff-8oa.example"]
    assert verdict.checks["allowed_domain_matched"] == "xn--caff-8oa.example"
    refused(
        verdict,
        "anna@xn--caff-8oa.example is not authenticated: there is no Authentication-Results "
        "header from mx.msp.example, and the DKIM signature of client.example is not aligned "
        "with xn--caff-8oa.example.",
    )
