"""Staff sessions end after a quiet spell and after a fixed time whatever happens.

``HEEDED_SESSION_IDLE_MINUTES`` (default 60): a session not used for that long is
over. ``HEEDED_SESSION_MAX_HOURS`` (default 12): a session is over that long after
its sign-in, however busy. Both are checked on the server, on every request, from two
times kept in the session; the cookie's own lifetime (``SESSION_COOKIE_AGE``) is the
absolute limit too, so a browser drops it by then anyway. The last-seen time is
written at most once a minute, so most requests do not write the session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop

from lib.securitylog import security_event

SIGNED_IN_AT = "heeded.signed_in_at"
SEEN_AT = "heeded.seen_at"
_SEEN_RESOLUTION = 60  # seconds
EXPIRED = gettext_noop("Your session has ended. Sign in again to continue.")


def start_session(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Receiver of ``user_logged_in``: the clock of the new session starts now."""
    session = getattr(request, "session", None)
    if session is not None:
        now = time.time()
        session[SIGNED_IN_AT] = now
        session[SEEN_AT] = now


def expiry_reason(session: Any, now: float) -> str | None:
    """``idle`` or ``max_age`` when the session is over at ``now``, else None."""
    signed_in = session.get(SIGNED_IN_AT)
    seen = session.get(SEEN_AT)
    if isinstance(signed_in, int | float) and now - signed_in > (
        settings.HEEDED_SESSION_MAX_HOURS * 3600
    ):
        return "max_age"
    if isinstance(seen, int | float) and now - seen > settings.HEEDED_SESSION_IDLE_MINUTES * 60:
        return "idle"
    return None


class SessionExpiryMiddleware:
    """Ends an idle or too old session; after AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session, now = request.session, time.time()
            reason = expiry_reason(session, now)
            if reason is not None:
                actor = f"user:{user.pk}"
                logout(request)
                security_event("session_expired", actor=actor, reason=reason)
                if not request.path_info.startswith("/api/"):
                    messages.info(request, gettext(EXPIRED), fail_silently=True)
                    query = urlencode({"next": request.get_full_path()})
                    return HttpResponseRedirect(f"{reverse('account_login')}?{query}")
            else:
                session.setdefault(SIGNED_IN_AT, now)
                seen = session.get(SEEN_AT)
                if not isinstance(seen, int | float) or now - seen >= _SEEN_RESOLUTION:
                    session[SEEN_AT] = now
        return self.get_response(request)
