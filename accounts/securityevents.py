"""Security events on the ``heeded.security`` log (docs/operations.md, "Security log").

One line per sign-in, sign-out, failed password, failed or used second factor, change
of second factor and password reset; lockouts are logged by ``accounts.lockout``.
``actor`` is ``user:<id>`` of whoever acts (``anonymous`` before sign-in); a failed
attempt names the account it tried as ``account`` (``user:<id>`` or
``login:<name>``), never the password.

Refusals elsewhere are logged through ``request_event``, which names the request's
actor (``user:<id>``, ``contact:<id>`` on the client portal, else ``anonymous``) and
address: a denied page or API call (``access_denied``, ``SecurityEventMiddleware`` and
the API's error handler), a refused answer link, portal sign-in link or invitation
(``link_refused``), a refused endpoint report (``report_refused``). An unverified
inbound e-mail has no request of its own (``inbound_unverified``, logged by
``answers.services.inbound``). Secrets (tokens, passwords) are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from accounts.lockout import account_key
from lib.clientip import client_ip
from lib.securitylog import security_event


def _actor(user: Any) -> str:
    pk = getattr(user, "pk", None)
    return f"user:{pk}" if pk is not None else "anonymous"


def _address(request: HttpRequest | None) -> str:
    if request is None or not hasattr(request, "META"):
        return ""
    return client_ip(request) or ""


def request_actor(request: HttpRequest | None) -> str:
    """Who makes ``request``: a signed-in staff user, a contact signed in to the portal
    (``request.portal_contact``, set by the portal's pages), or ``anonymous``."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return _actor(user)
    contact = getattr(request, "portal_contact", None)
    if contact is not None:
        return f"contact:{contact.pk}"
    return "anonymous"


def request_event(
    request: HttpRequest | None,
    event: str,
    *,
    level: int = logging.WARNING,
    actor: str | None = None,
    **fields: object,
) -> None:
    """Log ``event`` of ``request`` with its actor (unless given) and client address."""
    security_event(
        event,
        level=level,
        actor=actor or request_actor(request),
        **fields,
        address=_address(request),
    )


def access_denied(request: HttpRequest, status: int) -> None:
    """A page or API call refused: 404 for what the actor may not see (the same answer
    as for what does not exist, so this line does not tell them apart either), 403 for
    what their role may not do."""
    request_event(
        request, "access_denied", status=status, method=request.method or "", path=request.path
    )


class SecurityEventMiddleware:
    """Logs ``access_denied`` for a page that raised Http404 or PermissionDenied (the
    API's refusals are logged by its error handler; a URL that matches no route never
    reaches a view and is not logged)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, Http404):
            access_denied(request, 404)
        elif isinstance(exception, PermissionDenied):
            access_denied(request, 403)


def logged_in(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    security_event("login_succeeded", actor=_actor(user), address=_address(request))


def logged_out(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    security_event("logout", actor=_actor(user), address=_address(request))


def login_failed(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if request is not None and getattr(request, "axes_locked_out", False):
        return  # refused by the lockout, which logs its own line
    security_event(
        "login_failed",
        level=logging.WARNING,
        actor="anonymous",
        account=account_key(request, credentials) or "",
        address=_address(request),
    )


def second_factor_failed(
    sender: object, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    authenticator = kwargs.get("authenticator")
    security_event(
        "mfa_failed",
        level=logging.WARNING,
        actor=_actor(user),
        kind=getattr(authenticator, "type", ""),
        address=_address(request),
    )


def _authenticator_event(event: str) -> Any:
    def receiver(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
        authenticator = kwargs.get("authenticator")
        security_event(
            event,
            actor=_actor(user),
            kind=getattr(authenticator, "type", ""),
            address=_address(request),
        )

    return receiver


mfa_used = _authenticator_event("mfa_used")
mfa_added = _authenticator_event("mfa_added")
mfa_removed = _authenticator_event("mfa_removed")
mfa_reset = _authenticator_event("mfa_reset")


def password_reset(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    security_event("password_reset", actor=_actor(user), address=_address(request))


def password_changed(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    security_event("password_changed", actor=_actor(user), address=_address(request))


def connect() -> None:
    """Connect every receiver (from AccountsConfig.ready)."""
    from allauth.account import signals as account_signals
    from allauth.mfa import signals as mfa_signals
    from django.contrib.auth import signals as auth_signals

    uid = "heeded.accounts.securityevents."
    auth_signals.user_logged_in.connect(logged_in, dispatch_uid=uid + "in")
    auth_signals.user_logged_out.connect(logged_out, dispatch_uid=uid + "out")
    auth_signals.user_login_failed.connect(login_failed, dispatch_uid=uid + "failed")
    mfa_signals.authentication_failed.connect(second_factor_failed, dispatch_uid=uid + "mfa-fail")
    mfa_signals.authenticator_used.connect(mfa_used, dispatch_uid=uid + "mfa-used")
    mfa_signals.authenticator_added.connect(mfa_added, dispatch_uid=uid + "mfa-added")
    mfa_signals.authenticator_removed.connect(mfa_removed, dispatch_uid=uid + "mfa-removed")
    mfa_signals.authenticator_reset.connect(mfa_reset, dispatch_uid=uid + "mfa-reset")
    account_signals.password_reset.connect(password_reset, dispatch_uid=uid + "reset")
    account_signals.password_changed.connect(password_changed, dispatch_uid=uid + "changed")
