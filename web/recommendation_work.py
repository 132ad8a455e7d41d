"""Pages of the recommendation workflows that reach past one recommendation's
actions: one template for many clients, editing a draft, the ledger timelines.

Like ``web.views``: reads through the selectors (out of scope is 404), writes
through the services with ``actor`` and ``now``; a refusal renders the page again
with the message on its field, the input kept, status 400 (409 for a state
conflict), and nothing stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Capability, require
from answers.services.links import recommendations_present_per_client
from catalog.models import TemplateVersion
from clients.selectors import client_get_for, client_list_for
from ledger.selectors import event_page_for
from lib.errors import ServiceError, add_service_error
from recommendations import services
from recommendations.choices import OPEN_STATUSES, Status
from recommendations.models import Recommendation
from recommendations.selectors import recommendation_get_for, recommendation_list_for
from web.recommendation_forms import ApplyTemplateForm, ClientFilterForm, DraftEditForm
from web.views import _latest_template_versions, _template_version

TIMELINE_PAGE_SIZE = 50


def _page_status(exc: Exception) -> int:
    return getattr(exc, "http_status", 400)


# --- one template, many clients -------------------------------------------------------


def _clients_for_apply(request: HttpRequest, version: TemplateVersion, search: str):
    """The clients the user may see, filtered, each marked when it already has an
    open recommendation from this template (one query, however many clients)."""
    open_here = Recommendation.objects.filter(
        client=OuterRef("pk"),
        template_version__template_id=version.template_id,
        status__in=[Status.DRAFT, *OPEN_STATUSES],
    )
    clients = client_list_for(request.user).annotate(has_open=Exists(open_here))
    if search:
        clients = clients.filter(Q(name__icontains=search) | Q(industry__icontains=search))
    return clients.order_by("name")


@login_required
@require_http_methods(["GET", "POST"])
def apply_template(request: HttpRequest) -> HttpResponse:
    """Apply one catalog template to many clients: pick the template, tick the
    clients, choose the owner, optionally present at once."""
    require(request.user, Capability.WRITE)
    version = _template_version(request.GET.get("template") or request.POST.get("template"))
    if version is None:
        context = {"versions": _latest_template_versions()}
        return render(request, "web/apply_template_pick.html", context)
    filters = ClientFilterForm(request.GET)
    search = filters.search()
    status = 200
    if request.method == "POST":
        form = ApplyTemplateForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                made = services.recommendations_apply_template(
                    template_version=version,
                    actor=request.user,
                    now=timezone.now(),
                    **form.service_kwargs(),
                )
            except (ServiceError, ValidationError) as exc:
                add_service_error(form, exc)
                status = _page_status(exc)
            else:
                messages.success(
                    request,
                    ngettext(
                        "Created %(count)d recommendation.",
                        "Created %(count)d recommendations.",
                        len(made),
                    )
                    % {"count": len(made)},
                )
                query = urlencode([("id", r.pk) for r in made])
                return redirect(f"{reverse('web:recommendations_applied')}?{query}")
        else:
            status = 400
    else:
        form = ApplyTemplateForm(user=request.user)
    chosen = {str(v) for v in (form["clients"].value() or [])}
    clients = list(_clients_for_apply(request, version, search))
    if request.method == "GET" and request.GET.get("all") == "1":
        # "Tick all shown", as a plain link: filter, tick them all, untick a few.
        chosen = {str(c.pk) for c in clients}
    context = {
        "version": version,
        "form": form,
        "filters": filters,
        "search": search,
        "clients": clients,
        "chosen": chosen,
        # Ticked before the filter hid them: still sent, so a filter loses no choice.
        "hidden_chosen": sorted(chosen - {str(c.pk) for c in clients}),
    }
    return render(request, "web/apply_template.html", context, status=status)


def _ids(raw: list[str]) -> list[int]:
    return [int(v) for v in raw if v.isdigit()][: services.APPLY_LIMIT]


@login_required
@require_GET
def recommendations_applied(request: HttpRequest) -> HttpResponse:
    """What one application of a template made: the recommendations named in the
    URL (so the page survives a reload), as far as the user may see them."""
    ids = _ids(request.GET.getlist("id"))
    recs = list(recommendation_list_for(request.user).filter(pk__in=ids).order_by("client__name"))
    drafts = [r for r in recs if r.status == Status.DRAFT]
    context = {"recommendations": recs, "drafts": drafts}
    return render(request, "web/recommendations_applied.html", context)


@login_required
@require_POST
def recommendations_present(request: HttpRequest) -> HttpResponse:
    """Present the chosen drafts, of one client or many: each client's decision
    makers get one e-mail for that client's items. All or nothing."""
    require(request.user, Capability.WRITE)
    ids = _ids(request.POST.getlist("recommendation"))
    recs = list(recommendation_list_for(request.user).filter(pk__in=ids, status=Status.DRAFT))
    back = request.POST.get("next", "")
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("web:recommendation_list")
    try:
        done = recommendations_present_per_client(
            recommendations=recs, actor=request.user, now=timezone.now()
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext(
                "Presented %(count)d recommendation.",
                "Presented %(count)d recommendations.",
                len(done),
            )
            % {"count": len(done)},
        )
    return redirect(back)


