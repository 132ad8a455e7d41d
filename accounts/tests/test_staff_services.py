"""Changing staff accounts: roles, the last admin, reactivation, and the set-password
link an invitation carries (single use, expiring)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent, User
from accounts.services import (
    Msg,
    password_link_token,
    password_link_user,
    user_create,
    user_deactivate,
    user_password_set,
    user_reactivate,
    user_role_set,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Quercia-di-Vallombrosa-2026"


def test_an_admin_changes_a_role_with_an_audit_event(admin, technician, now):
    user_role_set(user=technician, role="account_manager", actor=admin, now=now)

    technician.refresh_from_db()
    assert technician.role == "account_manager"
    (event,) = AuditEvent.objects.filter(kind="user.role_changed")
    assert (event.actor, event.user, event.at) == ("staff:ada", technician, now)
    assert event.data == {"old": "technician", "new": "account_manager"}


def test_setting_the_same_role_records_nothing(admin, technician, now):
    user_role_set(user=technician, role="technician", actor=admin, now=now)

    assert not AuditEvent.objects.filter(kind="user.role_changed").exists()


def test_an_unknown_role_is_refused_on_its_field(admin, technician, now):
    with pytest.raises(ValidationError) as refused:
        user_role_set(user=technician, role="owner", actor=admin, now=now)

    assert "role" in refused.value.message_dict
    technician.refresh_from_db()
    assert technician.role == "technician"


def test_the_last_admin_cannot_demote_themselves(admin, now):
    with pytest.raises(ValidationError) as refused:
        user_role_set(user=admin, role="auditor", actor=admin, now=now)

    assert refused.value.message_dict == {"role": [Msg.LAST_ADMIN]}
    admin.refresh_from_db()
    assert admin.role == "admin"
    assert not AuditEvent.objects.filter(kind="user.role_changed").exists()


def test_an_admin_may_step_down_when_another_admin_remains(admin, now):
    other = user_create(username="beatrice", role="admin", actor=admin, now=now)

    user_role_set(user=admin, role="account_manager", actor=admin, now=now)

    admin.refresh_from_db()
    assert admin.role == "account_manager"
    # Now Beatrice is the last one: she cannot step down in turn.
    with pytest.raises(ValidationError, match="at least one active admin"):
        user_role_set(user=other, role="technician", actor=other, now=now)


def test_a_disabled_admin_does_not_count_as_the_remaining_admin(admin, now):
    other = user_create(username="beatrice", role="admin", actor=admin, now=now)
    user_deactivate(user=other, actor=admin, now=now)

    with pytest.raises(ValidationError, match="at least one active admin"):
        user_role_set(user=admin, role="technician", actor=admin, now=now)


def test_the_command_line_cannot_disable_the_last_admin(admin, now):
    with pytest.raises(ValidationError) as refused:
        user_deactivate(user=admin, actor=None, now=now)

    assert refused.value.message_dict == {"user": [Msg.LAST_ADMIN]}
    assert User.objects.get(pk=admin.pk).is_active


def test_a_disabled_account_is_reactivated_once(admin, technician, now):
    user_deactivate(user=technician, actor=admin, now=now)
    later = now + dt.timedelta(hours=1, microseconds=417)

    user_reactivate(user=technician, actor=admin, now=later)
    user_reactivate(user=technician, actor=admin, now=later)

    assert User.objects.get(pk=technician.pk).is_active
    assert list(
        AuditEvent.objects.filter(kind="user.reactivated").values_list("at", flat=True)
    ) == [later]


def _invited(admin, now) -> User:
    return user_create(
        username="nina.ferri@msp.example", email="nina.ferri@msp.example", actor=admin, now=now
    )


def test_a_set_password_link_sets_the_password_once(admin, now):
    nina = _invited(admin, now)
    uidb64, token = password_link_token(nina)
    assert password_link_user(uidb64, token) == nina

    user_password_set(
        uidb64=uidb64, token=token, password=NEW_PASSWORD, password_again=NEW_PASSWORD, now=now
    )

    nina.refresh_from_db()
    assert nina.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.get(kind="user.password_set").actor == "staff:nina.ferri@msp.example"
    # Spent: the token was bound to the old (unusable) password.
    assert password_link_user(uidb64, token) is None
    with pytest.raises(ValidationError) as refused:
        user_password_set(
            uidb64=uidb64,
            token=token,
            password="Other-Pass-9981",
            password_again="Other-Pass-9981",
            now=now,
        )
    assert refused.value.message_dict == {"token": [Msg.LINK_INVALID]}
    nina.refresh_from_db()
    assert nina.check_password(NEW_PASSWORD)


def test_a_set_password_link_expires(admin, now, settings, time_machine):
    nina = _invited(admin, now)
    uidb64, token = password_link_token(nina)
    time_machine.move_to(
        dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT, hours=3)
    )

    assert password_link_user(uidb64, token) is None


def test_a_disabled_account_cannot_use_its_link(admin, now):
    nina = _invited(admin, now)
    uidb64, token = password_link_token(nina)
    user_deactivate(user=nina, actor=admin, now=now)

    assert password_link_user(uidb64, token) is None


@pytest.mark.parametrize(
    ("password", "again", "field"),
    [
        (NEW_PASSWORD, NEW_PASSWORD + "x", "password_again"),
        ("12345678", "12345678", "password"),
    ],
    ids=["different", "too-common"],
)
def test_a_refused_password_stores_nothing_and_keeps_the_link(admin, now, password, again, field):
    nina = _invited(admin, now)
    uidb64, token = password_link_token(nina)

    with pytest.raises(ValidationError) as refused:
        user_password_set(
            uidb64=uidb64, token=token, password=password, password_again=again, now=now
        )

    assert list(refused.value.message_dict) == [field]
    nina.refresh_from_db()
    assert not nina.has_usable_password()
    assert password_link_user(uidb64, token) == nina


def test_a_garbled_link_is_no_link(db):
    assert password_link_user("not-base64!", "1-2") is None
    assert password_link_user("OTk5OTk", "abc-def") is None
