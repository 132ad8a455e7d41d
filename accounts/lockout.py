"""Login lockout per account and per client address, on top of django-axes.

Axes counts failed logins under a "username" and an "ip_address". Left to itself it
takes the username as typed, while allauth finds the account case-insensitively and
by e-mail address too, so ``admin``, ``ADMIN`` and ``admin@msp.example`` each had a
lock of their own. Here the username axes sees is the account the login string names
(``account_key``), and the address is the client behind any trusted proxy
(``lib.clientip.client_ip``). The rule (docs/operations.md, "Login lockout"): within
the cool-off hour an attempt is refused, before any password is hashed, while

- its account has ``HEEDED_LOGIN_FAILURE_LIMIT`` failures from its address,
- its address has ``HEEDED_LOGIN_ADDRESS_FAILURE_LIMIT`` failures, whatever the names, or
- its account has ``HEEDED_LOGIN_ACCOUNT_FAILURE_LIMIT`` failures from all addresses,
  each address counting at most ``HEEDED_LOGIN_FAILURE_LIMIT`` of them.

So one address hammering one account locks that pair only: the owner signing in from
elsewhere still gets in. Only guessing spread over many addresses
(``ACCOUNT_LIMIT / FAILURE_LIMIT`` of them, 10 by default) locks the account
everywhere, which bounds the password checks an account can suffer per hour.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Q, Sum
from django.http import HttpRequest

from accounts.models import User
from lib.securitylog import security_event

# AccessAttempt.username is a CharField(max_length=255).
_KEY_LENGTH = 255


def _normalised(login: str) -> str:
    """The login string as the lock of an unknown name: NFKC, trimmed, case-folded,
    control characters dropped (so a key can never break a log line)."""
    text = unicodedata.normalize("NFKC", login).strip().casefold()
    return "".join(c for c in text if c.isprintable())


def account_for(login: str) -> User | None:
    """The account a login string names, or None.

    A superset of what the authentication backends accept: the username or an e-mail
    address (the user's own or one of allauth's), ignoring case, surrounding spaces
    and Unicode compatibility forms. When one string names two accounts (a username
    that is another user's address), the oldest account holds the lock.
    """
    spellings = {login.strip(), unicodedata.normalize("NFKC", login).strip()}
    spellings |= {s.casefold() for s in spellings}
    spellings.discard("")
    if not spellings:
        return None
    match = Q()
    for spelling in spellings:
        match |= (
            Q(username__iexact=spelling)
            | Q(email__iexact=spelling)
            | Q(emailaddress__email__iexact=spelling)
        )
    return User.objects.filter(match).order_by("pk").first()


def account_key(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """The name axes counts failures under (``AXES_USERNAME_CALLABLE``).

    ``user:<pk>`` when the login string names an account, whatever its spelling;
    otherwise ``login:<normalised string>``, so an unknown name is locked after as
    many failures as a known one and a lockout says nothing about which names exist.
    None when there is no login string at all.
    """
    login = _login_string(request, credentials)
    if login is None:
        return None
    user = account_for(login)
    if user is not None:
        return f"user:{user.pk}"
    return f"login:{_normalised(login)}"[:_KEY_LENGTH]


def _login_string(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    if credentials is not None:
        # allauth passes ``username`` and/or ``email``; Django's user_logged_in path
        # passes ``username`` (the account's own); both hold the same string.
        values = [credentials.get("username"), credentials.get("email")]
    else:
        values = [request.POST.get("login")] if request is not None else []
    for value in values:
        if isinstance(value, str) and value.strip():
            return value
    return None


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with the three limits above and a reset that spares
    other addresses.

    Attempts are stored in the database, so every process and node sees the same
    counts; AxesStandaloneBackend asks ``is_locked`` (hence ``get_failures``) before
    the authentication backend hashes anything.
    """

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        limit = get_failure_limit(request, credentials)
        address = request.axes_ip_address  # type: ignore[attr-defined]
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        from_address = recent.filter(ip_address=address).aggregate(n=Sum("failures_since_start"))
        pair = account = 0
        username = get_client_username(request, credentials)
        if username is not None:
            per_address = (
                recent.filter(username=username)
                .values("ip_address")
                .annotate(n=Sum("failures_since_start"))
                .values_list("ip_address", "n")
            )
            for ip, failures in per_address:
                if ip == address:
                    pair = failures
                account += min(failures, limit)
        # Axes compares one number with one limit: each count is put on that scale.
        # floor(n * limit / own_limit) >= limit exactly when n >= own_limit.
        return max(
            pair,
            (from_address["n"] or 0) * limit // settings.HEEDED_LOGIN_ADDRESS_FAILURE_LIMIT,
            account * limit // settings.HEEDED_LOGIN_ACCOUNT_FAILURE_LIMIT,
        )

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        # A right password clears the account's failures from this address only. It
        # proves nothing about the address (clearing its count would let someone
        # guessing many accounts wipe it by signing in to their own now and then), nor
        # about other addresses (clearing theirs would hand a locked-out guesser
        # elsewhere a fresh round whenever the owner signs in).
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(
            username=username,
            ip_address=request.axes_ip_address,  # type: ignore[attr-defined]
        ).delete()
        return count


def log_lockout(
    sender: object,
    request: HttpRequest,
    username: str | None,
    ip_address: str | None,
    **kwargs: Any,
) -> None:
    """Receiver of axes' ``user_locked_out``: one line per refused or locking attempt."""
    security_event(
        "login_locked_out",
        level=logging.WARNING,
        actor="anonymous",
        account=username or "",
        address=ip_address or "",
    )
