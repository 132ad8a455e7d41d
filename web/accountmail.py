"""The account adapter of the running site: allauth's e-mails go through the outbox.

``ACCOUNT_ADAPTER`` points here rather than at ``accounts.adapters`` because queueing
is the follow-up app's (a higher layer than accounts).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.adapters import StaffAccountAdapter
from accounts.models import User
from accounts.passwords import reset_placeholder
from followup.services.outbox import outbox_enqueue_email


class OutboxAccountAdapter(StaffAccountAdapter):
    """Staff adapter whose mail is queued, with reset keys made only at delivery."""

    def send_password_reset_mail(self, user: Any, email: str, context: dict[str, Any]) -> None:
        # The link is built on HEEDED_BASE_URL, never on the request's Host header,
        # and carries a placeholder for the key (accounts/passwords.py).
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        context = {
            **context,
            "password_reset_url": settings.HEEDED_BASE_URL
            + path.replace("UID-KEY", reset_placeholder(user)),
            "key": "",
        }
        self.send_mail("account/email/password_reset_key", email, context)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        message = self.render_mail(template_prefix, email, context)
        html = ""
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = str(content)
        user = context.get("user")
        who = f"user-{user.pk}" if isinstance(user, User) else "address"
        outbox_enqueue_email(
            key=f"account:{template_prefix.rsplit('/', 1)[-1]}:{who}:{secrets.token_hex(8)}",
            to=[email],
            subject=message.subject,
            text=message.body,
            html=html,
            now=timezone.now(),
        )
