"""REST endpoints of verification (routed in ``urls.py`` beside it): the collector's
signed report upload; what the staff pages show — the devices of the clients a user
may see (with their hotfixes, tags and state under each rule), the devices behind a
recommendation's verification, a client's device compliance — and what they do:
enrollment tokens (the new token shown once, revoking), device tags, and the queue of
refused reports. Reads go through ``verification.selectors`` (another client's object
is a 404, like a missing one); writes through ``verification.services``, which check
the actor's role."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from accounts.securityevents import request_event
from api.v1.ids import IdLookupMixin, id_integer_field
from api.v1.pagination import CursorByIdPagination
from api.v1.schema import ErrorDocumentingAutoSchema, ErrorsSerializer
from api.v1.serializers import QueryParamsSerializer, ScopedPrimaryKeyRelatedField
from clients.models import Client
from clients.selectors import client_get_for, client_list_for
from recommendations.selectors import recommendation_get_for
from verification import selectors
from verification.compliance import stale_after
from verification.models import (
    Device,
    DeviceCompliance,
    DeviceRename,
    EnrollmentToken,
    InstalledHotfix,
    RecommendationCompliance,
    ReviewItem,
)
from verification.services import (
    TAG_MAX_COUNT,
    TAG_MAX_LENGTH,
    ReportInvalid,
    VerificationError,
    collector_report_receive,
    device_tags_set,
    enrollment_token_create,
    enrollment_token_revoke,
    review_item_resolve,
)
from verification.signing import SignatureError


class Msg:
    TOO_LARGE = "The report is larger than {limit} bytes."
    LENGTH_REQUIRED = "Send Content-Length with the report."


def _located(problem: str) -> str | None:
    """The place a schema error names (``$.hotfixes[3]``); None for a body that is not
    JSON at all."""
    return problem.split(":", 1)[0] if problem.startswith("$") else None


def _valid(
    serializer_class: type[serializers.Serializer], data: Any, request: Request | None = None
) -> dict[str, Any]:
    serializer = serializer_class(data=data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class _ViewSet(IdLookupMixin, viewsets.GenericViewSet):
    schema = ErrorDocumentingAutoSchema()
    pagination_class = CursorByIdPagination


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
        meta = request.META
        try:
            result = collector_report_receive(
                key_id=meta.get("HTTP_X_HEEDED_KEY", ""),
                timestamp=meta.get("HTTP_X_HEEDED_TIMESTAMP", ""),
                signature=meta.get("HTTP_X_HEEDED_SIGNATURE", ""),
                body=body,
                now=timezone.now(),
            )
        except SignatureError as exc:
            return _error(401, exc.code, exc.message)
        except VerificationError as exc:
            # The report was signed: what it says is the enrollment token's doing.
            request.report_actor = f"enrollment_token:{exc.signed_by}"  # type: ignore[attr-defined]
            if isinstance(exc, ReportInvalid):
                return ApiResponse(
                    {
                        "errors": [
                            {"field": _located(p), "code": "invalid", "message": p}
                            for p in exc.errors[:50]
                        ]
                    },
                    status=400,
                )
            return _error(409, exc.code, exc.message, field=exc.field)
        return ApiResponse(
            {
                "outcome": result.outcome,
                "device": result.device_id,
                "hotfixes": result.hotfix_count,
            },
            status=status.HTTP_200_OK,
        )


class DeviceSerializer(serializers.ModelSerializer):
    hotfix_count = serializers.IntegerField(read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    stale = serializers.SerializerMethodField(
        help_text="No report for HEEDED_VERIFY_STALE_DAYS days: its rules count as stale."
    )

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
            "stale",
            "bitlocker_on",
            "smb1_enabled",
            "defender_rtp_on",
            "hotfix_count",
        ]

    def get_stale(self, device: Device) -> bool:
        return device.is_stale(self.context["now"], stale_after())


class HotfixSerializer(serializers.ModelSerializer):
    # Declared, not derived from the model: a derived field takes its maximum from the
    # database in use, which would make the OpenAPI document differ between SQLite
    # and PostgreSQL.
    kb = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The KB number; null for ids like File 1."
    )

    class Meta:
        model = InstalledHotfix
        fields = [
            "hotfix_id",
            "kb",
            "flagged",
            "description",
            "installed_by",
            "installed_on_raw",
            "installed_on",
            "first_seen",
        ]


class RenameSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeviceRename
        fields = ["at", "old_name", "new_name"]


class DeviceRuleStateSerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="recommendation.title", read_only=True)

    class Meta:
        model = DeviceCompliance
        fields = ["recommendation", "title", "state", "detail", "evaluated_at"]


class DeviceDetailSerializer(DeviceSerializer):
    """A device as its staff page shows it: every hotfix, its renames, and its state
    under each recommendation whose rule covers it."""

    firewall = serializers.DictField(child=serializers.BooleanField(allow_null=True))
    hotfixes = HotfixSerializer(many=True, read_only=True)
    renames = RenameSerializer(many=True, read_only=True)
    compliance = DeviceRuleStateSerializer(many=True, read_only=True)

    class Meta(DeviceSerializer.Meta):
        fields = [*DeviceSerializer.Meta.fields, "firewall", "hotfixes", "renames", "compliance"]


class DeviceFilterSerializer(QueryParamsSerializer):
    client = id_integer_field(required=False, help_text="Only the devices of this client.")


class DeviceTagsSerializer(serializers.Serializer):
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_MAX_LENGTH, allow_blank=True),
        max_length=TAG_MAX_COUNT,
        help_text="The device's tags, replacing the ones it has: trimmed and lower-cased; "
        "blank ones are dropped. Rules scoped with `on devices tagged x` read them.",
    )


def _now_context() -> dict[str, Any]:
    return {"now": timezone.now()}


class DeviceViewSet(_ViewSet):
    """Devices of the clients you may see, with their last report (the client's
    devices page); one device with its hotfixes and its state under each rule."""

    queryset = Device.objects.none()
    serializer_class = DeviceSerializer

    @extend_schema(parameters=[DeviceFilterSerializer])
    def list(self, request: Request) -> ApiResponse:
        filters = _valid(DeviceFilterSerializer, request.query_params)
        qs = selectors.device_list_for(request.user, client_id=filters.get("client"))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(
            DeviceSerializer(page, many=True, context=_now_context()).data
        )

    @extend_schema(responses=DeviceDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> ApiResponse:
        device = selectors.device_detail_for(request.user, pk)
        return ApiResponse(DeviceDetailSerializer(device, context=_now_context()).data)

    @extend_schema(request=DeviceTagsSerializer, responses=DeviceDetailSerializer)
    @action(detail=True, methods=["post"])
    def tags(self, request: Request, pk: str) -> ApiResponse:
        """Set the device's tags (the next verify pass applies them)."""
        device = selectors.device_get_for(request.user, pk)
        data = _valid(DeviceTagsSerializer, request.data)
        device_tags_set(device=device, tags=data["tags"], actor=request.user, now=timezone.now())
        device = selectors.device_detail_for(request.user, pk)
        return ApiResponse(DeviceDetailSerializer(device, context=_now_context()).data)


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


