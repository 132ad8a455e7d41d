"""Security keys (WebAuthn) as a second factor, through allauth's pages, with a
software authenticator: a P-256 key that answers the ceremonies as a hardware key
would ("none" attestation), so the server's checks (challenge, origin, host, signature,
counter) all run for real."""

from __future__ import annotations

import hashlib
import json
import os
import re

import pytest
from allauth.mfa.models import Authenticator
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cose
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
ORIGIN = "http://testserver"
ADD = "/accounts/2fa/webauthn/add/"
FLAGS = AuthenticatorData.FLAG


class SoftwareKey:
    """One credential of a security key, for the host ``testserver``."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0
        self.rp_id_hash = hashlib.sha256(b"testserver").digest()

    def _client_data(self, kind: str, challenge: str) -> CollectedClientData:
        return CollectedClientData.create(kind, websafe_decode(challenge), ORIGIN)

    def register(self, options: dict) -> dict:
        public = options["publicKey"]
        client_data = self._client_data("webauthn.create", public["challenge"])
        credential = AttestedCredentialData.create(
            Aaguid.NONE,
            self.credential_id,
            cose.ES256.from_cryptography_key(self.private.public_key()),
        )
        auth_data = AuthenticatorData.create(
            self.rp_id_hash, FLAGS.UP | FLAGS.AT, self.counter, bytes(credential)
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(bytes(client_data)),
                "attestationObject": websafe_encode(bytes(attestation)),
            },
            "clientExtensionResults": {"credProps": {"rk": False}},
        }

    def sign_in(self, options: dict) -> dict:
        public = options["publicKey"]
        client_data = self._client_data("webauthn.get", public["challenge"])
        self.counter += 1
        auth_data = AuthenticatorData.create(self.rp_id_hash, FLAGS.UP, self.counter)
        signed = bytes(auth_data) + hashlib.sha256(bytes(client_data)).digest()
        signature = self.private.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(bytes(client_data)),
                "authenticatorData": websafe_encode(bytes(auth_data)),
                "signature": websafe_encode(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }


def _js_data(page) -> dict:
    found = re.search(
        r'<script id="js_data" type="application/json">(.*?)</script>', page.content.decode()
    )
    assert found, page.content.decode()[:2000]
    return json.loads(found.group(1))


def _fresh_sign_in(client) -> None:
    """Sign in with the password: adding a key asks for a recent sign-in."""
    assert (
        client.post("/accounts/login/", {"login": "ada", "password": PASSWORD}).status_code == 302
    )


@pytest.fixture
def insecure_origin_for_the_test_client(settings):
    # The test client speaks http://testserver; a browser needs HTTPS (or localhost).
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True


def test_an_admin_who_must_have_a_factor_may_add_a_security_key_and_sign_in_with_it(
    client, admin, settings, insecure_origin_for_the_test_client, security_events
):
    settings.HEEDED_MFA_REQUIRED = "admins"
    key = SoftwareKey()
    client.post("/accounts/login/", {"login": "ada", "password": PASSWORD})
    assert client.get("/")["Location"] == "/accounts/2fa/totp/activate/"

    page = client.get(ADD)
    assert page.status_code == 200
    options = _js_data(page)["creation_options"]
    assert options["publicKey"]["rp"]["id"] == "testserver"
    added = client.post(
        ADD,
        {"name": "YubiKey 5C di Niccolò D'Angelo", "credential": json.dumps(key.register(options))},
    )
    assert added.status_code == 302, added.content.decode()[:2000]

    row = Authenticator.objects.get(user=admin, type=Authenticator.Type.WEBAUTHN)
    assert row.wrap().name == "YubiKey 5C di Niccolò D'Angelo"
    assert client.get("/").status_code == 200  # the requirement is met
    client.post("/accounts/logout/")

    client.post("/accounts/login/", {"login": "ada", "password": PASSWORD})
    challenge = client.get("/accounts/2fa/authenticate/")
    assert challenge.status_code == 200
    request_options = _js_data(challenge)["request_options"]
    signed_in = client.post(
        "/accounts/2fa/authenticate/", {"credential": json.dumps(key.sign_in(request_options))}
    )
    assert signed_in.status_code == 302
    assert client.get("/").status_code == 200
    events = [(r.event, r.fields.get("kind")) for r in security_events]
    assert ("mfa_added", "webauthn") in events and ("mfa_used", "webauthn") in events


def test_a_key_answering_another_challenge_is_refused_and_nothing_is_stored(
    client, admin, insecure_origin_for_the_test_client
):
    _fresh_sign_in(client)
    key = SoftwareKey()
    stale = _js_data(client.get(ADD))["creation_options"]
    client.get(ADD)  # a new challenge replaces the first

    refused = client.post(ADD, {"name": "Old key", "credential": json.dumps(key.register(stale))})

    assert refused.status_code == 200
    assert refused.context["form"].errors
    assert not Authenticator.objects.filter(type=Authenticator.Type.WEBAUTHN).exists()


def test_without_the_test_exception_an_http_origin_is_refused(client, admin):
    _fresh_sign_in(client)
    key = SoftwareKey()
    options = _js_data(client.get(ADD))["creation_options"]

    refused = client.post(ADD, {"name": "Key", "credential": json.dumps(key.register(options))})

    assert refused.status_code == 200
    assert not Authenticator.objects.filter(type=Authenticator.Type.WEBAUTHN).exists()


def test_the_two_factor_page_offers_a_security_key(client, admin):
    client.force_login(admin)
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200
    assert ADD in page.content.decode()


def test_the_add_page_runs_only_script_files_the_site_policy_allows(client, admin):
    _fresh_sign_in(client)
    page = client.get(ADD)

    assert page.status_code == 200
    scripts = re.findall(r"<script([^>]*)>", page.content.decode())
    assert scripts
    # No inline code: each script is a file of this site or inert JSON data.
    assert all('src="/static/' in attrs or 'type="application/json"' in attrs for attrs in scripts)
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1]
