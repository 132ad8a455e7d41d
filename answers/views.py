"""The public answer page behind a signed link. No login: the link is the credential.

Every request is logged as a LinkAttempt. Only a valid, unused, unexpired link whose
recommendations still carry the exact text presented shows the form; a used link shows
what was answered, an expired one offers a new link, anything else shows one generic
page. None of those change anything.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.securityevents import request_event
from answers import selectors
from answers.choices import LinkState
from answers.errors import AnswerRefused, Msg
from answers.forms import DecisionForm, MeetingForm, PortalSignInForm, SignatureForm
from answers.models import AnswerLink, AnswerPolicy, Proposal
from answers.services import authority, inbound, links, meetings, portal, recording, submissions
from catalog.choices import Severity
from clients.models import Client, Contact
from clients.selectors import client_get_for
from lib import crypto
from lib.clientip import client_ip
from lib.errors import ServiceError, page_status
from recommendations import mail
from recommendations.choices import Channel, Decision, Status
from recommendations.decisions import DECIDABLE_STATUSES, is_decidable, text_matches
from recommendations.models import Recommendation, Response

# Outcomes of a request to an answer link that the security log records: a token that
# names no link, a link past its time, a renewal refused, an answer sent to a used link.
# Showing a used link's answers again is no refusal: contacts come back to it.
_REFUSED_LINK = {"invalid", LinkState.EXPIRED, "renew_refused"}


def log_attempt(
    request: HttpRequest, link: AnswerLink | None, outcome: str, detail: str = ""
) -> None:
    if outcome in _REFUSED_LINK or (outcome == LinkState.USED and request.method == "POST"):
        request_event(
            request,
            "link_refused",
            kind="answer",
            link=link.pk if link is not None else "",
            outcome=outcome,
        )
    links.link_attempt_record(
        link=link,
        outcome=outcome,
        now=timezone.now(),
        method=request.method or "",
        detail=detail,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: keep it out of Referer headers and caches.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    # These pages run no script at all: tighter than the site-wide policy.
    response._csp_replace = {"script-src": ["'none'"], "connect-src": ["'none'"]}  # type: ignore[attr-defined]
    return response


def _page(
    request: HttpRequest,
    template: str,
    context: dict,
    status: int = 200,
    *,
    client: Client | None = None,
) -> HttpResponse:
    if client is not None:
        speak_client_language(client)
    context = {"decision_values": Decision.values, **context}
    return _private(render(request, template, context, status=status))


def speak_client_language(client: Client) -> None:
    """Everything a client sees (the page, its refusals, its dates) is in the client's
    language, whatever the browser asks for: activated for the rest of the view, which
    is wrapped in ``client_language_scope``."""
    translation.activate(mail.language_for(client))


def client_language_scope(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Give back the language that was active before the view switched to the client's,
    so the thread does not keep speaking it after the response."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        with translation.override(translation.get_language()):
            return view(request, *args, **kwargs)

    return wrapper


def text_intact(link: AnswerLink, recs: list[Recommendation]) -> bool:
    """True when every recommendation still shows the exact text presented."""
    return all(text_matches(rec, link.text_sha256.get(str(rec.pk), "")) for rec in recs)


def _forms(request: HttpRequest, recs: list[Recommendation], batch: bool) -> list[DecisionForm]:
    data = request.POST if request.method == "POST" else None
    return [DecisionForm(data, prefix=f"r{rec.pk}" if batch else None) for rec in recs]


@never_cache
@require_http_methods(["GET", "POST"])
@client_language_scope
def answer(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    link = selectors.link_by_token(token)
    if link is None:
        log_attempt(request, None, "invalid")
        return _page(request, "answers/invalid.html", {}, status=404)
    speak_client_language(link.client)
    state = link.state(now)
    if state != LinkState.OPEN:
        log_attempt(request, link, state)
        return _closed(request, link, token, state)
    recs = list(link.recommendations.all())
    if not text_intact(link, recs):
        log_attempt(request, link, "text_changed")
        return _page(
            request,
            "answers/invalid.html",
            {"reason": _(Msg.TEXT_CHANGED)},
            status=409,
            client=link.client,
        )
    forms = _forms(request, recs, link.is_batch)
    signature = SignatureForm(request.POST if request.method == "POST" else None)
    error = ""
    status = 200
    if request.method == "POST":
        if all(f.is_valid() for f in forms) and signature.is_valid():
            items = [
                recording.AnswerItem(recommendation=rec, **form.cleaned_data)
                for rec, form in zip(recs, forms, strict=True)
            ]
            try:
                outcome = submissions.answer_submit(
                    contact=link.contact,
                    items=items,
                    typed_name=signature.cleaned_data["typed_name"],
                    consent=signature.cleaned_data["consent"],
                    channel=Channel.SIGNED_LINK,
                    now=now,
                    link=link,
                    form=request.POST.dict(),
                    ip=client_ip(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
            except ServiceError as exc:
                log_attempt(request, link, "refused", exc.message)
                if isinstance(exc, AnswerRefused) and exc.code in ("used", "expired"):
                    link.refresh_from_db()
                    return _closed(request, link, token, link.state(now))
                error, status = exc.message, 400
            else:
                log_attempt(request, link, "answered")
                context = {
                    "link": link,
                    "just_now": True,
                    "submissions": outcome.submissions,
                    "responses": outcome.responses,
                    "proposals": outcome.proposals,
                    "anchor": outcome.anchor,
                }
                return _page(request, "answers/answered.html", context, client=link.client)
        else:
            log_attempt(request, link, "refused", "invalid form")
            error, status = _("Check the dates you entered."), 400
    else:
        log_attempt(request, link, "shown")
    context = {
        "link": link,
        "client": link.client,
        "rows": list(zip(recs, forms, strict=True)),
        "signature": signature,
        "consent_statement": submissions.consent_statement(link.client),
        "error": error,
    }
    return _page(request, "answers/answer.html", context, status=status, client=link.client)


def _closed(request: HttpRequest, link: AnswerLink, token: str, state: str) -> HttpResponse:
    """The page of a used or expired link: it shows, it changes nothing."""
    if state == LinkState.USED:
        context = {"link": link, **selectors.link_answers(link)}
        return _page(request, "answers/answered.html", context, client=link.client)
    context = {"link": link, "token": token}
    return _page(request, "answers/expired.html", context, status=410, client=link.client)


@never_cache
@require_POST
@client_language_scope
def renew(request: HttpRequest, token: str) -> HttpResponse:
    """Send a fresh link for an expired one, to the contact's own address only."""
    now = timezone.now()
    link = selectors.link_by_token(token)
    if link is None or link.state(now) != LinkState.EXPIRED:
        log_attempt(request, link, "renew_refused")
        return _page(request, "answers/invalid.html", {}, status=404)
    sent = links.link_renew(link=link, now=now)
    log_attempt(request, link, "renewed" if sent else "renew_refused")
    return _page(request, "answers/renewed.html", {"sent": sent}, client=link.client)


