"""The one authentication backend that checks passwords.

allauth's backend, given a login that looks like an e-mail address, is handed it both
as ``email`` and as ``username`` and looks the account up by e-mail for each, so a
wrong password for ``ada@msp.example`` was hashed twice. Here each account's password
is checked at most once per attempt (issue 13: one hash per attempt).
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


class StaffAuthenticationBackend(AuthenticationBackend):
    """allauth's backend with at most one password check per account and attempt."""

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, **credentials: Any
    ) -> AbstractBaseUser | None:
        self._checked: set[object] = set()
        return super().authenticate(request, **credentials)

    def _check_password(
        self, user: AbstractBaseUser | None, password: str
    ) -> AbstractBaseUser | None:
        if user is None or user.pk in self._checked:
            # Checked already in this attempt: the same password fails again.
            return None
        self._checked.add(user.pk)
        return super()._check_password(user, password)
