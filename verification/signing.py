"""The collector's signature: ``X-Heeded-Signature`` is the hex HMAC-SHA256 of
``<timestamp>.<body>`` keyed with the SHA-256 (hex) of the enrollment token, sent with
``X-Heeded-Key`` (the token's key id) and ``X-Heeded-Timestamp`` (Unix seconds).
A timestamp more than five minutes from the server's clock is refused, so a captured
report cannot be replayed later; within the window a replay is a repeat document,
which changes nothing (docs/collector.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from verification.models import EnrollmentToken

REPLAY_WINDOW = dt.timedelta(minutes=5)


class Msg:
    MISSING = "Send X-Heeded-Key, X-Heeded-Timestamp and X-Heeded-Signature."
    BAD_TIMESTAMP = "X-Heeded-Timestamp must be Unix seconds."
    OUT_OF_WINDOW = (
        "X-Heeded-Timestamp is {delta} seconds from the server's clock; the window is 300. "
        "Check the machine's clock."
    )
    BAD_SIGNATURE = "The signature does not match this enrollment token."
    REVOKED = "This enrollment token was revoked."


class SignatureError(Exception):
    code = "not_authenticated"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sign(*, digest: str, timestamp: str, body: bytes) -> str:
    """The signature the collector sends (its PowerShell twin is in the collector)."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(digest.encode("ascii"), message, hashlib.sha256).hexdigest()


def signature_check(
    *, key_id: str, timestamp: str, signature: str, body: bytes, now: dt.datetime
) -> EnrollmentToken:
    """The token that signed ``body``, or SignatureError saying why not. An unknown key
    id and a wrong signature get the same answer, so key ids cannot be probed."""
    if not (key_id and timestamp and signature):
        raise SignatureError(Msg.MISSING)
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError(Msg.BAD_TIMESTAMP) from None
    delta = sent - int(now.timestamp())
    if abs(delta) > REPLAY_WINDOW.total_seconds():
        raise SignatureError(Msg.OUT_OF_WINDOW.format(delta=delta))
    token = EnrollmentToken.objects.select_related("client").filter(key_id=key_id).first()
    digest = token.digest if token is not None else "0" * 64
    expected = sign(digest=digest, timestamp=timestamp, body=body)
    if token is None or not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureError(Msg.BAD_SIGNATURE)
    if token.revoked_at is not None:
        raise SignatureError(Msg.REVOKED)
    return token
