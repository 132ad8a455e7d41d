"""REST endpoints of the follow-up engine (routed in ``urls.py`` beside it): tickets with
their notes, and the outbox deliveries with their attempts. Reads go through the
selectors (another client's row is a 404), writes through ``followup.services.tickets``."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from api.v1.ids import IdLookupMixin
from api.v1.pagination import CursorByIdPagination
from api.v1.schema import ErrorDocumentingAutoSchema
from api.v1.serializers import QueryParamsSerializer
from followup.choices import OutboxStatus
from followup.models import DeliveryAttempt, OutboxMessage, Ticket, TicketNote, TicketStatus
from followup.selectors import outbox_get_for, outbox_list_for, ticket_get_for, ticket_list_for
from followup.services import tickets


class TicketNoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketNote
        fields = ["id", "at", "author", "text"]


class TicketSerializer(serializers.ModelSerializer):
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)
    # Declared, not derived from the model: a derived field takes its maximum from the
    # database in use, which would make the OpenAPI document differ between SQLite
    # and PostgreSQL.
    escalation_level = serializers.IntegerField(read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "recommendation",
            "client",
            "title",
            "status",
            "escalation_level",
            "assignee",
            "external_ref",
            "opened_at",
            "updated_at",
            "closed_at",
        ]


class TicketDetailSerializer(TicketSerializer):
    notes = TicketNoteSerializer(many=True, read_only=True)

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "notes"]


class TicketFilterSerializer(QueryParamsSerializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    open = serializers.BooleanField(required=False, default=False)


class TicketNoteCreateSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    # Declared, not derived from the model: a derived field takes its maximum from the
    # database in use, which would make the OpenAPI document differ between SQLite
    # and PostgreSQL.
    number = serializers.IntegerField(read_only=True)

    class Meta:
        model = DeliveryAttempt
        fields = ["number", "worker", "started_at", "finished_at", "ok", "error"]


class DeliverySerializer(serializers.ModelSerializer):
    subject = serializers.SerializerMethodField()
    to = serializers.SerializerMethodField()
    attempts = serializers.IntegerField(read_only=True)  # see DeliveryAttemptSerializer

    class Meta:
        model = OutboxMessage
        fields = [
            "id",
            "kind",
            "idempotency_key",
            "client",
            "recommendation",
            "subject",
            "to",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "sent_at",
        ]

    def get_subject(self, message: OutboxMessage) -> str:
        return str(message.payload.get("subject", ""))

    def get_to(self, message: OutboxMessage) -> list[str]:
        return [str(a) for a in message.payload.get("to", [])]


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "attempt_log"]


class DeliveryFilterSerializer(QueryParamsSerializer):
    status = serializers.ChoiceField(choices=OutboxStatus.choices, required=False)


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class _ViewSet(IdLookupMixin, viewsets.GenericViewSet):
    schema = ErrorDocumentingAutoSchema()
    pagination_class = CursorByIdPagination


class TicketViewSet(_ViewSet):
    """Follow-up tickets: one open per recommendation, with their notes."""

    queryset = Ticket.objects.none()
    serializer_class = TicketSerializer

    @extend_schema(parameters=[TicketFilterSerializer])
    def list(self, request: Request) -> ApiResponse:
        filters = _valid(TicketFilterSerializer, request.query_params)
        qs = ticket_list_for(
            request.user, status=filters.get("status"), open_only=filters.get("open", False)
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(TicketSerializer(page, many=True).data)

    @extend_schema(responses=TicketDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> ApiResponse:
        return ApiResponse(TicketDetailSerializer(ticket_get_for(request.user, pk)).data)

    @extend_schema(request=TicketNoteCreateSerializer, responses={201: TicketNoteSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str) -> ApiResponse:
        """Add a note to the ticket."""
        ticket = ticket_get_for(request.user, pk)
        data = _valid(TicketNoteCreateSerializer, request.data)
        note = tickets.ticket_note_add(
            ticket=ticket, actor=request.user, text=data["text"], now=timezone.now()
        )
        return ApiResponse(TicketNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class DeliveryViewSet(_ViewSet):
    """Every message Heeded queued (e-mail, webhook, PSA call) and each attempt."""

    queryset = OutboxMessage.objects.none()
    serializer_class = DeliverySerializer

    @extend_schema(parameters=[DeliveryFilterSerializer])
    def list(self, request: Request) -> ApiResponse:
        filters = _valid(DeliveryFilterSerializer, request.query_params)
        page = self.paginate_queryset(outbox_list_for(request.user, status=filters.get("status")))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(responses=DeliveryDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> ApiResponse:
        return ApiResponse(DeliveryDetailSerializer(outbox_get_for(request.user, pk)).data)
