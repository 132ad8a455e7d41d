"""The administration pages: staff accounts, client settings, contacts, follow-up
policies, webhooks.

Plain forms with redirects. A refused change renders the page again with the
service's message on the field it names, the input kept, status 400, and nothing
stored; a refused role is 403 (the service says so); anything the user may not see is
404 (the selectors say so).
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services as accounts_services
from accounts.models import User
from accounts.permissions import Capability, allows, require
from accounts.securityevents import request_event
from accounts.selectors import audit_list_for, user_get_for, user_list_for
from clients import services as clients_services
from clients.models import Client, ClientPolicy
from clients.policy import DEFAULT, Policy
from clients.selectors import client_get_for, client_list_for, contact_get_for, contact_list_for
from followup.selectors import webhook_list_for
from followup.services import invitations
from followup.services.policy import client_policy_set
from followup.services.webhooks import webhook_endpoint_create, webhook_endpoint_disable
from lib.errors import ServiceError, add_service_error
from web.staff.forms import (
    AssignClientForm,
    AssignStaffForm,
    ClientForm,
    ContactForm,
    DeactivateForm,
    InviteForm,
    PolicyForm,
    RoleForm,
    SetPasswordForm,
    WebhookForm,
)

AUDIT_LIMIT = 20


def _me(request: HttpRequest) -> User:
    """The signed-in staff member: every page here but the set-password one is
    ``login_required``, so the user is never anonymous."""
    return cast(User, request.user)


# --- staff accounts ------------------------------------------------------------------


@login_required
@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    """Every staff account with its role, state and number of assigned clients."""
    if not _me(request).sees_all_clients:
        raise Http404("No such page.")
    users = user_list_for(_me(request)).order_by("-is_active", "username")
    return render(
        request,
        "web/staff/staff_list.html",
        {"users": users, "may_manage": allows(_me(request), Capability.MANAGE_USERS)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def staff_invite(request: HttpRequest) -> HttpResponse:
    require(_me(request), Capability.MANAGE_USERS)
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = invitations.staff_invite(
                    email=data["email"],
                    role=data["role"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    actor=_me(request),
                    now=timezone.now(),
                )
            except (ValidationError, ServiceError) as exc:
                add_service_error(form, exc, field_map={"username": "email"})
            else:
                messages.success(
                    request,
                    _("Invited %(email)s: the set-password link is on its way.")
                    % {"email": user.email},
                )
                return redirect("web:staff_detail", user.pk)
        status = 400
    return render(request, "web/staff/staff_invite.html", {"form": form}, status=status)


def _staff_page(
    request: HttpRequest, person: User, *, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    viewer = _me(request)
    assigned = list(person.assigned_clients.filter(pk__in=client_list_for(viewer)).order_by("name"))
    forms: dict[str, Any] = {
        "role_form": RoleForm(initial={"role": person.role}),
        "deactivate_form": DeactivateForm(),
        "assign_form": AssignClientForm(
            clients=client_list_for(viewer).exclude(pk__in=[c.pk for c in assigned])
        ),
    }
    forms.update(bound or {})
    context = {
        "person": person,
        "assigned": assigned,
        "events": audit_list_for(viewer, person)[:AUDIT_LIMIT],
        "may_manage": allows(viewer, Capability.MANAGE_USERS),
        "may_assign": allows(viewer, Capability.CHANGE_CLIENTS),
        "invite_pending": person.is_active and not person.has_usable_password(),
        **forms,
    }
    return render(request, "web/staff/staff_detail.html", context, status=status)


@login_required
@require_GET
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _staff_page(request, user_get_for(_me(request), pk))


@login_required
@require_POST
def staff_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One change to a staff account, from its page: role, deactivate, reactivate,
    resend the invitation, assign or unassign a client."""
    viewer, now = _me(request), timezone.now()
    person = user_get_for(viewer, pk)
    form: Any
    if action == "role":
        form, key = RoleForm(request.POST), "role_form"
    elif action == "deactivate":
        form, key = DeactivateForm(request.POST), "deactivate_form"
    elif action == "assign":
        form, key = AssignClientForm(request.POST, clients=client_list_for(viewer)), "assign_form"
    elif action in {"reactivate", "resend", "unassign"}:
        form, key = None, ""
    else:
        raise Http404("No such action.")
    if form is not None and not form.is_valid():
        return _staff_page(request, person, bound={key: form}, status=400)
    try:
        if action == "role":
            accounts_services.user_role_set(
                user=person, role=form.cleaned_data["role"], actor=viewer, now=now
            )
            done = _("Role changed.")
        elif action == "deactivate":
            accounts_services.user_deactivate(
                user=person, reason=form.cleaned_data["reason"], actor=viewer, now=now
            )
            done = _("Account deactivated: it can no longer sign in.")
        elif action == "reactivate":
            accounts_services.user_reactivate(user=person, actor=viewer, now=now)
            done = _("Account reactivated.")
        elif action == "resend":
            invitations.staff_invite_resend(user=person, actor=viewer, now=now)
            done = _("A new set-password link is on its way.")
        elif action == "assign":
            clients_services.client_staff_assign(
                client=form.cleaned_data["client"], user=person, actor=viewer, now=now
            )
            done = _("Assigned to %(client)s.") % {"client": form.cleaned_data["client"]}
        else:
            client = client_get_for(viewer, request.POST.get("client", ""))
            clients_services.client_staff_unassign(
                client=client, user=person, actor=viewer, now=now
            )
            done = _("No longer assigned to %(client)s.") % {"client": client}
    except (ValidationError, ServiceError) as exc:
        if form is None:
            form, key = DeactivateForm(), "action_form"
        add_service_error(form, exc, field_map={"user": "__all__", "id": "__all__"})
        return _staff_page(request, user_get_for(viewer, pk), bound={key: form}, status=400)
    messages.success(request, done)
    return redirect("web:staff_detail", person.pk)


