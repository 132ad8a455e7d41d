"""Pages of the staff UI.

Reads go through the selectors (a client the user may not see is a 404), writes
through the services, with ``now`` and the acting user passed in. A refused change
renders the same page again, with the service's message on the field it names, the
user's input kept, status 400, and nothing stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    When,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Capability, allows, require
from answers.models import Proposal
from answers.services.staff import staff_answer_record
from catalog.choices import SEVERITY_ORDER
from catalog.models import TemplateVersion, VersionText
from clients.models import Client
from clients.selectors import client_get_for, client_list_for, contact_list_for
from followup.selectors import outbox_list_for
from ledger.selectors import event_list_for, head_for
from lib.errors import ServiceError
from lib.languages import BASE_LANGUAGE, Language
from recommendations import services
from recommendations.choices import Status
from recommendations.decisions import decisions_allowed
from recommendations.lifecycle import Action, allowed_actions
from recommendations.models import Recommendation
from recommendations.selectors import (
    overdue_q,
    recommendation_get_for,
    recommendation_list_for,
    response_list_for,
    summary_rows,
    tally_count_for,
)
from web import dashboard as dashboard_data
from web import lists
from web.forms import (
    ActionForm,
    MarkImplementedForm,
    MarkVerifiedForm,
    OutboxFilterForm,
    PresentForm,
    RecommendationCreateForm,
    RecommendationFilterForm,
    ResponseForm,
    StartWorkForm,
    TemplatePickForm,
    WithdrawForm,
    add_service_error,
)
from web.recommendation_forms import ContactForm, OwnerForm

PAGE_SIZE = 50
DASHBOARD_OVERDUE_LIMIT = 50
DASHBOARD_RECENT_LIMIT = 10


def _is_htmx_partial(request: HttpRequest) -> bool:
    """An htmx request that wants only the results, not a whole page.

    A history restore (the user went back and htmx's cache missed) needs the page.
    """
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _render_list(
    request: HttpRequest, page: str, partial: str, context: dict[str, Any]
) -> HttpResponse:
    response = render(request, partial if _is_htmx_partial(request) else page, context)
    # The same URL answers with a page or a fragment: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- dashboard ---------------------------------------------------------------------


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    sort, descending = lists.sort_param(
        request.GET.get("clients"), dashboard_data.SCORE_SORTS, "compliance"
    )
    context = dashboard_data.dashboard_context(
        request.user,
        now=now,
        today=timezone.localdate(now),
        client_sort=sort,
        descending=descending,
    )
    recent = summary_rows(
        recommendation_list_for(request.user).filter(decided_at__isnull=False)
    ).order_by("-decided_at", "-id")[:DASHBOARD_RECENT_LIMIT]
    context.update(recent=recent, now=now)
    return render(request, "web/dashboard.html", context)


# --- clients -----------------------------------------------------------------------


CLIENT_SORTS = ("name", "open", "risk", "total", "adoption", "compliance")


def _overdue_per_client(clients: list[Client], now: dt.datetime) -> dict[int, int]:
    """Overdue items of the given clients (the rows a page shows): one query whose
    cost follows those clients' overdue items."""
    zones = {c.time_zone for c in clients}
    return {
        row["client_id"]: row["n"]
        for row in Recommendation.objects.filter(
            overdue_q(now, zones=zones), client_id__in=[c.pk for c in clients]
        )
        .order_by()
        .values("client_id")
        .annotate(n=Count("id"))
    }


@login_required
@require_GET
def client_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    q = request.GET.get("q", "").strip()[:200]
    sort, descending = lists.sort_param(request.GET.get("sort"), CLIENT_SORTS, "name")
    clients = client_list_for(request.user).select_related("account_owner")
    if q:
        clients = clients.filter(Q(name__icontains=q) | Q(industry__icontains=q))
    # Ranked from the counters; the client rows are read for the page shown only.
    scores = dashboard_data.client_scores(
        request.user, clients=clients, sort=sort, descending=descending, limit=0
    )
    if lists.wants_csv(request):
        dashboard_data.attach_clients(scores, clients)
        overdue = _overdue_per_client([r.client for r in scores], now)
        return lists.csv_response(
            "clients.csv",
            [
                _("Client"),
                _("Industry"),
                _("Account owner"),
                _("Open"),
                _("Overdue"),
                _("Open risk"),
                _("Adoption %"),
                _("Compliance %"),
                _("All"),
            ],
            (
                [
                    r.client.name,
                    r.client.industry,
                    str(r.client.account_owner or ""),
                    r.open,
                    overdue.get(r.client.pk, 0),
                    r.open_risk,
                    r.adoption,
                    r.compliance,
                    r.total,
                ]
                for r in scores
            ),
        )
    page = Paginator(scores, lists.page_size(request)).get_page(request.GET.get("page"))
    dashboard_data.attach_clients(page.object_list, clients)
    overdue = _overdue_per_client([r.client for r in page.object_list], now)
    for row in page.object_list:
        row.overdue = overdue.get(row.client.pk, 0)
    context = {
        "page": page,
        "q": q,
        "sort": sort,
        "descending": descending,
        "per_page": lists.page_size(request),
        "page_sizes": lists.PAGE_SIZES,
    }
    return _render_list(request, "web/client_list.html", "web/_client_results.html", context)


@login_required
@require_GET
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user, now = request.user, timezone.now()
    client = client_get_for(user, pk)
    context = {
        "client": client,
        "domains": client.domains.all(),
        "contacts": contact_list_for(user, client=client).order_by("-is_active", "name"),
        "staff": client.staff.order_by("username"),
        "head": head_for(client),
        "now": now,
        **dashboard_data.client_summary(user, client, now=now),
    }
    return render(request, "web/client_detail.html", context)


# --- recommendations list ------------------------------------------------------------


# The list's sorts: each key orders by its columns, then by id so pages never overlap.
# The default, newest first, walks the (created_at, id) index.
RECOMMENDATION_SORTS: dict[str, tuple[Any, ...]] = {
    "created": ("created_at", "id"),
    "title": ("title", "id"),
    "client": ("client__name", "id"),
    "severity": (
        Case(
            *[When(severity=sev, then=rank) for sev, rank in SEVERITY_ORDER.items()],
            output_field=IntegerField(),
        ),
        "id",
    ),
    "status": ("status", "id"),
    "next": ("next_action_at", "id"),
}


def _ordered(qs: Any, key: str, descending: bool) -> Any:
    """``qs`` in the order of ``key``. Rows without a next date come last either way;
    the other keys are never null and get a plain ASC/DESC, which the indexes match."""
    nulls = {"nulls_last": True} if key == "next" else {}
    terms = []
    for term in RECOMMENDATION_SORTS[key]:
        expr = F(term) if isinstance(term, str) else term
        terms.append(expr.desc(**nulls) if descending else expr.asc(**nulls))
    return qs.order_by(*terms)


def _next_date(rec: Recommendation) -> tuple[str, dt.date | dt.datetime | None]:
    """What the list's "Next date" column shows: a kind and a date."""
    if rec.status == Status.AWAITING_RESPONSE:
        return _("answer by"), rec.response_due_at
    if rec.status == Status.DEFERRED:
        return _("deferred to"), rec.deferred_until
    if rec.status in (Status.ACCEPTED, Status.IN_PROGRESS) and rec.planned_for:
        return _("planned"), rec.planned_for
    return "", None


def _recommendation_csv(recommendations: Any, now: dt.datetime) -> HttpResponse:
    def rows() -> Any:
        for rec in recommendations.iterator(chunk_size=2000):
            kind, when = _next_date(rec)
            if isinstance(when, dt.datetime):
                when = timezone.localtime(when).date()
            yield [
                rec.pk,
                rec.title,
                ", ".join(rec.tags or []),
                rec.client.name,
                rec.get_severity_display(),
                rec.get_status_display(),
                rec.is_overdue(now),
                str(rec.owner or ""),
                kind,
                when.isoformat() if when else "",
                timezone.localtime(rec.created_at).date().isoformat(),
            ]

    return lists.csv_response(
        "recommendations.csv",
        [
            _("ID"),
            _("Recommendation"),
            _("Tags"),
            _("Client"),
            _("Severity"),
            _("Status"),
            _("Overdue"),
            _("Owner"),
            _("Next date is"),
            _("Next date"),
            _("Created"),
        ],
        rows(),
    )


@login_required
@require_GET
def recommendation_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    form = RecommendationFilterForm(request.GET or None, user=request.user)
    filters = form.filters()
    overdue = filters.pop("overdue")
    sort, descending = lists.sort_param(request.GET.get("sort"), RECOMMENDATION_SORTS, "-created")
    recommendations = _ordered(
        recommendation_list_for(request.user, overdue_at=now if overdue else None, **filters),
        sort,
        descending,
    )
    if lists.wants_csv(request):
        return _recommendation_csv(recommendations, now)
    per_page = lists.page_size(request)
    paginator = Paginator(recommendations, per_page)
    if not (overdue or filters["owner_id"] or filters["tag"] or filters["search"]):
        # Filtered at most by client, status and severity: the counters know the total.
        total = tally_count_for(
            request.user,
            client_id=filters["client_id"],
            status=filters["status"],
            severity=filters["severity"],
        )
        paginator = lists.CountedPaginator(recommendations, per_page, count=total)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "now": now,
        "filtered": any(v for v in filters.values()) or overdue,
        "sort": sort,
        "descending": descending,
        "per_page": per_page,
        "page_sizes": lists.PAGE_SIZES,
    }
    return _render_list(
        request, "web/recommendation_list.html", "web/_recommendation_results.html", context
    )


