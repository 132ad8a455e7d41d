"""Presenting a recommendation to the client: the signed answer links and the
e-mail that carries them, queued in the outbox of the presenting transaction.

``on_present`` subscribes to the lifecycle's ``present`` transition (see
``answers.apps``); the core never calls this module.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Iterator, Sequence

from django.conf import settings
from django.utils import translation

from accounts.models import User
from answers.models import AnswerLink
from clients.models import Contact
from followup.services import outbox_enqueue_email
from lib import sealed
from recommendations import mail
from recommendations.events import Transitioned
from recommendations.models import Recommendation

LINK_PURPOSE = "answer-link"
PORTAL_PURPOSE = "portal-sign-in"


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_url(token: str) -> str:
    return f"{settings.HEEDED_BASE_URL}/answer/{token}/"


def reply_address(link: AnswerLink) -> str:
    """The Reply-To for a presentation e-mail: replies+TOKEN@domain."""
    local, _, domain = settings.HEEDED_REPLY_ADDRESS.partition("@")
    return f"{local}+{link.reply_token}@{domain}"


def link_issue(
    *,
    contact: Contact,
    recommendations: list[Recommendation],
    now: dt.datetime,
    created_by: User | None = None,
) -> AnswerLink:
    """Create a link for one contact and one (or a batch of) recommendation(s). Its
    token is never stored: only a nonce and the token's SHA-256 are; an e-mail carries
    ``link_url_sealed(link)`` and the worker makes the token at delivery."""
    return links_issue([(contact, recommendations)], now=now, created_by=created_by)[0]


def links_issue(
    wanted: Sequence[tuple[Contact, Sequence[Recommendation]]],
    *,
    now: dt.datetime,
    created_by: User | None = None,
) -> list[AnswerLink]:
    """``link_issue`` for each (contact, recommendations) of ``wanted``, in that order,
    in two INSERTs whatever their number: a batch presented to several contacts would
    otherwise cost a few queries per recommendation per contact."""
    links = []
    for contact, recommendations in wanted:
        nonce = sealed.new_nonce()
        links.append(
            AnswerLink(
                client_id=contact.client_id,
                contact=contact,
                is_batch=len(recommendations) > 1,
                token_sha256=token_sha256(sealed.token_for(LINK_PURPOSE, nonce)),
                token_nonce=nonce,
                reply_token=secrets.token_hex(10),
                text_sha256={str(r.pk): r.text_sha256 for r in recommendations},
                created_at=now,
                created_by=created_by,
                expires_at=now + dt.timedelta(days=settings.HEEDED_ANSWER_LINK_DAYS),
            )
        )
    # Both databases return the new primary keys, in order, from a bulk insert.
    AnswerLink.objects.bulk_create(links)
    through = AnswerLink.recommendations.through
    through.objects.bulk_create(
        through(answerlink_id=link.pk, recommendation_id=rec.pk)
        for link, (_, recommendations) in zip(links, wanted, strict=True)
        for rec in dict.fromkeys(recommendations)
    )
    return links


def link_url_sealed(link: AnswerLink) -> str:
    """The link's address as a queued e-mail holds it: a placeholder for the token."""
    return link_url(sealed.placeholder(LINK_PURPOSE, link.token_nonce))


def follow_up_answer_url(contact: Contact, recs: list[Recommendation], now: dt.datetime) -> str:
    """A fresh link for ``contact`` to answer ``recs`` on one page, as a follow-up
    notice's button carries it (sealed: the token is made at delivery)."""
    return link_url_sealed(link_issue(contact=contact, recommendations=recs, now=now))


# --- the presentation e-mail ----------------------------------------------------

EXAMPLE_PLAN_AFTER = dt.timedelta(days=30)
EXAMPLE_DEFERRAL_AFTER = dt.timedelta(days=90)

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