# --- enrollment tokens -------------------------------------------------------------


class EnrollmentTokenSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = EnrollmentToken
        fields = [
            "id",
            "client",
            "name",
            "key_id",
            "active",
            "created_at",
            "created_by",
            "revoked_at",
            "last_used_at",
        ]


class EnrollmentTokenCreatedSerializer(EnrollmentTokenSerializer):
    token = serializers.CharField(
        read_only=True,
        help_text="The token the collector signs with (`-Token`). Shown in this answer "
        "only: Heeded keeps its SHA-256 and cannot show it again.",
    )

    class Meta(EnrollmentTokenSerializer.Meta):
        fields = [*EnrollmentTokenSerializer.Meta.fields, "token"]


class EnrollmentTokenCreateSerializer(serializers.Serializer):
    client = ScopedPrimaryKeyRelatedField(scope=client_list_for, model=Client)
    name = serializers.CharField(
        max_length=100, help_text="The RMM or site that will use it, e.g. NinjaOne."
    )


class ClientFilterSerializer(QueryParamsSerializer):
    client = id_integer_field(required=False, help_text="Only this client's.")


class EnrollmentTokenViewSet(_ViewSet):
    """Collector enrollment tokens of the clients you may see (docs/collector.md).
    Creating one answers with the token once; revoking ends it."""

    queryset = EnrollmentToken.objects.none()
    serializer_class = EnrollmentTokenSerializer

    @extend_schema(parameters=[ClientFilterSerializer])
    def list(self, request: Request) -> ApiResponse:
        filters = _valid(ClientFilterSerializer, request.query_params)
        qs = selectors.token_list_for(request.user, client_id=filters.get("client"))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(EnrollmentTokenSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> ApiResponse:
        token = selectors.token_get_for(request.user, pk)
        return ApiResponse(EnrollmentTokenSerializer(token).data)

    @extend_schema(
        request=EnrollmentTokenCreateSerializer, responses={201: EnrollmentTokenCreatedSerializer}
    )
    def create(self, request: Request) -> ApiResponse:
        """Create a token for a client; the answer is the only time it is shown."""
        data = _valid(EnrollmentTokenCreateSerializer, request.data, request)
        token, raw = enrollment_token_create(
            client=data["client"], name=data["name"], actor=request.user, now=timezone.now()
        )
        # Serialised as listed, plus the raw token: only this answer ever carries it.
        body = {**EnrollmentTokenSerializer(token).data, "token": raw}
        answer = ApiResponse(body, status=status.HTTP_201_CREATED)
        answer["Cache-Control"] = "no-store"
        return answer

    @extend_schema(request=None, responses=EnrollmentTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> ApiResponse:
        """Revoke the token: reports signed with it are refused from now on (401)."""
        token = selectors.token_get_for(request.user, pk)
        token = enrollment_token_revoke(token=token, actor=request.user, now=timezone.now())
        return ApiResponse(EnrollmentTokenSerializer(token).data)


# --- refused reports to review -----------------------------------------------------


class ReviewItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewItem
        fields = [
            "id",
            "client",
            "machine_guid",
            "computer_name",
            "reason",
            "detail",
            "received_at",
            "resolved_at",
        ]


class ReviewItemDetailSerializer(ReviewItemSerializer):
    document = serializers.JSONField(
        read_only=True, help_text="The refused report, as it was received."
    )

    class Meta(ReviewItemSerializer.Meta):
        fields = [*ReviewItemSerializer.Meta.fields, "document"]


class ReviewFilterSerializer(ClientFilterSerializer):
    all = serializers.BooleanField(
        required=False, default=False, help_text="Include the reports already closed."
    )


class ReviewResolveSerializer(serializers.Serializer):
    note = serializers.CharField(
        allow_blank=True,
        max_length=1000,
        help_text="What was decided (e.g. the cloned machine was re-imaged); it goes on "
        "the ledger as verification.review_resolved.",
    )


class DeviceReviewViewSet(_ViewSet):
    """Reports refused because their identity clashes (a MachineGuid claimed by another
    client, or by a name it was renamed away from): nothing of them was stored. Staff
    judge each and close it with a note."""

    queryset = ReviewItem.objects.none()
    serializer_class = ReviewItemSerializer

    @extend_schema(parameters=[ReviewFilterSerializer])
    def list(self, request: Request) -> ApiResponse:
        filters = _valid(ReviewFilterSerializer, request.query_params)
        qs = selectors.review_list_for(
            request.user, client_id=filters.get("client"), include_resolved=filters["all"]
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(ReviewItemSerializer(page, many=True).data)

    @extend_schema(responses=ReviewItemDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> ApiResponse:
        item = selectors.review_get_for(request.user, pk)
        return ApiResponse(ReviewItemDetailSerializer(item).data)

    @extend_schema(request=ReviewResolveSerializer, responses=ReviewItemSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> ApiResponse:
        """Close the refused report with a note of what was decided (409 once closed)."""
        item = selectors.review_get_for(request.user, pk)
        data = _valid(ReviewResolveSerializer, request.data)
        item = review_item_resolve(
            item=item, note=data["note"], actor=request.user, now=timezone.now()
        )
        return ApiResponse(ReviewItemSerializer(item).data)


# --- a client's device compliance --------------------------------------------------


class DeviceScoreSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    compliant = serializers.IntegerField(
        help_text="(device, rule) pairs the last verify pass found compliant."
    )
    evaluated = serializers.IntegerField(
        help_text="(device, rule) pairs it evaluated; unknown and stale ones count."
    )
    percent = serializers.DecimalField(
        max_digits=4, decimal_places=1, allow_null=True, coerce_to_string=False
    )


class ClientDeviceScoreView(APIView):
    """The client's device compliance, as on its devices page: of the (device, rule)
    pairs the last verify pass evaluated, the share that comply."""

    schema = ErrorDocumentingAutoSchema()

    @extend_schema(responses=DeviceScoreSerializer)
    def get(self, request: Request, client_id: int) -> ApiResponse:
        client = client_get_for(request.user, client_id)
        score = selectors.device_score_for(request.user, client_id=client.pk)
        return ApiResponse(
            DeviceScoreSerializer(
                {
                    "client": client.pk,
                    "compliant": score.compliant,
                    "evaluated": score.evaluated,
                    "percent": score.percent,
                }
            ).data
        )


class DeviceScoreDaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="A day of the client's calendar (its time zone).")
    compliant = serializers.IntegerField(
        help_text="(device, rule) pairs found compliant at the end of that day."
    )
    evaluated = serializers.IntegerField(help_text="(device, rule) pairs evaluated then.")
    percent = serializers.DecimalField(
        max_digits=4, decimal_places=1, allow_null=True, coerce_to_string=False
    )


class DeviceScoreHistorySerializer(serializers.Serializer):
    client = serializers.IntegerField()
    days = DeviceScoreDaySerializer(many=True, help_text="Oldest first.")


class DeviceScoreHistoryFilterSerializer(QueryParamsSerializer):
    since = serializers.DateField(
        required=False, help_text="Only days from this one (YYYY-MM-DD) on."
    )


class ClientDeviceScoreHistoryView(APIView):
    """The client's device compliance day by day, as on its devices page and in its
    QBR: each day as it ended, written once by the worker after the client's own
    midnight (today's figure is ``/device-compliance/``)."""

    schema = ErrorDocumentingAutoSchema()
    validated_query_actions = ("get",)

    @extend_schema(
        parameters=[DeviceScoreHistoryFilterSerializer],
        responses=DeviceScoreHistorySerializer,
    )
    def get(self, request: Request, client_id: int) -> ApiResponse:
        client = client_get_for(request.user, client_id)
        filters = _valid(DeviceScoreHistoryFilterSerializer, request.query_params, request)
        days = selectors.device_score_history_for(
            request.user, client_id=client.pk, since=filters.get("since")
        )
        return ApiResponse(
            DeviceScoreHistorySerializer(
                {
                    "client": client.pk,
                    "days": [
                        {
                            "day": row.day,
                            "compliant": row.compliant,
                            "evaluated": row.evaluated,
                            "percent": row.score.percent,
                        }
                        for row in days
                    ],
                }
            ).data
        )