# --- one recommendation: the page and its actions --------------------------------------


@dataclass(frozen=True)
class UiAction:
    """An action form on the recommendation page and the service behind it."""

    slug: str
    title: str | Promise
    button: str | Promise
    form_class: type[ActionForm]
    lifecycle: tuple[Action, ...]
    perform: Callable[[Any, Any, dt.datetime], str]
    danger: bool = False
    # For a change that is not a transition (owner, point of contact): the statuses
    # it is offered in, instead of the lifecycle table's answer.
    statuses: frozenset[str] | None = None

    def allowed(self, status: str) -> bool:
        if self.statuses is not None:
            return status in self.statuses
        return any(action in allowed_actions(status) for action in self.lifecycle)

    def form(self, rec: Recommendation, user: Any, data: Any = None) -> ActionForm:
        extra: dict[str, Any] = {}
        if self.form_class is ResponseForm:
            extra["allowed"] = decisions_allowed(rec.status)
        return self.form_class(data, recommendation=rec, user=user, **extra)


def _day(value: dt.date | dt.datetime | None) -> str:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATE_FORMAT") if value else ""


def _present(form: PresentForm, user: Any, now: dt.datetime) -> str:
    rec = services.recommendation_present(recommendation=form.recommendation, actor=user, now=now)
    return _("Presented to the client; a response is due by %(day)s.") % {
        "day": _day(rec.response_due_at)
    }


