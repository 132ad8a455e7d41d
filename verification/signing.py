"""The collector's signature: ``X-Heeded-Signature`` is the hex HMAC-SHA256 of
``<timestamp>.<body>`` keyed with the SHA-256 (hex) of the enrollment token, sent with
``X-Heeded-Key`` (the token's key id) and ``X-Heeded-Timestamp`` (Unix seconds).
A timestamp more than five minutes from the server's clock is refused, so a captured
report cannot be replayed later; within the window a replay is a repeat document,
which changes nothing (docs/collector.md).

The rules live here; the token is read by ``verification.services.
collector_report_receive`` in the same query as the device it reports for."""

from __future__ import annotations

import datetime as dt
import hmac

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
    return hmac.digest(digest.encode("ascii"), message, "sha256").hex()


def timestamp_check(*, key_id: str, timestamp: str, signature: str, now: dt.datetime) -> None:
    """SignatureError unless the three headers are there and the timestamp is within
    the replay window of ``now``: checked before anything is read."""
    if not (key_id and timestamp and signature):
        raise SignatureError(Msg.MISSING)
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError(Msg.BAD_TIMESTAMP) from None
    delta = sent - int(now.timestamp())
    if abs(delta) > REPLAY_WINDOW.total_seconds():
        raise SignatureError(Msg.OUT_OF_WINDOW.format(delta=delta))


def signature_verify(
    *, digest: str | None, revoked: bool, timestamp: str, signature: str, body: bytes
) -> None:
    """SignatureError unless ``signature`` is the body's, signed with the token whose
    stored ``digest`` the caller read by the key id (None: no such token), and that
    token is not revoked. An unknown key id and a wrong signature get the same answer,
    after the same work, so key ids cannot be probed."""
    expected = sign(digest=digest or "0" * 64, timestamp=timestamp, body=body)
    if digest is None or not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureError(Msg.BAD_SIGNATURE)
    if revoked:
        raise SignatureError(Msg.REVOKED)
