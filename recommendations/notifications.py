"""The messages the lifecycle sends, queued in the outbox of the calling transaction."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterable, Iterator

from django.template.loader import render_to_string

from clients.models import Contact
from followup.services import outbox_enqueue_email
from recommendations.models import Recommendation

SUBJECTS = {
    "en": "[{client}] Security recommendation: {title}",
    "it": "[{client}] Raccomandazione di sicurezza: {title}",
}
BATCH_SUBJECTS = {
    "en": "[{client}] {count} security recommendations",
    "it": "[{client}] {count} raccomandazioni di sicurezza",
}

# While a batch is being presented, presentations are collected here and sent as one
# e-mail per contact at the end (see ``collecting_batch``).
_batch: contextvars.ContextVar[list[tuple[Recommendation, list[Contact]]] | None] = (
    contextvars.ContextVar("presentation_batch", default=None)
)


@contextlib.contextmanager
def collecting_batch() -> Iterator[list[tuple[Recommendation, list[Contact]]]]:
    """Collect the presentations made inside the block instead of e-mailing each."""
    collected: list[tuple[Recommendation, list[Contact]]] = []
    token = _batch.set(collected)
    try:
        yield collected
    finally:
        _batch.reset(token)


def _language(rec: Recommendation) -> str:
    return rec.client.language if rec.client.language in SUBJECTS else "en"


def presented(rec: Recommendation, recipients: Iterable[Contact], *, now: dt.datetime) -> None:
    """Queue one e-mail per decision maker with the exact text presented, a signed
    answer link and a Reply-To that identifies the presentation and the contact."""
    recipients = list(recipients)
    batch = _batch.get()
    if batch is not None:
        batch.append((rec, recipients))
        return
    for contact in recipients:
        present_to(contact, [rec], now=now)


def present_to(
    contact: Contact, recs: list[Recommendation], *, now: dt.datetime, resend: str = ""
) -> None:
    """E-mail one contact the recommendations presented to it: one link each and, for
    several, one link to answer them all on one page."""
    from answers.services import link_issue, link_url, reply_address

    first = recs[0]
    client = first.client
    language = _language(first)
    items = []
    for rec in recs:
        link, token = link_issue(contact=contact, recommendations=[rec], now=now)
        due = rec.response_due_at.astimezone(client.tz) if rec.response_due_at else None
        items.append({"rec": rec, "url": link_url(token), "due": due, "link": link})
    if len(recs) > 1:
        reply_link, token = link_issue(contact=contact, recommendations=recs, now=now)
        batch_url = link_url(token)
        subject = BATCH_SUBJECTS[language].format(client=client.name, count=len(recs))
    else:
        reply_link, batch_url = items[0]["link"], ""
        subject = SUBJECTS[language].format(client=client.name, title=first.title)
    context = {
        "items": items,
        "client": client,
        "contact": contact,
        "batch_url": batch_url,
        "expires_at": reply_link.expires_at.astimezone(client.tz),
    }
    stamp = f"{first.presented_at.timestamp():.6f}"
    key = (
        f"present:{first.pk}:{contact.pk}:{stamp}"
        if len(recs) == 1
        else f"present:batch:{','.join(str(r.pk) for r in recs)}:{contact.pk}:{stamp}"
    )
    if resend:
        key = f"{key}:resend:{resend}"
    outbox_enqueue_email(
        key=key,
        to=[contact.email],
        subject=subject,
        text=render_to_string(f"emails/presented.{language}.txt", context),
        html=render_to_string(f"emails/presented.{language}.html", context),
        reply_to=[reply_address(reply_link)],
        now=now,
        client=client,
        recommendation_id=first.pk,
        headers={"X-Heeded-Recommendation": ",".join(str(r.pk) for r in recs)},
    )