def _respond(form: ResponseForm, user: Any, now: dt.datetime) -> str:
    data = form.cleaned_data
    # Through the answers app, so the client's authority rules hold for an answer
    # taken by phone as they do for one given by link or e-mail.
    result = staff_answer_record(
        recommendation=form.recommendation,
        decision=data["decision"],
        channel=data["channel"],
        now=now,
        recorded_by=user,
        responder=data.get("responder"),
        responder_name=data.get("responder_name", ""),
        justification=data.get("justification", ""),
        planned_for=data.get("planned_for"),
        deferred_until=data.get("deferred_until"),
        attendees=data.get("attendees", ""),
        shown_text_sha256=data.get("shown_text_sha256", ""),
    )
    if isinstance(result, Proposal):
        return _(
            "Not recorded yet: %(name)s may not take this decision alone (%(reason)s); it was"
            " sent to an authorised contact to confirm."
        ) % {"name": result.responder_name, "reason": result.reason}
    recorded = {
        "accepted": _("Accepted: the answer of %(name)s is recorded."),
        "deferred": _("Deferred: the answer of %(name)s is recorded."),
        "rejected": _("Rejected: the answer of %(name)s is recorded."),
    }
    return recorded[result.decision] % {"name": result.responder_name}


def _start_work(form: StartWorkForm, user: Any, now: dt.datetime) -> str:
    services.recommendation_start_work(
        recommendation=form.recommendation, actor=user, now=now, note=form.cleaned_data["note"]
    )
    return _("Work started.")


