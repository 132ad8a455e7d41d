from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

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
