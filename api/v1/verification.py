"""REST endpoints of verification (routed in ``urls.py`` beside it): the collector's
signed report upload, the devices of the clients a user may see, and the devices
behind a recommendation's verification. Reads go through ``verification.selectors``
(another client's device is a 404); writes through ``verification.services``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from accounts.securityevents import request_event
from api.v1.pagination import CursorByIdPagination
from api.v1.schema import ErrorDocumentingAutoSchema, ErrorsSerializer
from recommendations.selectors import recommendation_get_for
from verification import selectors
from verification.choices import ReportSource
from verification.jsonschema_lite import report_errors
from verification.models import Device, DeviceCompliance, RecommendationCompliance
from verification.services import ReportRefused, inventory_from_document, inventory_record
from verification.signing import SignatureError, signature_check


class Msg:
    TOO_LARGE = "The report is larger than {limit} bytes."
    LENGTH_REQUIRED = "Send Content-Length with the report."
    NOT_JSON = "The body is not UTF-8 JSON: {error}"


def _error(http_status: int, code: str, message: str, field: str | None = None) -> ApiResponse:
    return ApiResponse(
        {"errors": [{"field": field, "code": code, "message": message}]}, status=http_status
    )


class ReportResultSerializer(serializers.Serializer):
    outcome = serializers.CharField(
        help_text="accepted (stored), unchanged (same inventory as last time) or repeat "
        "(this exact document was received before: nothing changed)."
    )
    device = serializers.IntegerField(allow_null=True)
    hotfixes = serializers.IntegerField()


class EndpointReportView(APIView):
    """Upload one endpoint report (schema ``verification/schema/endpoint-report-v1.json``),
    signed with the client's enrollment token: see docs/collector.md. The same
    document twice changes nothing (``repeat``)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes: list[Any] = []

    @extend_schema(
        operation_id="endpoint_reports_create",
        request={"application/json": {"type": "object"}},
        parameters=[
            OpenApiParameter("X-Heeded-Key", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Heeded-Timestamp", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Heeded-Signature", str, OpenApiParameter.HEADER, required=True),
        ],
        responses={
            200: ReportResultSerializer,
            400: OpenApiResponse(ErrorsSerializer, description="Not a valid report."),
            401: OpenApiResponse(ErrorsSerializer, description="Bad or missing signature."),
            409: OpenApiResponse(ErrorsSerializer, description="Identity clash, kept for review."),
            411: OpenApiResponse(ErrorsSerializer, description="No Content-Length."),
            413: OpenApiResponse(ErrorsSerializer, description="Larger than the limit."),
        },
        auth=[],
    )
    def post(self, request: Request) -> ApiResponse:
        response = self._receive(request)
        if response.status_code >= 400:
            errors = response.data["errors"] if isinstance(response.data, dict) else []
            request_event(
                request,
                "report_refused",
                actor=getattr(request, "report_actor", None),
                status=response.status_code,
                code=errors[0]["code"] if errors else "",
                key=request.META.get("HTTP_X_HEEDED_KEY", "")[:100],
            )
        return response

    def _receive(self, request: Request) -> ApiResponse:
        limit: int = settings.HEEDED_REPORT_MAX_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or "")
        except ValueError:
            return _error(411, "length_required", Msg.LENGTH_REQUIRED)
        if length > limit:
            return _error(413, "too_large", Msg.TOO_LARGE.format(limit=limit))
        # Read at most limit + 1 bytes whatever Content-Length claimed.
        stream = request.stream
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            return _error(413, "too_large", Msg.TOO_LARGE.format(limit=limit))
        now = timezone.now()
        meta = request.META
        try:
            token = signature_check(
                key_id=meta.get("HTTP_X_HEEDED_KEY", ""),
                timestamp=meta.get("HTTP_X_HEEDED_TIMESTAMP", ""),
                signature=meta.get("HTTP_X_HEEDED_SIGNATURE", ""),
                body=body,
                now=now,
            )
        except SignatureError as exc:
            return _error(401, exc.code, exc.message)
        # The report is signed: what it says is the enrollment token's doing.
        request.report_actor = f"enrollment_token:{token.pk}"  # type: ignore[attr-defined]
        try:
            document = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return _error(400, "invalid", Msg.NOT_JSON.format(error=exc))
        problems = report_errors(document)
        if problems:
            return ApiResponse(
                {
                    "errors": [
                        {"field": p.split(":", 1)[0], "code": "invalid", "message": p}
                        for p in problems[:50]
                    ]
                },
                status=400,
            )
        try:
            result = inventory_record(
                client=token.client,
                inventory=inventory_from_document(document),
                document_hash=hashlib.sha256(body).hexdigest(),
                source=ReportSource.COLLECTOR,
                now=now,
                token=token,
                document=document,
            )
        except ReportRefused as exc:
            return _error(409, exc.code, exc.message, field=exc.field)
        return ApiResponse(
            {
                "outcome": result.outcome,
                "device": result.device_id,
                "hotfixes": len(document["hotfixes"]),
            },
            status=status.HTTP_200_OK,
        )


