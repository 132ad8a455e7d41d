"""Creating and deactivating staff accounts: admins only, per-field refusals that store
nothing, and one audit event per change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent, User
from accounts.services import Msg, user_create, user_deactivate
from lib.errors import NotAllowed

pytestmark = pytest.mark.django_db


def test_an_admin_creates_an_account_with_an_unusable_password_and_an_audit_event(admin, now):
    user = user_create(
        username="nina", email="nina@msp.example", role="account_manager", actor=admin, now=now
    )
    user.refresh_from_db()
    assert (user.role, user.is_active, user.date_joined) == ("account_manager", True, now)
    assert not user.has_usable_password()
    (event,) = AuditEvent.objects.all()
    assert (event.kind, event.actor, event.user, event.username, event.at) == (
        "user.created",
        "staff:ada",
        user,
        "nina",
        now,
    )
    assert event.data == {
        "email": "nina@msp.example",
        "role": "account_manager",
        "is_active": True,
        "usable_password": False,
    }


def test_the_command_line_operator_may_create_an_inactive_account_with_a_password(now):
    user = user_create(
        username="ops", actor=None, now=now, is_active=False, password="long and random 42"
    )
    assert user.check_password("long and random 42") and not user.is_active
    assert AuditEvent.objects.get().actor == "system:heeded"


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"username": " "}, {"username": [Msg.USERNAME_REQUIRED]}),
        ({"username": "ADA"}, {"username": ["The username 'ADA' is taken."]}),
        (
            {"username": "nina", "email": "Ada@MSP.example"},
            {"email": ["Another staff account has the e-mail address 'Ada@MSP.example'."]},
        ),
        (
            {"username": "nina", "role": "owner"},
            {
                "role": [
                    "Unknown role 'owner'; use one of: admin, account_manager, technician, auditor."
                ]
            },
        ),
        (
            {"username": "ADA", "email": "ada@msp.example"},
            {
                "username": ["The username 'ADA' is taken."],
                "email": ["Another staff account has the e-mail address 'ada@msp.example'."],
            },
        ),
    ],
    ids=["blank", "taken-any-case", "email-taken", "unknown-role", "both-fields"],
)
def test_a_bad_account_is_refused_field_by_field_and_nothing_is_stored(admin, now, kwargs, errors):
    before = User.objects.count()
    with pytest.raises(ValidationError) as refused:
        user_create(actor=admin, now=now, **kwargs)
    assert refused.value.message_dict == errors
    assert User.objects.count() == before and not AuditEvent.objects.exists()


@pytest.mark.parametrize("role", ["manager", "technician", "auditor"])
def test_only_an_admin_may_create_an_account(request, now, role):
    actor = request.getfixturevalue(role)
    before = User.objects.count()
    with pytest.raises(NotAllowed):
        user_create(username="nina", actor=actor, now=now)
    assert User.objects.count() == before and not AuditEvent.objects.exists()


def test_deactivating_records_one_event_and_a_second_time_changes_nothing(admin, technician, now):
    user_deactivate(user=technician, actor=admin, now=now, reason="Left the company.")
    later = now + dt.timedelta(hours=1)
    user_deactivate(user=technician, actor=admin, now=later)
    technician.refresh_from_db()
    assert not technician.is_active
    (event,) = AuditEvent.objects.all()
    assert (event.kind, event.user, event.data) == (
        "user.deactivated",
        technician,
        {"reason": "Left the company."},
    )


def test_an_admin_cannot_deactivate_themselves(admin, now):
    with pytest.raises(ValidationError) as refused:
        user_deactivate(user=admin, actor=admin, now=now)
    assert refused.value.message_dict == {"user": [Msg.NOT_YOURSELF]}
    admin.refresh_from_db()
    assert admin.is_active and not AuditEvent.objects.exists()


def test_a_technician_may_not_deactivate_a_colleague(technician, manager, now):
    with pytest.raises(NotAllowed, match=r"^Only an admin may add or disable staff accounts\.$"):
        user_deactivate(user=manager, actor=technician, now=now)
    manager.refresh_from_db()
    assert manager.is_active and not AuditEvent.objects.exists()
