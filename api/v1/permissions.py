"""Who may call what. Which *rows* a user sees is the selectors' business (404 otherwise);
these classes only decide whether a kind of request is allowed at all (403)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class Msg:
    READ_ONLY = "This account may read but not change anything."
    ADMIN_ONLY = "Only an admin may change the catalog."
    CLIENT_MANAGERS_ONLY = "Only admins and account managers may add clients."


def _is_staff(request: Request) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_active)


class IsStaffUser(BasePermission):
    """Any active staff account may read; auditors may not write."""

    message = Msg.READ_ONLY

    def has_permission(self, request: Request, view: Any) -> bool:
        if not _is_staff(request):
            return False
        return request.method in SAFE_METHODS or request.user.can_write


class IsAdminForWrites(IsStaffUser):
    """Staff may read; only admins may write (the catalog)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS or request.user.is_admin:
            return True
        self.message = Msg.ADMIN_ONLY
        return False


class CanManageClientsForWrites(IsStaffUser):
    """Staff may read; only writers who see every client may add one (a technician
    would create a client outside their own assignments, which they could not see)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS or request.user.sees_all_clients:
            return True
        self.message = Msg.CLIENT_MANAGERS_ONLY
        return False
