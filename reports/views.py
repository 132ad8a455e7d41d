"""Staff pages of reports: a client's QBR (and its delivery as a PDF), the stored
reports, and the portfolio. Every read goes through ``reports.selectors``, so a user
who may not see a client gets a 404 for its reports too."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.permissions import Capability, require
from reports import render as report_render
from reports.periods import PeriodError, current_quarter, parse_period
from reports.selectors import (
    delivered_get_for,
    delivered_list_for,
    portfolio_for,
    qbr_for,
    report_client_get_for,
)
from reports.services import report_deliver

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
    context = {
        "client": client,
        "period": period,
        "period_text": period_text or period.label,
        "error": error,
        # Rendered by reports.render in the client's language; its parts are escaped there.
        "body": mark_safe(report_render.qbr_body(qbr, request=request)),  # noqa: S308
        "stored": delivered_list_for(request.user, client),
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