def _mark_implemented(form: MarkImplementedForm, user: Any, now: dt.datetime) -> str:
    services.recommendation_mark_implemented(
        recommendation=form.recommendation,
        actor=user,
        now=now,
        note=form.cleaned_data["note"],
        evidence_ref=form.cleaned_data["evidence_ref"],
    )
    return _("Marked as implemented.")


def _mark_verified(form: MarkVerifiedForm, user: Any, now: dt.datetime) -> str:
    services.recommendation_mark_verified(
        recommendation=form.recommendation,
        actor=user,
        now=now,
        note=form.cleaned_data["note"],
        evidence_ref=form.cleaned_data["evidence_ref"],
    )
    return _("Marked as verified.")


def _withdraw(form: WithdrawForm, user: Any, now: dt.datetime) -> str:
    services.recommendation_withdraw(
        recommendation=form.recommendation, actor=user, now=now, reason=form.cleaned_data["reason"]
    )
    return _("Withdrawn.")


def _set_owner(form: OwnerForm, user: Any, now: dt.datetime) -> str:
    rec = services.recommendation_set_owner(
        recommendation=form.recommendation, owner=form.cleaned_data["owner"], actor=user, now=now
    )
    if rec.owner is None:
        return _("Nobody owns the follow-up now.")
    return _("The follow-up owner is now %(owner)s.") % {"owner": rec.owner}


def _set_contact(form: ContactForm, user: Any, now: dt.datetime) -> str:
    rec = services.recommendation_set_contact(
        recommendation=form.recommendation,
        contact=form.cleaned_data["contact"],
        actor=user,
        now=now,
    )
    if rec.contact is None:
        return _("No point of contact now.")
    return _("The point of contact is now %(contact)s.") % {"contact": rec.contact.name}


# Owner and contact may change while the recommendation is alive; withdrawn is closed.
REASSIGNABLE = frozenset(set(Status) - {Status.WITHDRAWN})

UI_ACTIONS = [
    UiAction(
        "present",
        _l("Present to the client"),
        _l("Present"),
        PresentForm,
        (Action.PRESENT,),
        _present,
    ),
    UiAction(
        "respond",
        _l("Record the client's answer"),
        _l("Record answer"),
        ResponseForm,
        (Action.ACCEPT, Action.DEFER, Action.REJECT),
        _respond,
    ),
    UiAction(
        "start-work",
        _l("Start work"),
        _l("Start work"),
        StartWorkForm,
        (Action.START_WORK,),
        _start_work,
    ),
    UiAction(
        "mark-implemented",
        _l("Mark implemented"),
        _l("Mark implemented"),
        MarkImplementedForm,
        (Action.MARK_IMPLEMENTED,),
        _mark_implemented,
    ),
    UiAction(
        "mark-verified",
        _l("Mark verified"),
        _l("Mark verified"),
        MarkVerifiedForm,
        (Action.MARK_VERIFIED,),
        _mark_verified,
    ),
    UiAction(
        "owner",
        _l("Change the follow-up owner"),
        _l("Change owner"),
        OwnerForm,
        (),
        _set_owner,
        statuses=REASSIGNABLE,
    ),
    UiAction(
        "contact",
        _l("Change the point of contact"),
        _l("Change contact"),
        ContactForm,
        (),
        _set_contact,
        statuses=REASSIGNABLE,
    ),
    UiAction(
        "withdraw",
        _l("Withdraw"),
        _l("Withdraw"),
        WithdrawForm,
        (Action.WITHDRAW,),
        _withdraw,
        danger=True,
    ),
]
UI_ACTIONS_BY_SLUG = {action.slug: action for action in UI_ACTIONS}
# The step a status usually waits for: its form is shown open, the others folded.
PRIMARY_ACTION = {
    Status.DRAFT: "present",
    Status.AWAITING_RESPONSE: "respond",
    Status.ACCEPTED: "start-work",
    Status.IN_PROGRESS: "mark-implemented",
    Status.IMPLEMENTED: "mark-verified",
    Status.DEFERRED: "respond",
    Status.REJECTED: "respond",
    Status.IGNORED: "respond",
}


