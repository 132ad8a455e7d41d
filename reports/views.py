"""Staff pages of reports: a client's QBR (and its delivery as a PDF), the stored
reports, and the portfolio. Every read goes through ``reports.selectors``, so a user
who may not see a client gets a 404 for its reports too."""

from __future__ import annotations

import hashlib
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.permissions import Capability, require
from lib.errors import NotAllowed, ServiceError
from reports import render as report_render
from reports.periods import PeriodError, current_quarter, parse_period
from reports.selectors import (
    delivered_get_for,
    delivered_list_for,
    portfolio_for,
    qbr_for,
    report_client_get_for,
    report_schedule_for,
)
from reports.services import evidence_pack_export, report_deliver, report_schedule_set

CONTENT_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


@login_required
@require_GET
def qbr_page(request: HttpRequest, pk: int) -> HttpResponse:
    client = report_client_get_for(request.user, pk)
    now = timezone.now()
    period_text = request.GET.get("period", "").strip()
    error = ""
    status = 200
    try:
        period = (
            parse_period(period_text)
            if period_text
            else current_quarter(now.astimezone(client.tz).date())
        )
    except PeriodError as exc:
        error = f"period: {exc}"
        status = 400
        period = current_quarter(now.astimezone(client.tz).date())
    qbr = qbr_for(client, period, now=now)
    schedule, contacts = report_schedule_for(request.user, client)
    chosen = {c.pk for c in schedule.contacts.all()} if schedule else set()
    context = {
        "client": client,
        "period": period,
        "period_text": period_text or period.label,
        "error": error,
        # Rendered by reports.render in the client's language; its parts are escaped there.
        "body": mark_safe(report_render.qbr_body(qbr, request=request)),  # noqa: S308
        "stored": delivered_list_for(request.user, client),
        "schedule": schedule,
        "schedule_contacts": [(c, c.pk in chosen) for c in contacts],
    }
    return render(request, "reports/qbr_page.html", context, status=status)


@login_required
@require_POST
def qbr_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    client = report_client_get_for(request.user, pk)
    user = request.user
    assert isinstance(user, User)  # login_required
    # The role table's rule, asked before the period is read (report_deliver asks it too).
    require(user, Capability.WRITE)
    try:
        period = parse_period(request.POST.get("period", ""))
    except PeriodError as exc:
        messages.error(request, f"period: {exc}")
        return redirect("reports:qbr", pk=client.pk)
    report = report_deliver(
        client=client,
        period=period,
        fmt="pdf",
        now=timezone.now(),
        actor=user,
        channel="web",
    )
    messages.success(
        request,
        _("Delivered the %(period)s report (SHA-256 %(sha)s…), anchored at ledger event %(seq)s.")
        % {"period": period.label, "sha": report.sha256[:16], "seq": report.anchor.seq},
    )
    return redirect(f"{reverse('reports:qbr', args=[client.pk])}?period={period.label}")


@login_required
@require_POST
def schedule_set(request: HttpRequest, pk: int) -> HttpResponse:
    """Set which reports the worker e-mails this client, and to whom."""
    client = report_client_get_for(request.user, pk)
    user = request.user
    assert isinstance(user, User)  # login_required
    back = redirect("reports:qbr", pk=client.pk)
    try:
        contact_ids = [int(value) for value in request.POST.getlist("contacts")]
    except ValueError:
        messages.error(request, _("contacts: not a list of contacts of this client."))
        return back
    try:
        report_schedule_set(
            client=client,
            monthly=request.POST.get("monthly") == "on",
            quarterly=request.POST.get("quarterly") == "on",
            open_risks=request.POST.get("open_risks") == "on",
            contact_ids=contact_ids,
            to_account_owner=request.POST.get("to_account_owner") == "on",
            actor=user,
            now=timezone.now(),
        )
    except NotAllowed:
        raise
    except ServiceError as exc:
        messages.error(request, f"{exc.field}: {exc.message}" if exc.field else exc.message)
        return back
    messages.success(request, _("Report schedule saved."))
    return back


@login_required
@require_POST
def evidence_pack(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Download the client's evidence pack (optionally one recommendation's evidence).
    A POST: taking a pack is recorded on the client's chain."""
    client = report_client_get_for(request.user, pk)
    user = request.user
    assert isinstance(user, User)  # login_required
    wanted = request.POST.get("recommendation", "").strip()
    back = redirect("reports:qbr", pk=client.pk)
    if wanted and not wanted.isdigit():
        messages.error(request, _("recommendation: %(value)s is not a number.") % {"value": wanted})
        return back
    try:
        data, seq = evidence_pack_export(
            client=client,
            actor=user,
            now=timezone.now(),
            recommendation_id=int(wanted) if wanted else None,
        )
    except NotAllowed:
        raise
    except ServiceError as exc:
        messages.error(request, f"{exc.field}: {exc.message}" if exc.field else exc.message)
        return back
    name = f"evidence-{client.slug}-{seq}" + (f"-r{wanted}" if wanted else "") + ".zip"
    # Streamed in blocks from the built zip, not written into the response at once.
    response = FileResponse(
        io.BytesIO(data), as_attachment=True, filename=name, content_type="application/zip"
    )
    response["X-Content-SHA256"] = hashlib.sha256(data).hexdigest()
    return response


@login_required
@require_GET
def delivered_download(request: HttpRequest, pk: int) -> HttpResponse:
    report = delivered_get_for(request.user, pk)
    response = HttpResponse(bytes(report.content), content_type=CONTENT_TYPES[report.format])
    response["Content-Disposition"] = f'attachment; filename="{report.filename}"'
    response["X-Content-SHA256"] = report.sha256
    return response


@login_required
@require_GET
def portfolio(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = portfolio_for(request.user, now=now)
    context = report_render.portfolio_context(rows, now=now)
    return render(request, "reports/portfolio_page.html", context)


@login_required
@require_GET
def portfolio_pdf(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = portfolio_for(request.user, now=now)
    pdf = report_render.html_to_pdf(report_render.portfolio_document(rows, now=now))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="portfolio-{now.astimezone().date().isoformat()}.pdf"'
    )
    return response
