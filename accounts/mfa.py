"""Two-factor sign-in: who must have it, and its secrets sealed at rest.

``HEEDED_MFA_REQUIRED`` says who must have a second factor (an authenticator app,
TOTP, or a security key, WebAuthn): ``admins`` (the default), ``all`` staff, or
``none``. A signed-in user who must and has none is sent to set one up before any other
page (``MfaRequiredMiddleware``) and cannot remove their last one (``StaffMFAAdapter``).
Recovery codes alone do not count: they are the spare key, not the lock.

API tokens are not affected: a token is its own credential, made by an admin with
``heeded tokens`` and stored hashed; the API refuses a *session* of a user who still
has to set up a second factor, as every page does.

allauth keeps the TOTP secret and the recovery-code seed in its ``Authenticator``
table; here they are encrypted with the installation's keys (``HEEDED_ENCRYPTION_KEYS``,
MultiFernet, newest first), so a database dump or a backup alone cannot mint codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop

from accounts.models import User
from lib import crypto

# The factors that count as a second factor; recovery codes only back them up.
SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
_SEALED_PREFIX = "fernet:"
MFA_FIRST = gettext_noop(
    "Your account must sign in with two factors. Set up an authenticator app to continue."
)


def mfa_required(user: User) -> bool:
    """True when ``user`` must sign in with a second factor (HEEDED_MFA_REQUIRED)."""
    mode = settings.HEEDED_MFA_REQUIRED
    if mode == "none" or not user.is_authenticated:
        return False
    return mode == "all" or user.is_admin


def has_second_factor(user: User) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTORS).exists()


# The session remembers that its user has a second factor, so the middleware asks the
# authenticator table once per session, not on every page. Removing a factor clears it
# in the session that removed it (``forget_second_factor``). Another session of the same
# user keeps it, which matters only if the factor was removed while not required and is
# required again before that session ends: the adapter refuses to remove the last factor
# while it is required, and sessions end after HEEDED_SESSION_MAX_HOURS.
SESSION_HAS_FACTOR = "heeded_mfa_factor_of"


def forget_second_factor(
    sender: object, request: HttpRequest | None, user: User, **kwargs: object
) -> None:
    """Receiver of allauth's ``authenticator_removed``: ask the table again next time."""
    session = getattr(request, "session", None)
    if session is not None:
        session.pop(SESSION_HAS_FACTOR, None)


def _has_second_factor_remembered(request: HttpRequest, user: User) -> bool:
    session = request.session
    if session.get(SESSION_HAS_FACTOR) == user.pk:
        return True
    if not has_second_factor(user):
        return False
    session[SESSION_HAS_FACTOR] = user.pk
    return True


def must_set_up_mfa(user: User) -> bool:
    """True when ``user`` must have a second factor and has none yet."""
    return mfa_required(user) and not has_second_factor(user)


class StaffMFAAdapter(DefaultMFAAdapter):
    """allauth's MFA adapter with sealed secrets and a second factor kept when required."""

    def encrypt(self, text: str) -> str:
        return _SEALED_PREFIX + crypto.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(_SEALED_PREFIX):
            return encrypted_text  # stored before sealing was introduced
        try:
            token = encrypted_text.removeprefix(_SEALED_PREFIX).encode("ascii")
            return crypto.decrypt(token).decode("utf-8")
        except crypto.InvalidToken:
            # A key was removed from HEEDED_ENCRYPTION_KEYS too early: no code can match.
            return ""

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        if authenticator.type not in SECOND_FACTORS or not mfa_required(authenticator.user):
            return True
        others = Authenticator.objects.filter(
            user_id=authenticator.user_id, type__in=SECOND_FACTORS
        ).exclude(pk=authenticator.pk)
        return others.exists()


# Pages a user who must set up a second factor may still open: the set-up itself (an
# authenticator app or a security key), signing out, re-entering the password that
# set-up may ask for, and static files.
_OPEN_URL_NAMES = [
    "mfa_index",
    "mfa_activate_totp",
    "mfa_add_webauthn",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "account_logout",
    "account_reauthenticate",
]
_OPEN_PREFIXES = ["/static/", "/healthz"]


class MfaRequiredMiddleware:
    """Sends a signed-in user who must have a second factor, and has none, to set one
    up; under /api/ their session is simply not accepted (tokens still are)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._open: set[str] | None = None

    def _open_paths(self) -> set[str]:
        if self._open is None:
            self._open = {reverse(name) for name in _OPEN_URL_NAMES}
        return self._open

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            isinstance(user, User)
            and mfa_required(user)
            and not self._is_open(request.path_info)
            and not _has_second_factor_remembered(request, user)
        ):
            if request.path_info.startswith("/api/"):
                request.user = AnonymousUser()
            else:
                messages.warning(request, gettext(MFA_FIRST), fail_silently=True)
                return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return self.get_response(request)

    def _is_open(self, path: str) -> bool:
        return path in self._open_paths() or any(path.startswith(p) for p in _OPEN_PREFIXES)


def rotate_sealed_secrets() -> int:
    """Re-encrypt every sealed second-factor secret (TOTP secrets, recovery-code seeds)
    with the newest key; returns how many authenticators changed. Raises
    ``crypto.InvalidToken`` (and stops) at one sealed with a key no longer configured.
    Secrets stored before sealing are sealed on the way."""

    def reseal(data: dict[str, Any] | None) -> dict[str, Any] | None:
        fresh = dict(data or {})
        for name in ("secret", "seed"):
            value = fresh.get(name)
            if not isinstance(value, str) or not value:
                continue
            if value.startswith(_SEALED_PREFIX):
                token = crypto.rotate(value.removeprefix(_SEALED_PREFIX).encode("ascii"))
            else:
                token = crypto.encrypt(value.encode("utf-8"))
            fresh[name] = _SEALED_PREFIX + token.decode("ascii")
        return fresh if fresh != (data or {}) else None

    return crypto.reseal_rows(Authenticator.objects.all(), "data", reseal)