def on_present(event: Transitioned) -> None:
    """Subscriber of ``present``: queue one e-mail per decision maker with the exact
    text presented, a signed answer link and a Reply-To that identifies the
    presentation and the contact. A presentation recorded without telling the client
    (``notify_client=False``) makes neither e-mail nor link."""
    if not event.notify_client:
        return
    rec, recipients, now = event.recommendation, list(event.recipients), event.now
    batch = _batch.get()
    if batch is not None:
        batch.append((rec, recipients))
        return
    present_to_each([(contact, [rec]) for contact in recipients], now=now)


def _in(language: str, label: Callable[[str], str], value: str) -> str:
    with translation.override(language):
        return label(value)


def present_to(
    contact: Contact, recs: list[Recommendation], *, now: dt.datetime, resend: str = ""
) -> None:
    """E-mail one contact the recommendations presented to it: one link each and, for
    several, one link to answer them all on one page."""
    present_to_each([(contact, recs)], now=now, resend=resend)


def present_to_each(
    presentations: Sequence[tuple[Contact, list[Recommendation]]],
    *,
    now: dt.datetime,
    resend: str = "",
) -> None:
    """``present_to`` for each (contact, recommendations), with every link of every
    e-mail issued at once (``links_issue``): the queries do not grow with the number
    of recommendations."""
    wanted: list[tuple[Contact, list[Recommendation]]] = []
    for contact, recs in presentations:
        wanted.extend((contact, [rec]) for rec in recs)
        if len(recs) > 1:
            wanted.append((contact, recs))
    issued = iter(links_issue(wanted, now=now))
    for contact, recs in presentations:
        links = [next(issued) for _ in recs]
        batch_link = next(issued) if len(recs) > 1 else None
        _email(contact, recs, links, batch_link, now=now, resend=resend)


def _email(
    contact: Contact,
    recs: list[Recommendation],
    links: list[AnswerLink],
    batch_link: AnswerLink | None,
    *,
    now: dt.datetime,
    resend: str,
) -> None:
    """Queue the presentation e-mail of ``recs`` to ``contact``, with their links."""
    first = recs[0]
    client = first.client
    language = mail.language_for(client)
    items: list[dict[str, object]] = []
    for rec, link in zip(recs, links, strict=True):
        due = rec.response_due_at.astimezone(client.tz) if rec.response_due_at else None
        items.append(
            {
                "rec": rec,
                "url": link_url_sealed(link),
                "due": due,
                "link": link,
                "severity": _in(language, mail.severity_label, rec.severity),
                "severity_colour": mail.severity_colour(rec.severity),
            }
        )
    if batch_link is not None:
        reply_link = batch_link
        batch_url = link_url_sealed(batch_link)
    else:
        reply_link, batch_url = links[0], ""
    # The reply examples are dates a client could really send: a plan a month after
    # the answer is due, a deferral a quarter after it (never a fixed, past date).
    answer_by = (first.response_due_at or now).astimezone(client.tz).date()
    context = {
        "items": items,
        "client": client,
        "contact": contact,
        "batch_url": batch_url,
        "expires_at": reply_link.expires_at.astimezone(client.tz),
        "example_planned": answer_by + EXAMPLE_PLAN_AFTER,
        "example_deferred": answer_by + EXAMPLE_DEFERRAL_AFTER,
    }
    stamp = f"{(first.presented_at or now).timestamp():.6f}"
    key = (
        f"present:{first.pk}:{contact.pk}:{stamp}"
        if len(recs) == 1
        else f"present:batch:{','.join(str(r.pk) for r in recs)}:{contact.pk}:{stamp}"
    )
    if resend:
        key = f"{key}:resend:{resend}"
    # The head printed on the e-mail is recorded as an anchor: the client's mailbox
    # then holds proof of the history up to this presentation.
    context["head"] = mail.client_head(client, at=now, reference=key)
    email = mail.render_email("presented", context, language=language)
    outbox_enqueue_email(
        key=key,
        to=[contact.email],
        subject=email.subject,
        text=email.text,
        html=email.html,
        reply_to=[reply_address(reply_link)],
        now=now,
        client=client,
        recommendation_id=first.pk,
        headers={"X-Heeded-Recommendation": ",".join(str(r.pk) for r in recs)},
    )
