"""OpenAPI details drf-spectacular cannot guess: the token scheme and the error responses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True, help_text="The input at fault (dotted when nested), or null."
    )
    code = serializers.CharField(help_text="Stable, for programs: required, invalid, not_found…")
    message = serializers.CharField(help_text="For people.")


class ErrorsSerializer(serializers.Serializer):
    errors = ErrorSerializer(many=True)


class HashedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from `heeded token create USER`: "
            "`Authorization: Bearer hd_…`.",
        }


class ErrorDocumentingAutoSchema(AutoSchema):
    """Adds the error responses every operation may give, in the one error shape.

    Views say which of their actions can conflict with the lifecycle
    (``conflict_actions``) and which validate query parameters
    (``validated_query_actions``; a plain APIView has no action, so ``"get"`` names its
    GET); the rest follows from the method and the path.
    """

    def _error_responses(self) -> dict[str, str]:
        method = self.method.upper()
        action = getattr(self.view, "action", None) or method.lower()
        path_has_id = "{" in self.path
        responses = {}
        is_list = self._is_list_view()
        has_body = method in ("POST", "PUT", "PATCH")
        if has_body or is_list or action in getattr(self.view, "validated_query_actions", ()):
            responses["400"] = (
                "Invalid input: each error names its field (a malformed or too deeply "
                "nested JSON body, a bad query parameter)."
            )
        responses["401"] = "No token, or a wrong or revoked one."
        if method != "GET":
            responses["403"] = "This account may not make this change."
        if path_has_id or is_list:
            responses["404"] = (
                "No such object, or not visible to this account (or an invalid cursor)."
            )
        if action in getattr(self.view, "conflict_actions", ()):
            responses["409"] = "The recommendation's status does not allow this action."
        if has_body:
            responses["413"] = "The request body is larger than the API accepts."
            responses["415"] = "The request body is not JSON (Content-Type: application/json)."
        return responses

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        bodies = super()._get_response_bodies(direction)
        for code, description in self._error_responses().items():
            bodies.setdefault(
                code,
                self._get_response_for_code(
                    OpenApiResponse(ErrorsSerializer, description=description),
                    code,
                    direction=direction,
                ),
            )
        return bodies