# --- client portal -----------------------------------------------------------------
# Contacts are not Django users: the portal keeps its own session key, so a staff
# login and a contact sign-in never grant each other anything.

PORTAL_SESSION_KEY = "portal_contact_id"


def _portal_contact(request: HttpRequest) -> Contact | None:
    pk = request.session.get(PORTAL_SESSION_KEY)
    if pk is None:
        return None
    return Contact.objects.select_related("client").filter(pk=pk, is_active=True).first()


def portal_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    @client_language_scope
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        contact = _portal_contact(request)
        if contact is None:
            return redirect("answers:portal_sign_in")
        speak_client_language(contact.client)
        request.portal_contact = contact  # type: ignore[attr-defined]  # the security log's actor
        return view(request, contact, *args, **kwargs)

    return wrapper


@never_cache
@require_http_methods(["GET", "POST"])
def portal_sign_in(request: HttpRequest) -> HttpResponse:
    form = PortalSignInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        portal.portal_code_request(
            email=form.cleaned_data["email"], now=timezone.now(), ip=client_ip(request)
        )
        # The same page whether the address is known, unknown or rate-limited.
        return _page(request, "portal/sign_in_sent.html", {})
    return _page(request, "portal/sign_in.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def portal_sign_in_link(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a button: mail scanners that follow links must not spend it.
    if request.method == "GET":
        return _page(request, "portal/sign_in_confirm.html", {})
    try:
        contact = portal.portal_sign_in(token=token, now=timezone.now())
    except AnswerRefused as exc:
        request_event(request, "link_refused", kind="portal_sign_in", outcome=exc.code)
        return _page(
            request,
            "portal/sign_in.html",
            {"form": PortalSignInForm(), "error": exc.message},
            status=400,
        )
    request.session.cycle_key()
    request.session[PORTAL_SESSION_KEY] = contact.pk
    return redirect("answers:portal_home")


@require_POST
def portal_sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(PORTAL_SESSION_KEY, None)
    request.session.cycle_key()
    return redirect("answers:portal_sign_in")


@never_cache
@portal_required
def portal_home(request: HttpRequest, contact: Contact) -> HttpResponse:
    recs = list(selectors.portal_recommendations(contact))
    context = {
        "contact": contact,
        "open": [r for r in recs if r.status == Status.AWAITING_RESPONSE],
        "others": [r for r in recs if r.status != Status.AWAITING_RESPONSE],
    }
    return _page(request, "portal/home.html", context, client=contact.client)


@never_cache
@portal_required
@require_http_methods(["GET", "POST"])
def portal_recommendation(request: HttpRequest, contact: Contact, pk: int) -> HttpResponse:
    rec = selectors.portal_recommendation_get(contact, pk)
    can_answer = is_decidable(rec.status)
    form = DecisionForm(request.POST if request.method == "POST" else None)
    signature = SignatureForm(request.POST if request.method == "POST" else None)
    error, status = "", 200
    if request.method == "POST":
        if not can_answer:
            error, status = _(Msg.NOT_OPEN), 400
        elif form.is_valid() and signature.is_valid():
            try:
                submissions.answer_submit(
                    contact=contact,
                    items=[recording.AnswerItem(recommendation=rec, **form.cleaned_data)],
                    typed_name=signature.cleaned_data["typed_name"],
                    consent=signature.cleaned_data["consent"],
                    channel=Channel.PORTAL,
                    now=timezone.now(),
                    form=request.POST.dict(),
                    ip=client_ip(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
            except ServiceError as exc:
                error, status = exc.message, page_status(exc)
            else:
                return redirect("answers:portal_recommendation", pk=rec.pk)
        else:
            error, status = _("Check the dates you entered."), 400
    context = {
        "contact": contact,
        "rec": rec,
        "form": form if can_answer else None,
        "signature": signature,
        "consent_statement": submissions.consent_statement(contact.client),
        "responses": selectors.portal_responses(rec),
        "proposals": list(rec.proposals.order_by("-created_at")),
        "error": error,
    }
    return _page(
        request, "portal/recommendation.html", context, status=status, client=contact.client
    )


# --- staff pages: the review queue and meetings ------------------------------------


@login_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    show_all = request.GET.get("all") == "1"
    messages_ = selectors.review_queue_for(request.user, include_reviewed=show_all)
    page = Paginator(messages_, 50).get_page(request.GET.get("page"))
    return render(request, "answers/review_queue.html", {"page": page, "show_all": show_all})


@login_required
@require_http_methods(["GET", "POST"])
def inbound_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = selectors.inbound_get_for(request.user, pk)
    error, status = "", 200
    if request.method == "POST":
        try:
            inbound.inbound_review(
                message=message,
                actor=request.user,
                note=request.POST.get("review_note", ""),
                now=timezone.now(),
            )
        except ServiceError as exc:
            error, status = exc.message, page_status(exc)
        else:
            messages.success(request, _("Marked as reviewed."))
            return redirect("answers:review_queue")
    raw = crypto.decrypt(message.raw_encrypted).decode("utf-8", errors="replace")
    context = {
        "message": message,
        "raw": raw,
        "checks": json.dumps(message.verification, indent=2, sort_keys=True),
        "error": error,
        "note": request.POST.get("review_note", ""),
    }
    return render(request, "answers/inbound_detail.html", context, status=status)


def _meeting_summary(results: list[Response | Proposal]) -> str:
    proposals = sum(isinstance(r, Proposal) for r in results)
    decided = len(results) - proposals
    text = ngettext("Recorded %(count)d decision.", "Recorded %(count)d decisions.", decided) % {
        "count": decided
    }
    if proposals:
        text += " " + ngettext(
            "%(count)d taken as a proposal: the person who decided may not decide it"
            " alone, so it was sent to an authorised contact.",
            "%(count)d taken as proposals: the person who decided may not decide them"
            " alone, so they were sent to an authorised contact.",
            proposals,
        ) % {"count": proposals}
    return text


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest, client_pk: int) -> HttpResponse:
    client = client_get_for(request.user, client_pk)
    recs = list(
        Recommendation.objects.filter(client=client, status__in=DECIDABLE_STATUSES).order_by(
            "status", "-presented_at", "pk"
        )
    )
    data = request.POST if request.method == "POST" else None
    form = MeetingForm(data)
    rows = [(rec, DecisionForm(data, prefix=f"r{rec.pk}")) for rec in recs]
    error, status = "", 200
    if request.method == "POST":
        if form.is_valid() and all(f.is_valid() for _rec, f in rows):
            decisions = [
                meetings.MeetingDecision(
                    recommendation=rec,
                    responder_name=form.cleaned_data["decided_by"],
                    **f.cleaned_data,
                )
                for rec, f in rows
                if f.cleaned_data["decision"]
            ]
            try:
                _meeting, results = meetings.meeting_record(
                    client=client,
                    channel=form.cleaned_data["channel"],
                    held_on=form.cleaned_data["held_on"],
                    attendees=form.cleaned_data["attendees"],
                    notes=form.cleaned_data["notes"],
                    decisions=decisions,
                    recorded_by=request.user,
                    now=timezone.now(),
                )
            except ServiceError as exc:
                error, status = exc.message, page_status(exc)
            else:
                messages.success(request, _meeting_summary(results))
                return redirect("web:client_detail", client.pk)
        else:
            error, status = _("Check the fields marked below."), 400
    context = {
        "client": client,
        "form": form,
        "rows": rows,
        "error": error,
        "decision_values": Decision.values,
    }
    return render(request, "answers/meeting_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def present_batch(request: HttpRequest, client_pk: int) -> HttpResponse:
    """Present several drafts of one client at once: one e-mail per decision maker."""
    client = client_get_for(request.user, client_pk)
    drafts = list(Recommendation.objects.filter(client=client, status=Status.DRAFT).order_by("pk"))
    error, status = "", 200
    if request.method == "POST":
        chosen = set(request.POST.getlist("recommendation"))
        picked = [r for r in drafts if str(r.pk) in chosen]
        try:
            links.recommendations_present(
                recommendations=picked, actor=request.user, now=timezone.now()
            )
        except ServiceError as exc:
            error, status = exc.message, page_status(exc)
        else:
            messages.success(
                request,
                ngettext(
                    "Presented %(count)d recommendation.",
                    "Presented %(count)d recommendations.",
                    len(picked),
                )
                % {"count": len(picked)},
            )
            return redirect("web:client_detail", client.pk)
    context = {"client": client, "drafts": drafts, "error": error}
    return render(request, "answers/present_batch.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def authority_edit(request: HttpRequest, client_pk: int) -> HttpResponse:
    """Who may decide which severities for this client; dual approval of rejections."""
    client = client_get_for(request.user, client_pk)
    contacts = list(Contact.objects.filter(client=client, is_active=True).order_by("name", "pk"))
    error, status = "", 200
    if request.method == "POST":
        use_rules = request.POST.get("use_rules") == "on"
        rules = (
            {c.pk: request.POST.getlist(f"contact-{c.pk}") for c in contacts} if use_rules else None
        )
        try:
            authority.authority_replace(
                client=client,
                rules=rules,
                dual_approval_reject_critical=request.POST.get("dual") == "on",
                actor=request.user,
                now=timezone.now(),
            )
        except ServiceError as exc:
            error, status = exc.message, page_status(exc)
        else:
            messages.success(request, _("Saved who may decide."))
            return redirect("answers:authority_edit", client.pk)
    current = {r.contact_id: r.severities for r in client.authority_rules.all()}
    policy = AnswerPolicy.objects.filter(client=client).first()
    context = {
        "client": client,
        "rows": [(c, current.get(c.pk, [])) for c in contacts],
        "severities": Severity.choices,
        "use_rules": bool(current),
        "dual": bool(policy and policy.dual_approval_reject_critical),
        "error": error,
    }
    return render(request, "answers/authority.html", context, status=status)
