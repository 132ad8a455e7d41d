"""`heeded keys rotate` re-encrypts every evidence blob with the newest key."""

from __future__ import annotations

import hashlib
import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command

from answers import crypto
from answers.choices import Outcome
from answers.models import InboundMessage


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
        "re-encrypted 3 blobs with the newest key (3 inbound e-mails, 0 form submissions)"
        in out.getvalue()
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
