"""The client portal's sign-in: a one-time link e-mailed to a contact's address."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from answers.errors import AnswerRefused, Msg
from answers.models import PortalCode
from answers.presentation import PORTAL_PURPOSE, token_sha256
from clients.models import Contact
from followup.services.outbox import outbox_enqueue_email
from lib import sealed
from recommendations import mail

PORTAL_CODE_MINUTES = 15
PORTAL_CODES_PER_ADDRESS_PER_HOUR = 3
PORTAL_CODES_PER_IP_PER_HOUR = 10


def portal_code_request(*, email: str, now: dt.datetime, ip: str | None = None) -> int:
    """E-mail a one-time sign-in link to every active contact with this address; the
    number sent (0 when unknown or rate-limited: the page says the same either way)."""
    email, ip = email.strip().lower(), ip or None
    hour_ago = now - dt.timedelta(hours=1)
    with transaction.atomic():
        contacts = list(
            Contact.objects.select_related("client").filter(email__iexact=email, is_active=True)
        )
        recent = PortalCode.objects.filter(created_at__gt=hour_ago)
        if recent.filter(contact__email__iexact=email).count() >= (
            PORTAL_CODES_PER_ADDRESS_PER_HOUR
        ) or (ip and recent.filter(ip=ip).count() >= PORTAL_CODES_PER_IP_PER_HOUR):
            return 0
        for contact in contacts:
            # Only a nonce and the token's hash are stored; the worker makes the token.
            nonce = sealed.new_nonce()
            code = PortalCode.objects.create(
                contact=contact,
                code_sha256=token_sha256(sealed.token_for(PORTAL_PURPOSE, nonce)),
                code_nonce=nonce,
                created_at=now,
                expires_at=now + dt.timedelta(minutes=PORTAL_CODE_MINUTES),
                ip=ip,
            )
            language = mail.language_for(contact.client)
            key = f"portal-sign-in:{code.pk}"
            context = {
                "contact": contact,
                "client": contact.client,
                "url": f"{settings.HEEDED_BASE_URL}/portal/sign-in/"
                f"{sealed.placeholder(PORTAL_PURPOSE, nonce)}/",
                "minutes": PORTAL_CODE_MINUTES,
                "head": mail.client_head(contact.client, at=now, reference=key),
            }
            parts = mail.render_email("portal_sign_in", context, language=language)
            outbox_enqueue_email(
                key=key,
                to=[contact.email],
                subject=parts.subject,
                text=parts.text,
                html=parts.html,
                now=now,
                client=contact.client,
            )
    return len(contacts)


def portal_sign_in(*, token: str, now: dt.datetime) -> Contact:
    """Spend a sign-in link: the contact it names, once, before it expires."""
    digest = token_sha256(token)
    claimed = PortalCode.objects.filter(
        code_sha256=digest, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    code = PortalCode.objects.select_related("contact").filter(code_sha256=digest).first()
    if not claimed or code is None or not code.contact.is_active:
        raise AnswerRefused(Msg.CODE_INVALID, code="invalid")
    return code.contact
