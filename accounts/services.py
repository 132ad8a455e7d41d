"""Writes of staff accounts: create one, change its role, deactivate or reactivate it,
set its password from an invitation link. Each records an ``AuditEvent`` in its
transaction (the ledger is per client; a staff account is not a client's).

Admins only (``Capability.MANAGE_USERS``). A system actor passes the role table: the
operator at the command line (``actor=None``) or a component acting on its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.choices import Language, Role
from accounts.models import AuditEvent, User
from accounts.permissions import Capability, require
from ledger.actors import Actor, actor_label


class Msg:
    """Stable messages; tests, pages and commands rely on their wording."""

    USERNAME_REQUIRED = gettext_noop("A staff account needs a username.")
    USERNAME_TAKEN = gettext_noop("The username {username!r} is taken.")
    EMAIL_TAKEN = gettext_noop("Another staff account has the e-mail address {email!r}.")
    UNKNOWN_ROLE = gettext_noop("Unknown role {role!r}; use one of: {choices}.")
    NOT_YOURSELF = gettext_noop("You cannot deactivate your own account.")
    UNKNOWN_LANGUAGE = gettext_noop("Unknown language {language!r}; choose English or Italiano.")
    LAST_ADMIN = gettext_noop(
        "Heeded needs at least one active admin; make another account admin first."
    )
    LINK_INVALID = gettext_noop(
        "This link is not valid any more: it was used already or it expired."
    )
    PASSWORD_MISMATCH = gettext_noop("The two passwords differ.")


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
        errors["username"] = [_(Msg.USERNAME_REQUIRED)]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_(Msg.USERNAME_TAKEN).format(username=username)]
    if email and User.objects.filter(email__iexact=email).exists():
        errors["email"] = [_(Msg.EMAIL_TAKEN).format(email=email)]
    if role not in Role.values:
        errors["role"] = [_(Msg.UNKNOWN_ROLE).format(role=role, choices=", ".join(Role.values))]
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


def _admins_q() -> Q:
    return Q(is_active=True) & (Q(role=Role.ADMIN) | Q(is_superuser=True))


def _keep_an_admin(user: User, field: str) -> None:
    """Refuse (on ``field``) when ``user`` is the last active admin. Call inside the
    transaction: it locks every active admin, so two admins demoting each other at
    once cannot both succeed."""
    admins = list(User.objects.select_for_update().filter(_admins_q()).values_list("pk", flat=True))
    if admins == [user.pk]:
        raise ValidationError({field: [_(Msg.LAST_ADMIN)]})


def user_role_set(*, user: User, role: str, actor: Actor | None, now: dt.datetime) -> User:
    """Give a staff account another role, with the audit event ``user.role_changed``
    (old and new role). Setting the role it has changes nothing and records nothing.
    The last active admin cannot stop being one, whoever asks."""
    require(actor, Capability.MANAGE_USERS)
    if role not in Role.values:
        raise ValidationError(
            {"role": [_(Msg.UNKNOWN_ROLE).format(role=role, choices=", ".join(Role.values))]}
        )
    with transaction.atomic():
        current = User.objects.select_for_update().get(pk=user.pk)
        old = current.role
        if old != role:
            if old == Role.ADMIN and not current.is_superuser and current.is_active:
                _keep_an_admin(current, "role")
            User.objects.filter(pk=user.pk).update(role=role)
            _audit(kind="user.role_changed", user=user, actor=actor, now=now, old=old, new=role)
    user.role = role
    return user


def user_deactivate(*, user: User, actor: Actor | None, now: dt.datetime, reason: str = "") -> User:
    """Disable a staff account (it can no longer sign in or use its API tokens), with
    the audit event ``user.deactivated``. A disabled account stays disabled and gets
    no second event; an admin cannot disable their own account, nor the last active
    admin (the command line included)."""
    require(actor, Capability.MANAGE_USERS)
    if isinstance(actor, User) and actor.pk == user.pk:
        raise ValidationError({"user": [_(Msg.NOT_YOURSELF)]})
    with transaction.atomic():
        _keep_an_admin(user, "user")
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


def user_reactivate(*, user: User, actor: Actor | None, now: dt.datetime) -> User:
    """Enable a disabled staff account again, with the audit event ``user.reactivated``.
    An active account changes nothing and records nothing."""
    require(actor, Capability.MANAGE_USERS)
    with transaction.atomic():
        if User.objects.filter(pk=user.pk, is_active=False).update(is_active=True):
            _audit(kind="user.reactivated", user=user, actor=actor, now=now)
    user.is_active = True
    return user


def password_link_token(user: User) -> tuple[str, str]:
    """The two path parts of a set-password link for ``user``: its id and a token.

    Django's password-reset token: it expires after ``PASSWORD_RESET_TIMEOUT`` and is
    bound to the account's password hash and last sign-in, so it works once — setting
    the password (or signing in) spends it."""
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def password_link_user(uidb64: str, token: str) -> User | None:
    """The active account a set-password link is for, or None when the link is not
    (or no longer) valid. Reads only; the link is spent by ``user_password_set``."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user


def user_password_set(
    *, uidb64: str, token: str, password: str, password_again: str, now: dt.datetime
) -> User:
    """Set an account's password from a set-password link (an invitation), with the
    audit event ``user.password_set``. The person holding the link acts: no role is
    asked, the single-use, expiring token is the proof. A spent or expired link, two
    different passwords or a password the validators refuse raise ValidationError on
    that field; nothing is stored."""
    with transaction.atomic():
        user = password_link_user(uidb64, token)
        if user is None:
            raise ValidationError({"token": [_(Msg.LINK_INVALID)]})
        # Locked and checked again: two submissions of one link set it once.
        user = User.objects.select_for_update().get(pk=user.pk)
        if not default_token_generator.check_token(user, token):
            raise ValidationError({"token": [_(Msg.LINK_INVALID)]})
        if password != password_again:
            raise ValidationError({"password_again": [_(Msg.PASSWORD_MISMATCH)]})
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
        user.save(update_fields=["password"])
        _audit(kind="user.password_set", user=user, actor=user, now=now)
    return user
