"""The answer links' own writes: logging each request to a link, renewing an expired
link, and presenting several drafts at once with one e-mail per contact. Issuing a
link and the presentation e-mail live in ``answers.presentation``."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from accounts.models import User
from accounts.permissions import Capability, require
from answers.errors import AnswerRefused, Msg
from answers.models import AnswerLink, LinkAttempt
from answers.presentation import collecting_batch, present_to, present_to_each
from clients.models import Contact
from lib.errors import ServiceError
from recommendations.decisions import is_decidable
from recommendations.models import Recommendation
from recommendations.services import recommendation_present


def link_attempt_record(
    *,
    link: AnswerLink | None,
    outcome: str,
    now: dt.datetime,
    method: str = "",
    detail: str = "",
    ip: str | None = None,
    user_agent: str = "",
) -> LinkAttempt:
    """Log one request to an answer link or a portal form (``link`` is None when the
    token named no link), whatever its outcome; long texts are cut to their columns
    and an empty address (a request with no peer) is stored as none."""
    return LinkAttempt.objects.create(
        link=link,
        at=now,
        method=method[:8],
        outcome=outcome[:20],
        detail=detail[:1000],
        ip=ip or None,
        user_agent=user_agent[:400],
    )


def link_renew(*, link: AnswerLink, now: dt.datetime) -> bool:
    """E-mail the link's contact (only them) fresh links for the recommendations of an
    expired link that still wait for a decision. Once per link; False when refused."""
    with transaction.atomic():
        link = (
            AnswerLink.objects.select_for_update().select_related("contact__client").get(pk=link.pk)
        )
        if link.used_at is not None or now < link.expires_at or not link.contact.is_active:
            return False
        if link.attempts.filter(outcome="renewed").exists():
            return False
        recs = [
            r
            for r in link.recommendations.select_related("client").order_by("pk")
            if is_decidable(r.status)
        ]
        if not recs:
            return False
        present_to(link.contact, recs, now=now, resend=f"link{link.pk}")
    return True


def recommendations_present(
    *, recommendations: list[Recommendation], actor: User, now: dt.datetime
) -> list[Recommendation]:
    """Present several drafts of one client at once: each decision maker gets one
    e-mail with a link per recommendation and a batch link for all of them."""
    require(actor, Capability.WRITE)
    if not recommendations:
        raise AnswerRefused(Msg.NOTHING_TO_PRESENT, field="recommendations", code="required")
    if len({r.client_id for r in recommendations}) > 1:
        raise AnswerRefused(Msg.ONE_CLIENT_PER_BATCH, field="recommendations")
    with transaction.atomic():
        with collecting_batch() as collected:
            done = [
                recommendation_present(recommendation=r, actor=actor, now=now)
                for r in recommendations
            ]
        per_contact: dict[int, tuple[Contact, list[Recommendation]]] = {}
        for rec, recipients in collected:
            for contact in recipients:
                per_contact.setdefault(contact.pk, (contact, []))[1].append(rec)
        present_to_each(list(per_contact.values()), now=now)
    return done


def recommendations_present_per_client(
    *, recommendations: list[Recommendation], actor: User, now: dt.datetime
) -> list[Recommendation]:
    """Present drafts of one client or many: each client's batch goes through
    ``recommendations_present`` (one e-mail per decision maker per client), all in
    one transaction, so a refusal for one client (no decision maker, say) presents
    nothing and its message names the client."""
    require(actor, Capability.WRITE)
    if not recommendations:
        raise AnswerRefused(Msg.NOTHING_TO_PRESENT, field="recommendations", code="required")
    per_client: dict[int, list[Recommendation]] = {}
    for rec in recommendations:
        per_client.setdefault(rec.client_id, []).append(rec)
    done: list[Recommendation] = []
    with transaction.atomic():
        for batch in per_client.values():
            try:
                done.extend(recommendations_present(recommendations=batch, actor=actor, now=now))
            except ServiceError as exc:
                raise AnswerRefused(
                    f"{batch[0].client.name}: {exc.message}", field=exc.field or "recommendations"
                ) from exc
    return done
