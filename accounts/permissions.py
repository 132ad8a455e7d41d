"""Which role may do what: the one table, asked by every service that needs a role.

Services call ``require(actor, capability)`` before they change anything; the API's
permission classes and the pages ask ``allows`` for the same answer, so a rule is
written once, here. Which *rows* an actor may see is the selectors' business (404).

Actors that are not staff users pass: a system component (``"followup"``,
``"answers"``, ``None`` for the seed data) is code acting on its own schedule, and a
client contact only ever reaches the services meant for it (recording its own
answer); neither has a role to check.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_noop

from accounts.choices import Role
from lib.errors import NotAllowed

if TYPE_CHECKING:
    from accounts.models import User


class Capability(enum.StrEnum):
    WRITE = "write"
    MANAGE_CLIENTS = "manage_clients"
    CHANGE_CLIENTS = "change_clients"
    MANAGE_CATALOG = "manage_catalog"
    SET_POLICY = "set_policy"
    MANAGE_WEBHOOKS = "manage_webhooks"
    MANAGE_USERS = "manage_users"


class Msg:
    """Stable messages; tests, pages and API clients rely on their wording."""

    READ_ONLY = gettext_noop("This account may read but not change anything.")
    CATALOG_MANAGERS_ONLY = gettext_noop("Only admins and account managers may change the catalog.")
    CLIENT_MANAGERS_ONLY = gettext_noop("Only admins and account managers may add clients.")
    CLIENT_SETTINGS_ONLY = gettext_noop(
        "Only admins and account managers may change a client's settings or its staff."
    )
    POLICY_ADMIN_ONLY = gettext_noop("Only an admin may change follow-up policies.")
    WEBHOOK_ADMIN_ONLY = gettext_noop("Only an admin may manage webhooks.")
    USERS_ADMIN_ONLY = gettext_noop("Only an admin may add or disable staff accounts.")


WRITERS = frozenset({Role.ADMIN, Role.ACCOUNT_MANAGER, Role.TECHNICIAN})

# capability -> (roles allowed, message for everyone else). Every capability implies
# WRITE: a read-only account is told it is read-only, whatever it tried.
CAPABILITIES: dict[Capability, tuple[frozenset[Role], str]] = {
    Capability.WRITE: (WRITERS, Msg.READ_ONLY),
    # A technician sees only assigned clients, so a client they created would vanish
    # from their own lists.
    Capability.MANAGE_CLIENTS: (
        frozenset({Role.ADMIN, Role.ACCOUNT_MANAGER}),
        Msg.CLIENT_MANAGERS_ONLY,
    ),
    # A client's name, language, time zone, domains and assigned staff: the account's
    # side of the relationship, not the technician's.
    Capability.CHANGE_CLIENTS: (
        frozenset({Role.ADMIN, Role.ACCOUNT_MANAGER}),
        Msg.CLIENT_SETTINGS_ONLY,
    ),
    # Account managers write the advice, so they keep the catalog they write it from;
    # technicians and auditors read it.
    Capability.MANAGE_CATALOG: (
        frozenset({Role.ADMIN, Role.ACCOUNT_MANAGER}),
        Msg.CATALOG_MANAGERS_ONLY,
    ),
    Capability.SET_POLICY: (frozenset({Role.ADMIN}), Msg.POLICY_ADMIN_ONLY),
    Capability.MANAGE_WEBHOOKS: (frozenset({Role.ADMIN}), Msg.WEBHOOK_ADMIN_ONLY),
    # A staff account sees client data; creating one (also by a tracker import with
    # --create-missing) is an admin's decision.
    Capability.MANAGE_USERS: (frozenset({Role.ADMIN}), Msg.USERS_ADMIN_ONLY),
}


def _role(user: User) -> Role | None:
    """The role that counts; a superuser acts as an admin, a disabled account as none."""
    if not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    return Role(user.role)


def refusal(actor: object, capability: Capability) -> str | None:
    """The message refusing ``capability`` to ``actor``, or None when it is allowed."""
    if getattr(actor, "is_anonymous", False):
        # Never a system actor: an unauthenticated request that slipped through.
        return Msg.READ_ONLY
    # The user model is looked up, not imported: accounts.models asks this table too.
    if not isinstance(actor, get_user_model()):
        return None
    role = _role(actor)
    if role not in WRITERS:
        return Msg.READ_ONLY
    roles, message = CAPABILITIES[capability]
    return None if role in roles else message


def allows(actor: object, capability: Capability) -> bool:
    """True when ``actor`` may use ``capability`` (for pages that hide a button)."""
    return refusal(actor, capability) is None


def require(actor: object, capability: Capability) -> None:
    """Raise NotAllowed, with the capability's message, unless ``actor`` may use it."""
    message = refusal(actor, capability)
    if message is not None:
        raise NotAllowed(message)
