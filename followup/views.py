"""Staff pages of the follow-up engine: tickets, their notes, assignee and closing.

Reads through ``followup.selectors`` (a ticket of a client the user may not see is a
404), writes through ``followup.services.tickets``; a refused change renders the page again
with the message on its field, status 400, and nothing stored.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.permissions import Capability, require
from followup.models import Ticket, TicketStatus
from followup.selectors import ticket_get_for, ticket_list_for
from followup.services import tickets
from lib.errors import ServiceError, add_service_error

PAGE_SIZE = 50


class TicketFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_l("Status"),
        required=False,
        choices=[
            ("", _l("Any open")),
            *TicketStatus.choices,
            ("all", pgettext_lazy("tickets", "All")),
        ],
    )
    mine = forms.BooleanField(required=False, label=_l("Assigned to me"))


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_l("Assignee"),
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
    )


class CloseForm(forms.Form):
    reason = forms.CharField(required=False)


@login_required
@require_GET
def ticket_list(request: HttpRequest) -> HttpResponse:
    form = TicketFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status") or ""
    qs = ticket_list_for(
        request.user,
        status=status if status not in ("", "all") else None,
        open_only=status == "",
        assignee=request.user if data.get("mine") else None,
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "followup/ticket_list.html", {"form": form, "page": page})


def _detail(request: HttpRequest, ticket: Ticket, status: int = 200, **forms_: Any) -> HttpResponse:
    context = {
        "ticket": ticket,
        "note_form": forms_.get("note_form") or NoteForm(),
        "assign_form": forms_.get("assign_form")
        or AssignForm(initial={"assignee": ticket.assignee_id}),
        "close_form": forms_.get("close_form") or CloseForm(),
    }
    return render(request, "followup/ticket_detail.html", context, status=status)


@login_required
@require_GET
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, ticket_get_for(request.user, pk))


@login_required
@require_POST
def ticket_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    ticket = ticket_get_for(request.user, pk)
    require(request.user, Capability.WRITE)
    now = timezone.now()
    form_class = {"note": NoteForm, "assign": AssignForm, "close": CloseForm}.get(action)
    if form_class is None:
        return _detail(request, ticket, status=404)
    form = form_class(request.POST)
    try:
        if not form.is_valid():
            return _detail(request, ticket, status=400, **{f"{action}_form": form})
        if action == "note":
            tickets.ticket_note_add(
                ticket=ticket, actor=request.user, text=form.cleaned_data["text"], now=now
            )
            messages.success(request, _("Note added."))
        elif action == "assign":
            tickets.ticket_assign(
                ticket=ticket, assignee=form.cleaned_data["assignee"], actor=request.user, now=now
            )
            messages.success(request, _("Assignee changed."))
        else:
            tickets.ticket_close(
                ticket=ticket, actor=request.user, now=now, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("Ticket closed."))
    except ServiceError as exc:
        add_service_error(form, exc)
        return _detail(
            request, ticket_get_for(request.user, pk), status=400, **{f"{action}_form": form}
        )
    return redirect("followup:ticket_detail", pk=ticket.pk)
