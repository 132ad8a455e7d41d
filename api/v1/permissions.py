"""Who may call what. Which *rows* a user sees is the selectors' business (404 otherwise);
these classes only decide whether a kind of request is allowed at all (403).

The rule itself lives in ``accounts.permissions`` (the services check it too); these
classes ask it early so that a refused request is not even parsed.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.permissions import Capability, Msg, refusal


def _is_staff(request: Request) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_active)


class IsStaffUser(BasePermission):
    """Any active staff account may read; writes need ``capability``."""

    message = Msg.READ_ONLY
    capability = Capability.WRITE

    def has_permission(self, request: Request, view: Any) -> bool:
        if not _is_staff(request):
            return False
        if request.method in SAFE_METHODS:
            return True
        refused = refusal(request.user, self.capability)
        if refused is None:
            return True
        self.message = refused
        return False


class IsAdminForWrites(IsStaffUser):
    """Staff may read; only admins and account managers may write (the catalog)."""

    capability = Capability.MANAGE_CATALOG


class CanManageClientsForWrites(IsStaffUser):
    """Staff may read; only writers who see every client may add one (a technician
    would create a client outside their own assignments, which they could not see)."""

    capability = Capability.MANAGE_CLIENTS
