"""JSON errors for the API: ``{"errors": [{"field": ..., "code": ..., "message": ...}]}``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from recommendations.lifecycle import LifecycleError, TransitionNotAllowed


def _flatten(detail, field: str | None = None) -> list[dict]:
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "__all__") else key
            items.extend(_flatten(value, f"{field}.{name}" if field and name else (name or field)))
        return items
    if isinstance(detail, list):
        items = []
        for value in detail:
            items.extend(_flatten(value, field))
        return items
    return [{"field": field, "code": getattr(detail, "code", "invalid"), "message": str(detail)}]


def exception_handler(exc, context):
    if isinstance(exc, LifecycleError):
        code = status.HTTP_409_CONFLICT if isinstance(exc, TransitionNotAllowed) else 400
        return Response(
            {"errors": [{"field": exc.field, "code": exc.code, "message": exc.message}]},
            status=code,
        )
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        exc = ValidationError(detail)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(
            {"errors": [{"field": None, "code": "permission_denied", "message": str(exc)}]},
            status=status.HTTP_403_FORBIDDEN,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        errors = [
            {
                "field": None,
                "code": getattr(detail["detail"], "code", "error"),
                "message": str(detail["detail"]),
            }
        ]
    else:
        errors = _flatten(detail)
    response.data = {"errors": errors}
    return response
