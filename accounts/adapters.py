from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.lockout import account_key
from lib.clientip import client_ip


class StaffAccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by an admin, never by self sign-up."""

    def is_open_for_signup(self, request) -> bool:
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's rate limits count per address: the same client address as axes,
        # X-Forwarded-For believed only from HEEDED_TRUSTED_PROXIES.
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth's "login_failed" limit per key counts the login string as typed
        # (lower-cased); count it per account and client address instead, like the
        # axes pair lock, so "admin" and "admin@…" share one counter while the owner
        # signing in from elsewhere is not refused because of someone else's guesses.
        # Private in allauth 65.22 (pinned): test_lockout_ratelimit.py fails if allauth
        # stops calling it.
        key = account_key(request, credentials) or ""
        address = client_ip(request) or ""
        return f"{super()._get_login_attempts_cache_key(request)}{key}@{address}"
