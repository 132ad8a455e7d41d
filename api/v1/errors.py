"""JSON errors for the API: ``{"errors": [{"field": ..., "code": ..., "message": ...}]}``.

Every refusal has this one shape, whatever raised it: a serializer, a service's
ValidationError, a ``lib.errors.ServiceError`` (its own ``http_status``: 409 when the
transition table refuses the action, 403 when the actor's role may not do it, 400 for
a missing or invalid input), a 404 from a selector, or authentication. Views do not
catch service errors; they reach this handler.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.securityevents import access_denied
from lib.errors import ServiceError

NON_FIELD_KEYS = ("non_field_errors", "__all__")


def error(message: str, *, code: str, field: str | None = None) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message}


def _join(parent: str | None, key: Any) -> str | None:
    name = None if key in NON_FIELD_KEYS else str(key)
    if parent is None:
        return name
    return parent if name is None else f"{parent}.{name}"


def flatten(detail: Any, field: str | None = None) -> list[dict[str, Any]]:
    """DRF's nested error detail as a flat list; nested fields are dotted (``a.0.b``)."""
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            items.extend(flatten(value, _join(field, key)))
        return items
    if isinstance(detail, list):
        items = []
        for value in detail:
            items.extend(flatten(value, field))
        return items
    return [error(str(detail), code=getattr(detail, "code", None) or "invalid", field=field)]


def _log_refusal(exc: Exception, context: dict[str, Any]) -> None:
    """``access_denied`` on the security log for a 404 or a 403 (a 401 is a missing or
    bad credential, which the authentication logs)."""
    request = context.get("request")
    if request is None:
        return
    if isinstance(exc, Http404 | NotFound):
        access_denied(request, 404)
    elif isinstance(exc, DjangoPermissionDenied | PermissionDenied):
        access_denied(request, 403)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    _log_refusal(exc, context)
    if isinstance(exc, ServiceError):
        # Before PermissionDenied: NotAllowed is both, and carries its own code.
        body = {"errors": [error(exc.message, code=exc.code, field=exc.field)]}
        return Response(body, status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        # get_error_detail keeps each message's code (unique, required, ...).
        exc = ValidationError(get_error_detail(exc))
    if isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or "You do not have permission to perform this action."
        return Response(
            {"errors": [error(message, code="permission_denied")]},
            status=status.HTTP_403_FORBIDDEN,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        errors = [
            error(
                str(detail["detail"]),
                code=getattr(detail["detail"], "code", None) or "error",
            )
        ]
    else:
        errors = flatten(detail)
    response.data = {"errors": errors}
    return response


# --- Django's own error pages, for requests under /api/ ---------------------------
# Errors that happen before a DRF view runs (no URL matches, a body past Django's own
# DATA_UPLOAD_MAX_MEMORY_SIZE, an uncaught exception) reach Django's handler400/404/500
# (heeded/urls.py). Under /api/ they answer in the API's JSON shape; elsewhere with the
# usual pages.

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _json_error(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"errors": [error(message, code=code)]}, status=status_code)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _json_error(413, "too_large", f"The request body is larger than {limit} bytes.")
    return _json_error(400, "bad_request", "The request could not be read.")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _json_error(
        403, "permission_denied", "You do not have permission to perform this action."
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return _json_error(404, "not_found", "Not found.")


def server_error(request: HttpRequest) -> HttpResponse:
    if not _is_api(request):
        return defaults.server_error(request)
    return _json_error(500, "server_error", "The server failed to answer this request.")
