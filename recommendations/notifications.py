"""The messages the lifecycle sends, queued in the outbox of the calling transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.template.loader import render_to_string

from clients.models import Contact
from followup.services import outbox_enqueue_email
from recommendations.models import Recommendation

SUBJECTS = {
    "en": "[{client}] Security recommendation: {title}",
    "it": "[{client}] Raccomandazione di sicurezza: {title}",
}


def presented(rec: Recommendation, recipients: Iterable[Contact], *, now: dt.datetime) -> None:
    """Queue one e-mail per decision maker with the exact text presented."""
    language = rec.client.language if rec.client.language in SUBJECTS else "en"
    for contact in recipients:
        context = {
            "rec": rec,
            "client": rec.client,
            "contact": contact,
            "due": rec.response_due_at.astimezone(rec.client.tz) if rec.response_due_at else None,
            "base_url": settings.HEEDED_BASE_URL,
        }
        outbox_enqueue_email(
            # One message per recommendation, contact and presentation.
            key=f"present:{rec.pk}:{contact.pk}:{rec.presented_at.timestamp():.6f}",
            to=[contact.email],
            subject=SUBJECTS[language].format(client=rec.client.name, title=rec.title),
            text=render_to_string(f"emails/presented.{language}.txt", context),
            now=now,
            client=rec.client,
            recommendation_id=rec.pk,
            headers={"X-Heeded-Recommendation": str(rec.pk)},
        )