@require_http_methods(["GET", "POST"])
def staff_welcome(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The set-password page an invitation links to. No session: the link is the proof."""
    person = accounts_services.password_link_user(uidb64, token)
    if person is None:
        request_event(request, "link_refused", kind="invitation", outcome="invalid")
        return render(request, "web/staff/welcome_invalid.html", status=404)
    form = SetPasswordForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                accounts_services.user_password_set(
                    uidb64=uidb64,
                    token=token,
                    password=form.cleaned_data["password"],
                    password_again=form.cleaned_data["password_again"],
                    now=timezone.now(),
                )
            except ValidationError as exc:
                add_service_error(form, exc, field_map={"token": "__all__"})
            else:
                messages.success(request, _("Your password is set. Sign in with it now."))
                return redirect("account_login")
        status = 400
    return render(
        request, "web/staff/welcome.html", {"form": form, "person": person}, status=status
    )


# --- clients ---------------------------------------------------------------------------


def _initial_of(client: Client) -> dict[str, Any]:
    return {
        "name": client.name,
        "industry": client.industry,
        "regulated": client.regulated,
        "account_owner": client.account_owner_id,
        "language": client.language,
        "time_zone": client.time_zone,
        "qbr_cadence_months": client.qbr_cadence_months,
        "psa_company_id": client.psa_company_id,
        "domains": "\n".join(d.domain for d in client.domains.all()),
    }


@login_required
@require_http_methods(["GET", "POST"])
def client_create(request: HttpRequest) -> HttpResponse:
    require(_me(request), Capability.MANAGE_CLIENTS)
    form = ClientForm(request.POST or None, initial={"account_owner": _me(request).pk})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                client = clients_services.client_create(
                    **form.settings(),
                    domains=form.domain_list(),
                    actor=_me(request),
                    now=timezone.now(),
                )
            except (ValidationError, ServiceError) as exc:
                add_service_error(form, exc, field_map={"slug": "name"})
            else:
                messages.success(request, _("Client %(name)s created.") % {"name": client.name})
                return redirect("web:client_settings", client.pk)
        status = 400
    return render(request, "web/staff/client_form.html", {"form": form}, status=status)


def _settings_page(
    request: HttpRequest, client: Client, *, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    viewer = _me(request)
    context: dict[str, Any] = {
        "client": client,
        "form": ClientForm(initial=_initial_of(client)),
        "assign_form": AssignStaffForm(client=client),
        "staff": client.staff.order_by("role", "username"),
        "contacts": contact_list_for(viewer, client=client).order_by("-is_active", "name"),
        "policy": ClientPolicy.objects.filter(client=client).first(),
        "may_change": allows(viewer, Capability.CHANGE_CLIENTS),
        "may_write": allows(viewer, Capability.WRITE),
        "may_set_policy": allows(viewer, Capability.SET_POLICY),
        **(bound or {}),
    }
    return render(request, "web/staff/client_settings.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def client_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """A client's settings, assigned staff and contacts; POST saves the settings."""
    client = client_get_for(_me(request), pk)
    if request.method == "GET":
        return _settings_page(request, client)
    form = ClientForm(request.POST)
    if form.is_valid():
        try:
            clients_services.client_update(
                client=client,
                domains=form.domain_list(),
                actor=_me(request),
                now=timezone.now(),
                **form.settings(),
            )
        except (ValidationError, ServiceError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Settings of %(name)s saved.") % {"name": client.name})
            return redirect("web:client_settings", client.pk)
    client.refresh_from_db()
    return _settings_page(request, client, bound={"form": form}, status=400)


@login_required
@require_POST
def client_staff(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Assign a staff member to the client, or take one off it."""
    viewer, now = _me(request), timezone.now()
    client = client_get_for(viewer, pk)
    form = AssignStaffForm(request.POST, client=client)
    if action == "assign":
        if not form.is_valid():
            return _settings_page(request, client, bound={"assign_form": form}, status=400)
        person = form.cleaned_data["user"]
    elif action == "unassign":
        person = client.staff.filter(pk=request.POST.get("user") or 0).first()
        if person is None:
            raise Http404("No such assignment.")
    else:
        raise Http404("No such action.")
    try:
        if action == "assign":
            clients_services.client_staff_assign(client=client, user=person, actor=viewer, now=now)
            done = _("%(user)s is assigned to %(client)s.")
        else:
            clients_services.client_staff_unassign(
                client=client, user=person, actor=viewer, now=now
            )
            done = _("%(user)s is no longer assigned to %(client)s.")
    except (ValidationError, ServiceError) as exc:
        add_service_error(form, exc)
        return _settings_page(request, client, bound={"assign_form": form}, status=400)
    messages.success(request, done % {"user": person, "client": client})
    return redirect("web:client_settings", client.pk)


def _contact_values(form: ContactForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in clients_services.CONTACT_FIELDS}


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    client = client_get_for(_me(request), pk)
    require(_me(request), Capability.WRITE)
    form = ContactForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                contact = clients_services.contact_create(
                    client=client, actor=_me(request), now=timezone.now(), **_contact_values(form)
                )
            except (ValidationError, ServiceError) as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Contact %(name)s added.") % {"name": contact.name})
                return redirect("web:client_settings", client.pk)
        status = 400
    context = {"form": form, "client": client, "contact": None}
    return render(request, "web/staff/contact_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = contact_get_for(_me(request), pk)
    require(_me(request), Capability.WRITE)
    initial = {name: getattr(contact, name) for name in clients_services.CONTACT_FIELDS}
    form = ContactForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                clients_services.contact_update(
                    contact=contact, actor=_me(request), now=timezone.now(), **_contact_values(form)
                )
            except (ValidationError, ServiceError) as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Contact %(name)s saved.") % {"name": contact.name})
                return redirect("web:client_settings", contact.client_id)
        status = 400
    context = {"form": form, "client": contact.client, "contact": contact}
    return render(request, "web/staff/contact_form.html", context, status=status)


@login_required
@require_POST
def contact_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    contact = contact_get_for(_me(request), pk)
    clients_services.contact_deactivate(contact=contact, actor=_me(request), now=timezone.now())
    messages.success(request, _("%(name)s is marked inactive.") % {"name": contact.name})
    return redirect("web:client_settings", contact.client_id)


# --- follow-up policy ---------------------------------------------------------------------


def _policy_initial(policy: ClientPolicy | None) -> dict[str, Any]:
    """The form's starting values: the client's own policy, else the defaults, read from
    ``clients.policy.DEFAULT`` field by field so a new setting shows its default without
    being listed here. The days per severity stay blank (the page shows the defaults
    beside them): a blank day follows a later change of the default."""
    source: ClientPolicy | Policy = DEFAULT if policy is None else policy
    initial = {
        name: getattr(source, name) for name in PolicyForm.base_fields if hasattr(source, name)
    }
    if policy is None:
        initial["tier"] = ""
        initial["weekly_severities"] = list(DEFAULT.weekly_severities)
    else:
        initial["weekly_severities"] = [s for s in policy.weekly_severities.split(",") if s]
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def client_policy(request: HttpRequest, pk: int) -> HttpResponse:
    """The client's contract tier: response days per severity, escalation, deferrals."""
    client = client_get_for(_me(request), pk)
    policy = ClientPolicy.objects.filter(client=client).first()
    form = PolicyForm(request.POST or None, initial=_policy_initial(policy))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                client_policy_set(
                    client=client,
                    tier=form.cleaned_data["tier"],
                    actor=_me(request),
                    now=timezone.now(),
                    **form.fields_for_service(),
                )
            except (ValidationError, ServiceError) as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Follow-up policy saved."))
                return redirect("web:client_settings", client.pk)
        status = 400
    context = {
        "client": client,
        "form": form,
        "defaults": DEFAULT.response_days,
        "may_set_policy": allows(_me(request), Capability.SET_POLICY),
    }
    return render(request, "web/staff/client_policy.html", context, status=status)


# --- webhooks and the PSA ---------------------------------------------------------------


def _webhooks_page(request: HttpRequest, form: WebhookForm, *, status: int = 200) -> HttpResponse:
    context = {
        "endpoints": webhook_list_for(_me(request)),
        "form": form,
        "may_manage": allows(_me(request), Capability.MANAGE_WEBHOOKS),
        "psa": {
            "email_to": settings.HEEDED_PSA_EMAIL_TO,
            "autotask_url": settings.HEEDED_AUTOTASK_URL,
            "autotask_company": settings.HEEDED_AUTOTASK_COMPANY_ID,
        },
    }
    return render(request, "web/staff/webhooks.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    """Where events are POSTed (every client's), and how tickets reach the PSA."""
    if not _me(request).sees_all_clients:
        raise Http404("No such page.")
    if request.method == "GET":
        return _webhooks_page(request, WebhookForm())
    form = WebhookForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = webhook_endpoint_create(
                name=data["name"],
                url=data["url"].strip(),
                kind=data["kind"],
                event_types=form.event_list(),
                actor=_me(request),
                now=timezone.now(),
            )
        except (ValidationError, ServiceError) as exc:
            add_service_error(form, exc)
        else:
            text = _("Webhook %(name)s added.") % {"name": endpoint.name}
            if endpoint.secret:
                text += " " + _("Its signing secret, shown this once: %(secret)s") % {
                    "secret": endpoint.signing_secret()
                }
            messages.success(request, text)
            return redirect("web:webhooks")
    return _webhooks_page(request, form, status=400)


@login_required
@require_POST
def webhook_disable(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = webhook_list_for(_me(request)).filter(pk=pk).first()
    if endpoint is None:
        raise Http404("No such webhook.")
    webhook_endpoint_disable(pk=endpoint.pk, actor=_me(request))
    messages.success(request, _("Webhook %(name)s disabled.") % {"name": endpoint.name})
    return redirect("web:webhooks")
