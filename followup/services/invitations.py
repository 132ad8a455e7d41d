"""Staff invitations: create the account and e-mail its owner a set-password link,
through the outbox, in one transaction.

The account is ``accounts``'; the e-mail is the outbox's, which is why the service
lives here, a layer above both. The link is Django's password-reset token
(``accounts.services.password_link_token``): it expires after
``PASSWORD_RESET_TIMEOUT`` and works once.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.choices import Role
from accounts.models import AuditEvent, User
from accounts.permissions import Capability, require
from accounts.services import password_link_token, user_create
from followup.models import OutboxMessage
from followup.services.outbox import outbox_enqueue_email
from ledger.actors import Actor, actor_label


class Msg:
    EMAIL_REQUIRED = gettext_noop("An invitation needs an e-mail address.")
    NOT_INVITABLE = gettext_noop("This account is disabled or already has a password.")


def invitation_link(user: User) -> str:
    """The absolute set-password link for ``user`` (the staff page ``web:staff_welcome``)."""
    uidb64, token = password_link_token(user)
    return f"{settings.HEEDED_BASE_URL}/staff/welcome/{uidb64}/{token}/"


def _send(*, user: User, actor: Actor, now: dt.datetime) -> OutboxMessage:
    inviter = str(actor) if isinstance(actor, User) else settings.HEEDED_MSP_NAME
    context = {
        "user": user,
        "inviter": inviter,
        "link": invitation_link(user),
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        "msp": settings.HEEDED_MSP_NAME,
    }
    message = outbox_enqueue_email(
        # One message per invitation sent: a second one (the first link expired) is new.
        key=f"staff-invite:{user.pk}:{now.isoformat()}",
        to=[user.email],
        subject=_("Your Heeded account at %(msp)s") % {"msp": settings.HEEDED_MSP_NAME},
        text=render_to_string("emails/staff_invite.txt", context),
        now=now,
    )
    AuditEvent.objects.create(
        at=now,
        actor=actor_label(actor),
        kind="user.invited",
        user=user,
        username=user.get_username(),
        data={"email": user.email, "outbox": message.pk},
    )
    return message


def _username_for(email: str) -> str:
    """The e-mail address as a username, without the characters a username may not
    hold (an apostrophe is valid in an address: ``nina.d'angelo@…``)."""
    return re.sub(r"[^\w.@+-]", "", email.lower())


def staff_invite(
    *,
    email: str,
    actor: Actor,
    now: dt.datetime,
    role: str = Role.TECHNICIAN,
    first_name: str = "",
    last_name: str = "",
    username: str = "",
) -> User:
    """Create a staff account without a password (``accounts.services.user_create``,
    audit event ``user.created``) and queue an e-mail with its set-password link (audit
    event ``user.invited``). Admins only. The username defaults to the e-mail address.
    A refusal (a taken address or username, an unknown role) stores nothing and queues
    nothing."""
    require(actor, Capability.MANAGE_USERS)
    email = email.strip()
    if not email:
        raise ValidationError({"email": [_(Msg.EMAIL_REQUIRED)]})
    with transaction.atomic():
        user = user_create(
            username=username.strip() or _username_for(email),
            email=email,
            role=role,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            actor=actor,
            now=now,
        )
        _send(user=user, actor=actor, now=now)
    return user


def staff_invite_resend(*, user: User, actor: Actor, now: dt.datetime) -> OutboxMessage:
    """Send a fresh set-password link to an active account that has no password yet
    (the first link expired or was lost), with the audit event ``user.invited``.
    Admins only."""
    require(actor, Capability.MANAGE_USERS)
    with transaction.atomic():
        current = User.objects.select_for_update().get(pk=user.pk)
        if not current.is_active or current.has_usable_password() or not current.email:
            raise ValidationError({"user": [_(Msg.NOT_INVITABLE)]})
        return _send(user=current, actor=actor, now=now)
