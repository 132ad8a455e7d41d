"""Writes of staff accounts: create one, deactivate one. Each records an ``AuditEvent``
in its transaction (the ledger is per client; a staff account is not a client's).

Admins only (``Capability.MANAGE_USERS``). A system actor passes the role table: the
operator at the command line (``actor=None``) or a component acting on its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.choices import Language, Role
from accounts.models import AuditEvent, User
from accounts.permissions import Capability, require
from ledger.actors import Actor, actor_label


class Msg:
    """Stable messages; tests, pages and commands rely on their wording."""

    USERNAME_REQUIRED = "A staff account needs a username."
    USERNAME_TAKEN = "The username {username!r} is taken."
    EMAIL_TAKEN = "Another staff account has the e-mail address {email!r}."
    UNKNOWN_ROLE = "Unknown role {role!r}; use one of: {choices}."
    NOT_YOURSELF = "You cannot deactivate your own account."
    UNKNOWN_LANGUAGE = gettext_noop("Unknown language {language!r}; choose English or Italiano.")


def _audit(*, kind: str, user: User, actor: Actor | None, now: dt.datetime, **data: Any) -> None:
    AuditEvent.objects.create(
        at=now,
        actor=actor_label(actor),
        kind=kind,
        user=user,
        username=user.get_username(),
        data=data,
    )


def user_create(
    *,
    username: str,
    actor: Actor | None,
    now: dt.datetime,
    email: str = "",
    role: str = Role.TECHNICIAN,
    is_active: bool = True,
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
) -> User:
    """Create a staff account, with the audit event ``user.created``.

    Without ``password`` the account has an unusable one: its owner signs in once an
    admin sets one or sends a reset link. A username or an e-mail address already used
    by another account (in any letter case: sign-in finds accounts case-insensitively)
    and an unknown role raise ValidationError on that field; nothing is stored.
    """
    require(actor, Capability.MANAGE_USERS)
    username = username.strip()
    email = email.strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = [Msg.USERNAME_REQUIRED]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [Msg.USERNAME_TAKEN.format(username=username)]
    if email and User.objects.filter(email__iexact=email).exists():
        errors["email"] = [Msg.EMAIL_TAKEN.format(email=email)]
    if role not in Role.values:
        errors["role"] = [Msg.UNKNOWN_ROLE.format(role=role, choices=", ".join(Role.values))]
    user = User(
        username=username,
        email=email,
        role=role,
        is_active=is_active,
        first_name=first_name[:150],
        last_name=last_name[:150],
        date_joined=now,
    )
    try:
        user.full_clean(exclude=["password", *errors])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    with transaction.atomic():
        user.save()
        _audit(
            kind="user.created",
            user=user,
            actor=actor,
            now=now,
            email=email,
            role=role,
            is_active=is_active,
            usable_password=password is not None,
        )
    return user


def user_deactivate(*, user: User, actor: Actor | None, now: dt.datetime, reason: str = "") -> User:
    """Disable a staff account (it can no longer sign in or use its API tokens), with
    the audit event ``user.deactivated``. A disabled account stays disabled and gets
    no second event; an admin cannot disable their own account."""
    require(actor, Capability.MANAGE_USERS)
    if isinstance(actor, User) and actor.pk == user.pk:
        raise ValidationError({"user": [Msg.NOT_YOURSELF]})
    with transaction.atomic():
        # Conditional: two deactivations racing record one event.
        if User.objects.filter(pk=user.pk, is_active=True).update(is_active=False):
            _audit(kind="user.deactivated", user=user, actor=actor, now=now, reason=reason.strip())
    user.is_active = False
    return user


def user_language_set(*, user: User, language: str) -> User:
    """Store the language ``user`` chose for their own pages ("" follows the browser).

    A personal preference, not a change to anyone's access: a signed-in user sets
    their own, so no role is checked and no audit event is recorded. An unknown
    language raises ValidationError on ``language``; nothing is stored.
    """
    if language not in ("", *Language.values):
        raise ValidationError({"language": [_(Msg.UNKNOWN_LANGUAGE).format(language=language)]})
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user
