"""API token creation and revocation. The token text is shown once and never stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from accounts.models import ApiToken, User

PREFIX = "hd_"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_create(*, user: User, name: str, now: dt.datetime) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the token text (shown once)."""
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:10], key_hash=token_hash(raw), created_at=now
    )
    return token, raw


def token_revoke(*, token: ApiToken, now: dt.datetime) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
    return token
