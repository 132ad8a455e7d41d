"""Staff pages of verification: a client's devices and one device's inventory. Reads
go through ``verification.selectors`` (another client's device is a 404)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from clients.selectors import client_get_for
from lib.charts import sparkline
from lib.errors import NotAllowed, ServiceError
from verification import selectors
from verification.compliance import stale_after
from verification.services import (
    device_tags_set,
    enrollment_token_create,
    enrollment_token_revoke,
    review_item_resolve,
)

COLLECTOR = Path(__file__).with_name("collector") / "heeded-collector.ps1"

PAGE_SIZE = 50
HISTORY_DAYS = 90  # the device compliance history on a client's devices page
RECENT_DAYS = 14  # of which the newest days are listed


@login_required
@require_GET
def device_list(request: HttpRequest, client_id: int) -> HttpResponse:
    client = client_get_for(request.user, client_id)
    devices = selectors.device_list_for(request.user, client_id=client.pk)
    page = Paginator(devices, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    stale_line = now - stale_after()
    since = now.astimezone(client.tz).date() - dt.timedelta(days=HISTORY_DAYS)
    history = list(
        selectors.device_score_history_for(request.user, client_id=client.pk, since=since)
    )
    return render(
        request,
        "verification/device_list.html",
        {
            "client": client,
            "page": page,
            "stale_line": stale_line,
            "reviews": selectors.review_list_for(request.user, client_id=client.pk)[:20],
            "tokens": selectors.token_list_for(request.user, client_id=client.pk),
            "score": selectors.device_score_for(request.user, client_id=client.pk),
            "history": history,
            "history_chart": sparkline(
                [(row.day, row.score.percent) for row in history], colour=settings.HEEDED_MSP_COLOUR
            ),
            "recent_days": history[::-1][:RECENT_DAYS],
        },
    )


def _staff(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required
    return user


def _refusal(request: HttpRequest, exc: ServiceError) -> None:
    messages.error(request, f"{exc.field}: {exc.message}" if exc.field else exc.message)


@login_required
@require_GET
def collector_download(request: HttpRequest, client_id: int) -> HttpResponseBase:
    """The collector script, as in the repository: no token in it (give it -Token)."""
    client_get_for(request.user, client_id)
    return FileResponse(
        COLLECTOR.open("rb"),
        as_attachment=True,
        filename=COLLECTOR.name,
        content_type="text/plain; charset=utf-8",
    )


@never_cache
@login_required
@require_POST
def token_create(request: HttpRequest, client_id: int) -> HttpResponse:
    """Create an enrollment token and show it this once (only its hash is stored)."""
    client = client_get_for(request.user, client_id)
    try:
        token, raw = enrollment_token_create(
            client=client,
            name=request.POST.get("name", ""),
            actor=_staff(request),
            now=timezone.now(),
        )
    except NotAllowed:
        raise
    except ServiceError as exc:
        _refusal(request, exc)
        return redirect("verification:device_list", client_id=client.pk)
    return render(
        request,
        "verification/token_created.html",
        {
            "client": client,
            "token": token,
            "raw": raw,
            "server_url": request.build_absolute_uri("/"),
        },
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = selectors.token_get_for(request.user, pk)
    try:
        enrollment_token_revoke(token=token, actor=_staff(request), now=timezone.now())
    except NotAllowed:
        raise
    except ServiceError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, _("Token %(key)s revoked.") % {"key": token.key_id})
    return redirect("verification:device_list", client_id=token.client_id)


@login_required
@require_POST
def device_tags(request: HttpRequest, pk: int) -> HttpResponse:
    device = selectors.device_get_for(request.user, pk)
    tags = request.POST.get("tags", "").split(",")
    try:
        device_tags_set(device=device, tags=tags, actor=_staff(request), now=timezone.now())
    except NotAllowed:
        raise
    except ServiceError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, _("Tags saved; the next verify pass applies them."))
    return redirect("verification:device_detail", pk=device.pk)


@login_required
@require_GET
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    device = selectors.device_get_for(request.user, pk)
    compliance = device.compliance.select_related("recommendation").order_by(
        "recommendation__title"
    )
    return render(
        request,
        "verification/device_detail.html",
        {
            "device": device,
            "hotfixes": device.hotfixes.all(),
            "renames": device.renames.all(),
            "compliance": compliance,
            "stale": device.is_stale(timezone.now(), stale_after()),
        },
    )


@login_required
@require_POST
def review_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.review_get_for(request.user, pk)
    try:
        review_item_resolve(
            item=item, note=request.POST.get("note", ""), actor=_staff(request), now=timezone.now()
        )
    except NotAllowed:
        raise
    except ServiceError as exc:
        _refusal(request, exc)
    else:
        messages.success(
            request, _("Refused report of %(name)s closed.") % {"name": item.computer_name}
        )
    return redirect("verification:device_list", client_id=item.client_id)
