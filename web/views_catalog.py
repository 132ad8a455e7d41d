"""The catalog pages: the list of templates, one template with its version history,
and the forms that add a template or revise it.

Every staff account reads the catalog; admins and account managers change it (the
role table, asked by the services and, to hide buttons, by the pages). Revising adds
a version: the page of an older version and every recommendation made from it keep
their text.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.permissions import Capability, allows, require
from catalog import services
from catalog.models import Template
from catalog.selectors import tag_list_for, template_get_for, template_list_for, version_list_for
from lib.errors import add_service_error
from lib.languages import Language
from recommendations.selectors import recommendation_list_for
from web.forms_catalog import (
    CustomFieldForm,
    CustomFieldFormSet,
    TemplateFilterForm,
    TemplateForm,
    custom_field_definitions,
)
from web.views import _render_list

PAGE_SIZE = 50


@login_required
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    form = TemplateFilterForm(request.GET or None)
    filters = form.filters()
    page = Paginator(template_list_for(request.user, **filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    filtered = any(v for k, v in filters.items() if k != "sort")
    return _render_list(
        request,
        "web/catalog/template_list.html",
        "web/catalog/_template_results.html",
        {
            "form": form,
            "page": page,
            "filtered": filtered,
            "can_edit": allows(request.user, Capability.MANAGE_CATALOG),
            "tags": tag_list_for(request.user),
        },
    )


@login_required
@require_GET
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    template = template_get_for(request.user, pk)
    versions = list(version_list_for(request.user, template))
    if not versions:
        raise Http404("This template has no version.")
    wanted = request.GET.get("version") or str(versions[0].number)
    shown = next((v for v in versions if str(v.number) == wanted), None)
    if shown is None:
        raise Http404("No such version.")
    # How many recommendations (of clients this user sees) keep each version's text.
    uses = dict(
        recommendation_list_for(request.user)
        .filter(template_version__template=template)
        .order_by()
        .values_list("template_version")
        .annotate(n=Count("id"))
    )
    return render(
        request,
        "web/catalog/template_detail.html",
        {
            "template": template,
            "version": shown,
            "is_latest": shown is versions[0],
            "versions": [(v, uses.get(v.pk, 0)) for v in versions],
            "texts": [shown.text(code) for code in Language.values],
            "can_edit": allows(request.user, Capability.MANAGE_CATALOG),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.MANAGE_CATALOG)
    if request.method == "POST":
        form = TemplateForm(request.POST, creating=True)
        formset = CustomFieldFormSet(request.POST, prefix="fields")
        saved = _save(request, form, formset, lambda **kw: services.template_create(**kw))
        if saved is not None:
            messages.success(request, _("Template added."))
            return redirect("web:template_detail", pk=saved.template_id)
        return _form_page(request, form, formset, None, status=400)
    form = TemplateForm(creating=True)
    return _form_page(request, form, CustomFieldFormSet(prefix="fields"), None)


@login_required
@require_http_methods(["GET", "POST"])
def template_revise(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.MANAGE_CATALOG)
    template = template_get_for(request.user, pk)
    if request.method == "POST":
        form = TemplateForm(request.POST, creating=False)
        formset = CustomFieldFormSet(request.POST, prefix="fields")
        saved = _save(
            request,
            form,
            formset,
            lambda **kw: services.template_revise(template=template, **kw),
        )
        if saved is not None:
            messages.success(
                request,
                _(
                    "Version %(number)s saved. Recommendations made from earlier versions "
                    "keep their text."
                )
                % {"number": saved.number},
            )
            return redirect("web:template_detail", pk=template.pk)
        return _form_page(request, form, formset, template, status=400)
    latest = version_list_for(request.user, template).first()
    if latest is None:
        raise Http404("This template has no version.")
    form = TemplateForm(initial=TemplateForm.initial_from(template, latest), creating=False)
    formset = CustomFieldFormSet(
        prefix="fields", initial=[CustomFieldForm.initial_from(d) for d in latest.custom_fields]
    )
    return _form_page(request, form, formset, template)


def _save(request: HttpRequest, form: TemplateForm, formset: Any, service: Any) -> Any:
    """Call the service with the form's input; on a refusal put each message on its
    field (custom field messages above the rows) and return None."""
    if not (form.is_valid() and formset.is_valid()):
        return None
    try:
        version = service(
            **form.service_kwargs(),
            custom_fields=custom_field_definitions(formset),
            actor=request.user,
            now=timezone.now(),
        )
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            add_service_error(form, exc)
            return None
        errors = dict(exc.error_dict)
        form.custom_field_errors = [m for e in errors.pop("custom_fields", []) for m in e.messages]
        if errors:
            add_service_error(form, ValidationError(errors))
        return None
    return version


def _form_page(
    request: HttpRequest,
    form: TemplateForm,
    formset: Any,
    template: Template | None,
    *,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/catalog/template_form.html",
        {
            "form": form,
            "formset": formset,
            "template": template,
            "custom_field_errors": getattr(form, "custom_field_errors", []),
        },
        status=status,
    )
