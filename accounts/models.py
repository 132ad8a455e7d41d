from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from accounts.choices import Language, Role
from accounts.permissions import Capability, allows


class User(AbstractUser):
    """A member of the MSP's staff.

    What a user may see and do follows from ``role``: admins and account managers
    see every client, technicians only the clients they are assigned to, auditors
    see everything and change nothing.
    """

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.TECHNICIAN)
    # The language of the pages this user sees; empty follows the browser's.
    language = models.CharField(max_length=8, choices=Language.choices, blank=True, default="")

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def sees_all_clients(self) -> bool:
        """True for roles that see every client; technicians see only their own."""
        return self.is_superuser or self.role in {
            Role.ADMIN,
            Role.ACCOUNT_MANAGER,
            Role.AUDITOR,
        }

    @property
    def can_write(self) -> bool:
        """False for auditors, who may read everything and change nothing (and for a
        disabled account). Asks the role table, so templates that hide a button agree
        with the services that refuse the change."""
        return allows(self, Capability.WRITE)

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN


class ApiToken(models.Model):
    """A per-user API token. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEvent(models.Model):
    """One change to staff accounts (a user created, a user deactivated): who did it,
    what, when, and the data it was done with.

    The ledger is kept per client, and a staff account belongs to no client, so these
    events have their own table. Rows are only ever inserted, by the services in
    ``accounts.services``; nothing updates or deletes them (no trigger enforces it,
    unlike ``ledger_event``: see docs/architecture.md, "Where writes live").
    """

    at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=255, help_text="The ledger's label of who acted.")
    kind = models.CharField(max_length=50)
    # Kept by name too: the account may be renamed or removed later.
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.username} by {self.actor}"
