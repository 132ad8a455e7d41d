"""Inviting a staff member: the account, the e-mail with its set-password link, and
nothing at all when the invitation is refused."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent, User
from accounts.services import password_link_user
from followup.models import OutboxMessage
from followup.services.invitations import staff_invite, staff_invite_resend

pytestmark = pytest.mark.django_db


def _link(message: OutboxMessage) -> tuple[str, str]:
    match = re.search(r"/staff/welcome/([^/]+)/([^/]+)/", message.payload["text"])
    assert match, message.payload["text"]
    return match.group(1), match.group(2)


def test_an_invitation_creates_the_account_and_queues_its_link(admin, now, settings):
    settings.HEEDED_BASE_URL = "https://heeded.msp.example"

    user = staff_invite(
        email="Nina.D'Angelo@msp.example",
        first_name="Nina",
        last_name="D'Angelo",
        role="account_manager",
        actor=admin,
        now=now,
    )

    assert (user.username, user.email, user.role, user.is_active) == (
        "nina.dangelo@msp.example",
        "Nina.D'Angelo@msp.example",
        "account_manager",
        True,
    )
    assert not user.has_usable_password()
    (message,) = OutboxMessage.objects.all()
    assert message.payload["to"] == ["Nina.D'Angelo@msp.example"]
    assert "https://heeded.msp.example/staff/welcome/" in message.payload["text"]
    assert "Hello Nina D'Angelo" in message.payload["text"]
    assert password_link_user(*_link(message)) == user
    assert [e.kind for e in AuditEvent.objects.order_by("id")] == ["user.created", "user.invited"]


def test_a_refused_invitation_creates_and_queues_nothing(admin, technician, now):
    with pytest.raises(ValidationError) as refused:
        staff_invite(email="TESS@msp.example", actor=admin, now=now)

    assert list(refused.value.message_dict) == ["email"]
    assert not User.objects.filter(username__iexact="tess@msp.example").exists()
    assert not OutboxMessage.objects.exists() and not AuditEvent.objects.exists()


def test_a_new_link_can_be_sent_until_a_password_is_set(admin, now):
    from datetime import timedelta

    user = staff_invite(email="nina@msp.example", actor=admin, now=now)
    staff_invite_resend(user=user, actor=admin, now=now + timedelta(days=4, microseconds=12))

    assert OutboxMessage.objects.count() == 2
    user.set_password("Quercia-di-Vallombrosa-2026")
    user.save()
    with pytest.raises(ValidationError, match="already has a password"):
        staff_invite_resend(user=user, actor=admin, now=now + timedelta(days=5))
    assert OutboxMessage.objects.count() == 2