# --- editing a draft --------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def recommendation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rec = recommendation_get_for(request.user, pk)
    require(request.user, Capability.WRITE)
    status = 200
    if request.method == "POST":
        form = DraftEditForm(request.POST)
        if form.is_valid():
            try:
                services.recommendation_edit(
                    recommendation=rec,
                    actor=request.user,
                    now=timezone.now(),
                    **form.service_kwargs(),
                )
            except (ServiceError, ValidationError) as exc:
                add_service_error(form, exc)
                status = _page_status(exc)
            else:
                messages.success(request, _("Draft saved."))
                return redirect("web:recommendation_detail", pk=rec.pk)
        else:
            status = 400
    else:
        form = DraftEditForm(initial=DraftEditForm.initial_for(rec))
    context = {"rec": rec, "form": form, "editable": rec.status == Status.DRAFT}
    return render(request, "web/recommendation_edit.html", context, status=status)


# --- ledger timelines --------------------------------------------------------------------


def _before(request: HttpRequest) -> int | None:
    raw = request.GET.get("before", "")
    return int(raw) if raw.isdigit() else None


def _timeline_context(request: HttpRequest, page: Any, **extra: Any) -> dict[str, Any]:
    older = f"?{urlencode({'before': page.next_before})}" if page.next_before is not None else None
    return {"events": page.events, "older": older, "paged": _before(request) is not None, **extra}


@login_required
@require_GET
def recommendation_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """Every ledger event of one recommendation, newest first, a page at a time."""
    rec = recommendation_get_for(request.user, pk)
    page = event_page_for(
        request.user,
        rec.client,
        recommendation_id=rec.pk,
        before_seq=_before(request),
        limit=TIMELINE_PAGE_SIZE,
    )
    context = _timeline_context(request, page, rec=rec, client=rec.client)
    return render(request, "web/timeline.html", context)


@login_required
@require_GET
def client_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """Every ledger event of one client, newest first, with the title of the
    recommendation each one is about (one query for the whole page)."""
    client = client_get_for(request.user, pk)
    page = event_page_for(
        request.user, client, before_seq=_before(request), limit=TIMELINE_PAGE_SIZE
    )
    rec_ids = {e.recommendation_id for e in page.events if e.recommendation_id}
    titles = (
        dict(
            recommendation_list_for(request.user, client_id=client.pk)
            .filter(pk__in=rec_ids)
            .values_list("pk", "title")
        )
        if rec_ids
        else {}
    )
    for event in page.events:
        event.rec_title = titles.get(event.recommendation_id, "")  # type: ignore[attr-defined]
    context = _timeline_context(request, page, rec=None, client=client)
    return render(request, "web/timeline.html", context)