class DeviceSerializer(serializers.ModelSerializer):
    hotfix_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Device
        fields = [
            "id",
            "client",
            "machine_guid",
            "computer_name",
            "os_caption",
            "os_build",
            "tags",
            "first_seen",
            "last_seen",
            "bitlocker_on",
            "smb1_enabled",
            "defender_rtp_on",
            "hotfix_count",
        ]


class DeviceFilterSerializer(serializers.Serializer):
    client = serializers.IntegerField(required=False)


class DeviceViewSet(viewsets.GenericViewSet):
    """Devices of the clients you may see, with their last report."""

    schema = ErrorDocumentingAutoSchema()
    pagination_class = CursorByIdPagination
    queryset = Device.objects.none()
    serializer_class = DeviceSerializer

    @extend_schema(parameters=[DeviceFilterSerializer])
    def list(self, request: Request) -> ApiResponse:
        filters = DeviceFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.device_list_for(request.user, client_id=filters.validated_data.get("client"))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(DeviceSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> ApiResponse:
        return ApiResponse(DeviceSerializer(selectors.device_get_for(request.user, pk)).data)


class DeviceStateSerializer(serializers.ModelSerializer):
    computer_name = serializers.CharField(source="device.computer_name")

    class Meta:
        model = DeviceCompliance
        fields = ["device", "computer_name", "state", "detail", "evaluated_at"]


class ComplianceSummarySerializer(serializers.ModelSerializer):
    # Declared, not derived from the model: a derived field takes its maximum from the
    # database in use, which would make the OpenAPI document differ between SQLite
    # and PostgreSQL.
    in_scope = serializers.IntegerField(read_only=True)
    compliant = serializers.IntegerField(read_only=True)
    not_compliant = serializers.IntegerField(read_only=True)
    unknown = serializers.IntegerField(read_only=True)
    stale = serializers.IntegerField(read_only=True)

    class Meta:
        model = RecommendationCompliance
        fields = [
            "in_scope",
            "compliant",
            "not_compliant",
            "unknown",
            "stale",
            "holds",
            "rule_error",
            "evaluated_at",
        ]


class ComplianceSerializer(serializers.Serializer):
    recommendation = serializers.IntegerField()
    verification_rule = serializers.CharField()
    summary = ComplianceSummarySerializer(allow_null=True)
    devices = DeviceStateSerializer(many=True)


class RecommendationComplianceView(APIView):
    """The devices behind a recommendation's verification, as the last verify pass
    found them: compliant, not compliant, unknown or stale."""

    schema = ErrorDocumentingAutoSchema()

    @extend_schema(responses=ComplianceSerializer)
    def get(self, request: Request, recommendation_id: int) -> ApiResponse:
        rec = recommendation_get_for(request.user, recommendation_id)
        summary, devices = selectors.compliance_of(rec)
        return ApiResponse(
            ComplianceSerializer(
                {
                    "recommendation": rec.pk,
                    "verification_rule": rec.verification_rule,
                    "summary": summary,
                    "devices": list(devices),
                }
            ).data
        )
