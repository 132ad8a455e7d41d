"""API authentication with per-user tokens stored as SHA-256 hashes (see accounts/tokens.py)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiToken, User
from accounts.tokens import looks_like_token, token_hash

# Writing last_used_at on every request would turn each read into a write;
# once a minute is enough to show that a token is alive.
TOUCH_EVERY = dt.timedelta(minutes=1)

KEYWORDS = ("bearer", "token")


class Msg:
    MALFORMED = "The Authorization header must be 'Bearer <token>'."
    INVALID = "Invalid or revoked token."


class HashedTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer hd_…`` (``Token hd_…`` is accepted too).

    A request without that header is left to the next authenticator (the session);
    a request with a wrong, revoked or disabled-account token is refused with 401,
    the same message for each case so a caller learns nothing about which it was.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(Msg.MALFORMED)
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(Msg.INVALID) from None
        if not looks_like_token(raw):
            raise exceptions.AuthenticationFailed(Msg.INVALID)
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=token_hash(raw), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(Msg.INVALID)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 when
        # credentials are missing or wrong.
        return self.keyword
