"""`heeded keys rotate` re-encrypts every evidence blob and second-factor secret with
the newest key."""

from __future__ import annotations

import hashlib
import io

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import decrypt
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command

from answers.choices import Outcome
from answers.models import InboundMessage
from lib import crypto


def _stored(now, data: bytes) -> InboundMessage:
    return InboundMessage.objects.create(
        received_at=now,
        raw_encrypted=crypto.encrypt(data),
        raw_sha256=hashlib.sha256(data).hexdigest(),
        outcome=Outcome.UNREADABLE,
    )


def test_rotation_moves_every_blob_to_the_newest_key(db, settings, now):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.HEEDED_ENCRYPTION_KEYS = [old]
    rows = [_stored(now, f"message {n}".encode()) for n in range(3)]
    settings.HEEDED_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("keys", "rotate", stdout=out)
    assert (
        "re-encrypted 3 blobs with the newest key"
        " (3 inbound e-mails, 0 form submissions, 0 second-factor secrets,"
        " 0 webhook signing secrets)" in out.getvalue()
    )
    settings.HEEDED_ENCRYPTION_KEYS = [new]  # the old key can now be dropped
    for n, row in enumerate(rows):
        row.refresh_from_db()
        assert crypto.decrypt(row.raw_encrypted) == f"message {n}".encode()


def test_rotation_stops_on_a_blob_no_configured_key_opens(db, settings, now):
    settings.HEEDED_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    row = _stored(now, b"secret")
    before = bytes(row.raw_encrypted)
    settings.HEEDED_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(
        CommandError, match="a blob was encrypted with a key that is not in HEEDED_ENCRYPTION_KEYS"
    ):
        call_command("keys", "rotate", stdout=io.StringIO())
    row.refresh_from_db()
    assert bytes(row.raw_encrypted) == before
    with pytest.raises(InvalidToken):
        crypto.decrypt(row.raw_encrypted)


def test_rotation_moves_second_factor_secrets_so_the_old_key_can_go(admin, settings):
    """A TOTP secret and a recovery-code seed are sealed with the installation's keys
    too: after `keys rotate` and dropping the old key, the same codes still work."""
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.HEEDED_ENCRYPTION_KEYS = [old]
    TOTP.activate(admin, secret)
    codes = RecoveryCodes.activate(admin).generate_codes()
    before = {a.pk: dict(a.data) for a in Authenticator.objects.filter(user=admin)}
    assert all(
        str(data.get("secret", data.get("seed"))).startswith("fernet:") for data in before.values()
    )

    settings.HEEDED_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("keys", "rotate", stdout=out)
    assert "2 second-factor secrets" in out.getvalue()

    settings.HEEDED_ENCRYPTION_KEYS = [new]
    totp_row = Authenticator.objects.get(user=admin, type=Authenticator.Type.TOTP)
    assert totp_row.data["secret"] != before[totp_row.pk]["secret"]
    assert decrypt(totp_row.data["secret"]) == secret
    recovery = Authenticator.objects.get(user=admin, type=Authenticator.Type.RECOVERY_CODES)
    assert RecoveryCodes(recovery).generate_codes() == codes


def test_rotation_moves_webhook_signing_secrets_which_are_never_stored_in_the_clear(
    admin, settings, now
):
    from followup.models import WebhookEndpoint
    from followup.services.webhooks import webhook_endpoint_create

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.HEEDED_ENCRYPTION_KEYS = [old]
    endpoint = webhook_endpoint_create(
        name="PSA", url="https://psa.example.com/hook", kind="standard", now=now, actor=admin
    )
    plain = endpoint.signing_secret()
    assert plain.startswith("whsec_")
    stored = WebhookEndpoint.objects.values_list("secret", flat=True).get(pk=endpoint.pk)
    assert plain not in stored and "whsec_" not in stored

    settings.HEEDED_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("keys", "rotate", stdout=out)
    assert "1 webhook signing secrets" in out.getvalue()
    settings.HEEDED_ENCRYPTION_KEYS = [new]
    endpoint.refresh_from_db()
    assert endpoint.signing_secret() == plain