def _render_recommendation(
    request: HttpRequest,
    rec: Recommendation,
    *,
    failed: ActionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user, now = request.user, timezone.now()
    panels = []
    refused: list[str] = []
    if allows(user, Capability.WRITE):
        for ui in UI_ACTIONS:
            if not ui.allowed(rec.status):
                continue
            form = failed if failed is not None and failed.slug == ui.slug else ui.form(rec, user)
            panels.append(
                {
                    "action": ui,
                    "form": form,
                    "open": form.is_bound or ui.slug == PRIMARY_ACTION.get(rec.status),
                }
            )
    if failed is not None and not any(p["form"] is failed for p in panels):
        # The action is not offered in this status (a stale page, a forged post):
        # its errors still have to be read, above the actions that are offered.
        refused = [str(m) for errors in failed.errors.values() for m in errors]
    version = (
        TemplateVersion.objects.select_related("template")
        .filter(pk=rec.template_version_id)
        .first()
        if rec.template_version_id
        else None
    )
    custom_fields = [
        {"definition": d, "value": rec.field_values.get(d["key"])} for d in rec.custom_fields or []
    ]
    context = {
        "rec": rec,
        "version": version,
        "custom_fields": custom_fields,
        "responses": response_list_for(user, rec),
        "events": event_list_for(user, rec.client, recommendation_id=rec.pk, newest_first=False),
        "panels": panels,
        "refused": refused,
        "now": now,
        "is_overdue": rec.is_overdue(now),
    }
    return render(request, "web/recommendation_detail.html", context, status=status)


@login_required
@require_GET
def recommendation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_recommendation(request, recommendation_get_for(request.user, pk))


@login_required
@require_POST
def recommendation_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    rec = recommendation_get_for(request.user, pk)
    require(request.user, Capability.WRITE)
    ui = UI_ACTIONS_BY_SLUG.get(action)
    if ui is None:
        raise Http404("No such action.")
    form = ui.form(rec, request.user, request.POST)
    if form.is_valid():
        try:
            message = ui.perform(form, request.user, timezone.now())
        except (ServiceError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, message)
            return redirect("web:recommendation_detail", pk=rec.pk)
    return _render_recommendation(request, rec, failed=form, status=400)


# --- creating a recommendation --------------------------------------------------------


def _latest_template_versions(*, q: str = "", category: str = ""):
    """The current version of every active catalog template, in one query."""
    latest = (
        TemplateVersion.objects.filter(template=OuterRef("template"))
        .order_by("-number")
        .values("number")[:1]
    )
    versions = TemplateVersion.objects.select_related("template").filter(
        template__is_active=True, number=Subquery(latest)
    )
    if category:
        versions = versions.filter(template__category=category)
    if q:
        versions = versions.filter(
            Q(title__icontains=q)
            | Q(title_it__icontains=q)
            | Q(template__key__icontains=q)
            | Q(template__tags__icontains=q)
        )
    return versions.order_by("template__category", "title")


def _template_version(raw: str | None) -> TemplateVersion | None:
    if not raw:
        return None
    try:
        return TemplateVersion.objects.select_related("template").get(
            pk=int(raw), template__is_active=True
        )
    except (TemplateVersion.DoesNotExist, ValueError):
        raise Http404("No such template.") from None


def _initial_from(
    request: HttpRequest, version: TemplateVersion | None
) -> tuple[dict[str, Any], VersionText | None]:
    """The form's first values and, from a template, the text they hold: in the
    language asked for (``?language=``), else the client's (``?client=``), else
    English; ``VersionText.is_fallback`` says when the version lacks that language."""
    initial: dict[str, Any] = {"owner": request.user.pk}
    client_id = request.GET.get("client")
    client = None
    if client_id and client_id.isdigit():
        initial["client"] = int(client_id)
        client = client_list_for(request.user).filter(pk=client_id).first()
    if version is None:
        return initial, None
    wanted = request.GET.get("language", "")
    if wanted not in Language.values:
        wanted = client.language if client is not None else BASE_LANGUAGE
    text = version.text(wanted)
    initial.update(
        title=text.title,
        body=text.body,
        risk_if_ignored=text.risk_if_ignored,
        # The text is in this language whatever the client chosen below reads.
        language=text.language,
        severity=version.template.default_severity,
        category=version.template.category,
        tags=", ".join(version.template.tags),
    )
    return initial, text


@login_required
@require_http_methods(["GET", "POST"])
def recommendation_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.WRITE)
    user = request.user
    if request.method == "POST":
        version = _template_version(request.POST.get("template_version"))
        form = RecommendationCreateForm(request.POST, user=user, version=version)
        if form.is_valid():
            try:
                rec = services.recommendation_create(
                    actor=user, now=timezone.now(), **form.service_kwargs()
                )
            except ValidationError as exc:
                add_service_error(form, exc, field_map=form.field_map())
            else:
                messages.success(request, _("Draft created. Present it when it is ready."))
                return redirect("web:recommendation_detail", pk=rec.pk)
        return render(
            request,
            "web/recommendation_form.html",
            {"form": form, "version": version},
            status=400,
        )

    template_id, adhoc = request.GET.get("template"), request.GET.get("adhoc")
    if not template_id and not adhoc:
        pick = TemplatePickForm(request.GET)
        context = {
            "form": pick,
            "versions": _latest_template_versions(**pick.filters()),
            "client_id": request.GET.get("client", ""),
        }
        return _render_list(
            request, "web/recommendation_pick.html", "web/_template_results.html", context
        )
    version = _template_version(template_id)
    initial, text = _initial_from(request, version)
    form = RecommendationCreateForm(user=user, version=version, initial=initial)
    return render(
        request,
        "web/recommendation_form.html",
        {
            "form": form,
            "version": version,
            "text": text,
            "languages": Language.choices,
            "client_id": initial.get("client", ""),
        },
    )


