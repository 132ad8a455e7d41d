"""Sign-in events on the ``heeded.security`` log (docs/operations.md, "Security log").

One line per sign-in, sign-out, failed password, failed or used second factor, change
of second factor and password reset; lockouts are logged by ``accounts.lockout``.
``actor`` is ``user:<id>`` of whoever acts (``anonymous`` before sign-in); a failed
attempt names the account it tried as ``account`` (``user:<id>`` or
``login:<name>``), never the password.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest

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
