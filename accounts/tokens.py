"""API tokens: created, listed and revoked here; the token text is shown once, never stored.

A token is ``hd_`` followed by 43 URL-safe characters (256 random bits). Only its
SHA-256 is kept: a token has far too much entropy for a fast hash to be guessable, and
a fast hash lets every request find its token through the unique index on ``key_hash``.
The first 12 characters are kept as ``prefix`` so people can tell tokens apart and
revoke one without having the whole text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.models import ApiToken, User

PREFIX = "hd_"
PREFIX_LENGTH = 12
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length


class Msg:
    """Stable error messages; the command and the tests rely on their wording."""

    NAME_REQUIRED = "A token needs a name, e.g. the integration that will use it."
    NAME_TOO_LONG = f"A token name has at most {NAME_MAX_LENGTH} characters."
    USER_DISABLED = "The account {username!r} is disabled; enable it before giving it a token."
    NOT_FOUND = "No token matches {prefix!r}; `heeded token list USER` shows the prefixes."
    AMBIGUOUS_PREFIX = "Several tokens have the prefix {prefix!r}; give the whole token instead."


def token_hash(raw: str) -> str:
    """The SHA-256 of the token text, as stored in ``ApiToken.key_hash``."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def looks_like_token(raw: str) -> bool:
    """True when ``raw`` has the shape of a token this module issues: a cheap check that
    spares the database a lookup for text that cannot be a token."""
    return raw.startswith(PREFIX) and PREFIX_LENGTH < len(raw) <= 200


def token_create(*, user: User, name: str, now: dt.datetime) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the token text (shown once).

    Raises ValidationError (field ``name`` or ``user``) for an empty or too long name
    or a disabled account.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": [Msg.NAME_REQUIRED]}, code="required")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [Msg.NAME_TOO_LONG]}, code="max_length")
    if not user.is_active:
        raise ValidationError(
            {"user": [Msg.USER_DISABLED.format(username=user.get_username())]}, code="inactive"
        )
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[:PREFIX_LENGTH],
        key_hash=token_hash(raw),
        created_at=now,
    )
    return token, raw


def token_list_for(user: User) -> QuerySet[ApiToken]:
    """The user's tokens, revoked ones included, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def token_find(text: str) -> ApiToken:
    """The token whose prefix (as ``heeded token list`` shows it) or whole text is ``text``.

    Raises ValidationError when no token, or more than one, matches. The message never
    repeats more than the prefix, so a whole token does not end up in a log.
    """
    text = text.strip()
    shown = text[:PREFIX_LENGTH] + ("…" if len(text) > PREFIX_LENGTH else "")
    if len(text) > PREFIX_LENGTH:
        matches = list(ApiToken.objects.filter(key_hash=token_hash(text)).select_related("user"))
    else:
        matches = list(ApiToken.objects.filter(prefix=text).select_related("user")[:3])
    if not matches:
        raise ValidationError(Msg.NOT_FOUND.format(prefix=shown), code="not_found")
    if len(matches) > 1:
        raise ValidationError(Msg.AMBIGUOUS_PREFIX.format(prefix=shown), code="ambiguous")
    return matches[0]


def token_revoke(*, token: ApiToken, now: dt.datetime) -> ApiToken:
    """Revoke the token from ``now`` on; revoking a revoked token keeps its first date."""
    # A conditional update: two revocations racing keep the first date.
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    return token