# --- deliveries ------------------------------------------------------------------------


DELIVERY_SORTS: dict[str, tuple[str, ...]] = {
    "created": ("created_at", "id"),
    "status": ("status", "created_at", "id"),
    "attempts": ("attempts", "created_at", "id"),
    "client": ("client__name", "created_at", "id"),
}


@login_required
@require_GET
def delivery_list(request: HttpRequest) -> HttpResponse:
    form = OutboxFilterForm(request.GET or None)
    cleaned = form.cleaned_data if form.is_valid() else {}
    status = cleaned.get("status") or None
    q = (cleaned.get("q") or "").strip()
    sort, descending = lists.sort_param(request.GET.get("sort"), DELIVERY_SORTS, "-created")
    messages_qs = outbox_list_for(request.user, status=status)
    if q:
        messages_qs = messages_qs.filter(
            Q(client__name__icontains=q) | Q(idempotency_key__icontains=q)
        )
    order = [f"-{f}" if descending else f for f in DELIVERY_SORTS[sort]]
    messages_qs = messages_qs.order_by(*order)
    if lists.wants_csv(request):
        return lists.csv_response(
            "deliveries.csv",
            [
                _("ID"),
                _("Queued"),
                _("Kind"),
                _("Subject"),
                _("To"),
                _("Client"),
                _("Recommendation"),
                _("Status"),
                _("Attempts"),
                _("Sent"),
                _("Next try"),
                _("Last error"),
            ],
            (
                [
                    m.pk,
                    m.created_at.isoformat(),
                    m.get_kind_display(),
                    str((m.payload or {}).get("subject", ""))
                    if isinstance(m.payload, dict)
                    else "",
                    ", ".join(map(str, (m.payload or {}).get("to", [])))
                    if isinstance(m.payload, dict)
                    else "",
                    m.client.name if m.client else "",
                    m.recommendation_id,
                    m.get_status_display(),
                    m.attempts,
                    m.sent_at.isoformat() if m.sent_at else "",
                    m.next_attempt_at.isoformat() if m.next_attempt_at else "",
                    m.last_error,
                ]
                for m in messages_qs.iterator(chunk_size=2000)
            ),
        )
    per_page = lists.page_size(request)
    page = Paginator(messages_qs, per_page).get_page(request.GET.get("page"))
    return _render_list(
        request,
        "web/delivery_list.html",
        "web/_delivery_results.html",
        {
            "form": form,
            "page": page,
            "status": status,
            "q": q,
            "sort": sort,
            "descending": descending,
            "per_page": per_page,
            "page_sizes": lists.PAGE_SIZES,
        },
    )
