"""Reads of the answers app."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from accounts.models import User
from answers.choices import Outcome
from answers.models import AnswerLink, InboundMessage, Proposal, Submission
from answers.presentation import token_sha256
from clients.models import Contact
from clients.selectors import client_list_for
from ledger.models import Anchor
from recommendations.choices import Status
from recommendations.models import Recommendation, Response


def link_by_token(token: str) -> AnswerLink | None:
    """The link a token names, or None for an unknown (or tampered) token."""
    if not token or len(token) > 100:
        return None
    return (
        AnswerLink.objects.select_related("contact", "client")
        .prefetch_related(
            Prefetch(
                "recommendations",
                queryset=Recommendation.objects.select_related("client").order_by("pk"),
            )
        )
        .filter(token_sha256=token_sha256(token))
        .first()
    )


def link_answers(link: AnswerLink) -> dict[str, object]:
    """What was answered through a link: submissions, responses, proposals, anchor.

    Follows the submissions' own foreign keys, each also held to the link's client;
    never a Response's or Proposal's free-text ``evidence_ref``, which staff may type
    anything into."""
    submissions = list(Submission.objects.filter(link=link).order_by("pk"))
    response_ids = [s.response_id for s in submissions if s.response_id]
    proposal_ids = [s.proposal_id for s in submissions if s.proposal_id]
    mine = {"recommendation__client_id": link.client_id}
    anchor = None
    if submissions:
        anchor = Anchor.objects.filter(
            client_id=link.client_id, reference=f"submission:{submissions[0].pk}"
        ).first()
    return {
        "submissions": submissions,
        "responses": list(
            Response.objects.filter(pk__in=response_ids, **mine)
            .select_related("recommendation")
            .order_by("pk")
        ),
        "proposals": list(
            Proposal.objects.filter(pk__in=proposal_ids, **mine)
            .select_related("recommendation")
            .order_by("pk")
        ),
        "anchor": anchor,
    }


def portal_recommendations(contact: Contact) -> QuerySet[Recommendation]:
    """What a contact sees in the portal: its own client's presented items."""
    return (
        Recommendation.objects.filter(client_id=contact.client_id)
        .exclude(status=Status.DRAFT)
        .select_related("client")
        .order_by("-presented_at", "-pk")
    )


def portal_recommendation_get(contact: Contact, pk: int) -> Recommendation:
    """One of the contact's client's items, or 404 (another client's, or a draft)."""
    rec = portal_recommendations(contact).filter(pk=pk).first()
    if rec is None:
        raise Http404
    return rec


def portal_responses(rec: Recommendation) -> list[Response]:
    return list(
        Response.objects.filter(recommendation=rec)
        .select_related("responder", "recorded_by")
        .order_by("-recorded_at", "-pk")
    )


def link_list_for(user: User, recommendation: Recommendation) -> QuerySet[AnswerLink]:
    """The links of a recommendation the user may see (404 for another client's)."""
    if not client_list_for(user).filter(pk=recommendation.client_id).exists():
        raise Http404
    return (
        AnswerLink.objects.filter(recommendations=recommendation)
        .select_related("contact", "response")
        .order_by("-created_at", "-pk")
    )


def review_queue_for(user: User, *, include_reviewed: bool = False) -> QuerySet[InboundMessage]:
    """Inbound messages not counted, for clients the user sees (unmatched ones, which
    have no client, only for staff who see every client)."""
    qs = InboundMessage.objects.exclude(outcome=Outcome.RECORDED).select_related(
        "client", "contact", "recommendation", "reviewed_by"
    )
    if not include_reviewed:
        qs = qs.filter(reviewed_at__isnull=True)
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.sees_all_clients:
        return qs
    return qs.filter(client__in=client_list_for(user))


def inbound_get_for(user: User, pk: int) -> InboundMessage:
    message = review_queue_for(user, include_reviewed=True).filter(pk=pk).first()
    if message is None:
        raise Http404
    return message
