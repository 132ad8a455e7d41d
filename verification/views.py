"""Staff pages of verification: a client's devices and one device's inventory. Reads
go through ``verification.selectors`` (another client's device is a 404)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clients.selectors import client_get_for
from verification import selectors
from verification.compliance import stale_after

PAGE_SIZE = 50


@login_required
@require_GET
def device_list(request: HttpRequest, client_id: int) -> HttpResponse:
    client = client_get_for(request.user, client_id)
    devices = selectors.device_list_for(request.user, client_id=client.pk)
    page = Paginator(devices, PAGE_SIZE).get_page(request.GET.get("page"))
    stale_line = timezone.now() - stale_after()
    return render(
        request,
        "verification/device_list.html",
        {
            "client": client,
            "page": page,
            "stale_line": stale_line,
            "reviews": selectors.review_list_for(request.user).filter(client=client)[:20],
            "tokens": selectors.token_list_for(request.user, client_id=client.pk),
        },
    )


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
