"""REST endpoints of the answers app (routed in ``urls.py`` beside it): presenting several
drafts at once, the answer links of a recommendation with their state, meetings, and
the review queue of inbound e-mail. Reads go through the selectors (another client's
row is a 404), writes through the ``answers.services`` modules."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from answers import selectors
from answers.models import AnswerLink, InboundMessage, Proposal
from answers.services import inbound, links, meetings
from api.v1.ids import IdLookupMixin, id_integer_field
from api.v1.pagination import CursorByIdPagination
from api.v1.schema import ErrorDocumentingAutoSchema
from api.v1.serializers import QueryParamsSerializer
from clients.selectors import client_list_for
from recommendations.choices import Channel, Decision
from recommendations.models import Response
from recommendations.selectors import recommendation_get_for, recommendation_list_for


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class _ViewSet(IdLookupMixin, viewsets.GenericViewSet):
    schema = ErrorDocumentingAutoSchema()
    pagination_class = CursorByIdPagination


# --- presenting --------------------------------------------------------------------


class PresentationCreateSerializer(serializers.Serializer):
    recommendations = serializers.ListField(child=id_integer_field(), min_length=1, max_length=200)


class PresentedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    text_sha256 = serializers.CharField()
    response_due_at = serializers.DateTimeField(allow_null=True)


class PresentationViewSet(_ViewSet):
    """Present several drafts of one client at once: each decision maker gets one
    e-mail with a signed link per recommendation and a batch link for all of them."""

    queryset = AnswerLink.objects.none()
    serializer_class = PresentationCreateSerializer
    conflict_actions = ("create",)
    pagination_class = None  # answers with the list it presented, not a page

    @extend_schema(
        request=PresentationCreateSerializer, responses={201: PresentedSerializer(many=True)}
    )
    def create(self, request: Request) -> ApiResponse:
        data = _valid(PresentationCreateSerializer, request.data)
        wanted = list(dict.fromkeys(data["recommendations"]))
        found = {r.pk: r for r in recommendation_list_for(request.user).filter(pk__in=wanted)}
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            raise serializers.ValidationError(
                {"recommendations": [f"No such recommendation: {missing[0]}."]}
            )
        done = links.recommendations_present(
            recommendations=[found[pk] for pk in wanted],
            actor=request.user,
            now=timezone.now(),
        )
        return ApiResponse(
            PresentedSerializer(done, many=True).data, status=status.HTTP_201_CREATED
        )


# --- answer links ------------------------------------------------------------------


class AnswerLinkSerializer(serializers.ModelSerializer):
    contact = serializers.SlugRelatedField(slug_field="email", read_only=True)
    state = serializers.SerializerMethodField()
    recommendations = serializers.SerializerMethodField()

    class Meta:
        model = AnswerLink
        fields = [
            "id",
            "contact",
            "recommendations",
            "is_batch",
            "created_at",
            "expires_at",
            "used_at",
            "response",
            "state",
        ]

    def get_state(self, link: AnswerLink) -> str:
        return str(link.state(self.context["now"]))

    def get_recommendations(self, link: AnswerLink) -> list[int]:
        return sorted(int(pk) for pk in link.text_sha256)


class AnswerLinkFilterSerializer(QueryParamsSerializer):
    recommendation = id_integer_field()


class AnswerLinkViewSet(_ViewSet):
    """The signed links of a recommendation and whether each is open, used or expired."""

    queryset = AnswerLink.objects.none()
    serializer_class = AnswerLinkSerializer

    @extend_schema(parameters=[AnswerLinkFilterSerializer])
    def list(self, request: Request) -> ApiResponse:
        filters = _valid(AnswerLinkFilterSerializer, request.query_params)
        rec = recommendation_get_for(request.user, filters["recommendation"])
        page = self.paginate_queryset(selectors.link_list_for(request.user, rec))
        context = {"now": timezone.now()}
        return self.get_paginated_response(
            AnswerLinkSerializer(page, many=True, context=context).data
        )


# --- inbound e-mail review queue ---------------------------------------------------


class InboundSerializer(serializers.ModelSerializer):
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = InboundMessage
        fields = [
            "id",
            "received_at",
            "message_id",
            "from_address",
            "subject",
            "client",
            "recommendation",
            "contact",
            "outcome",
            "reason",
            "raw_sha256",
            "response",
            "reviewed_at",
            "reviewed_by",
            "review_note",
        ]


class InboundDetailSerializer(InboundSerializer):
    class Meta(InboundSerializer.Meta):
        fields = [*InboundSerializer.Meta.fields, "verification"]


class InboundFilterSerializer(QueryParamsSerializer):
    all = serializers.BooleanField(required=False, default=False)


class InboundReviewSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True)


class InboundViewSet(_ViewSet):
    """E-mail that was kept but not counted (unverified, unmatched, unreadable): the
    staff review queue. ``all=true`` includes messages already reviewed."""

    queryset = InboundMessage.objects.none()
    serializer_class = InboundSerializer

    @extend_schema(parameters=[InboundFilterSerializer])
    def list(self, request: Request) -> ApiResponse:
        filters = _valid(InboundFilterSerializer, request.query_params)
        qs = selectors.review_queue_for(request.user, include_reviewed=filters["all"])
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(InboundSerializer(page, many=True).data)

    @extend_schema(responses=InboundDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> ApiResponse:
        return ApiResponse(
            InboundDetailSerializer(selectors.inbound_get_for(request.user, pk)).data
        )

    @extend_schema(request=InboundReviewSerializer, responses=InboundDetailSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str) -> ApiResponse:
        """Mark the message reviewed, with a note. It stays uncounted."""
        message = selectors.inbound_get_for(request.user, pk)
        data = _valid(InboundReviewSerializer, request.data)
        message = inbound.inbound_review(
            message=message, actor=request.user, note=data["note"], now=timezone.now()
        )
        return ApiResponse(InboundDetailSerializer(message).data)


# --- meetings ----------------------------------------------------------------------


class MeetingDecisionSerializer(serializers.Serializer):
    recommendation = id_integer_field()
    decision = serializers.ChoiceField(choices=Decision.choices)
    responder_name = serializers.CharField(max_length=200)
    planned_for = serializers.DateField(required=False, allow_null=True, default=None)
    deferred_until = serializers.DateField(required=False, allow_null=True, default=None)
    justification = serializers.CharField(required=False, allow_blank=True, default="")


class MeetingCreateSerializer(serializers.Serializer):
    client = id_integer_field()
    channel = serializers.ChoiceField(
        choices=[(Channel.MEETING, Channel.MEETING.label), (Channel.PHONE, Channel.PHONE.label)]
    )
    held_on = serializers.DateField()
    attendees = serializers.CharField(allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    decisions = MeetingDecisionSerializer(many=True)


class ProposalSerializer(serializers.ModelSerializer):
    """An answer that did not change the state: its contact may not decide alone. It
    was routed to the authorised contacts in ``routed_to``, who confirm it."""

    contact = serializers.SlugRelatedField(slug_field="email", read_only=True)
    # Plain strings: the channel and proposal-status choices would otherwise make enums
    # that collide in name with the recommendation's own.
    channel = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="open, confirmed or superseded.")

    class Meta:
        model = Proposal
        fields = [
            "id",
            "recommendation",
            "contact",
            "decision",
            "planned_for",
            "deferred_until",
            "justification",
            "responder_name",
            "channel",
            "reason",
            "status",
            "routed_to",
            "created_at",
        ]
        read_only_fields = fields


class MeetingResultSerializer(serializers.Serializer):
    meeting = serializers.IntegerField()
    responses = serializers.ListField(child=serializers.IntegerField())
    # Decisions from someone without authority (or the first of two approvals): not
    # recorded, routed to an authorised contact.
    proposals = serializers.ListField(child=serializers.IntegerField())


class MeetingViewSet(_ViewSet):
    """Decisions taken in a meeting or a call, recorded by staff: all or none."""

    queryset = AnswerLink.objects.none()
    serializer_class = MeetingCreateSerializer

    @extend_schema(request=MeetingCreateSerializer, responses={201: MeetingResultSerializer})
    def create(self, request: Request) -> ApiResponse:
        data = _valid(MeetingCreateSerializer, request.data)
        client = client_list_for(request.user).filter(pk=data["client"]).first()
        if client is None:
            raise serializers.ValidationError(
                {"client": [f"No such client (id {data['client']})."]}, code="does_not_exist"
            )
        decisions = []
        for index, item in enumerate(data["decisions"]):
            rec = recommendation_list_for(request.user).filter(pk=item["recommendation"]).first()
            if rec is None:
                raise serializers.ValidationError(
                    {f"decisions.{index}.recommendation": ["No such recommendation."]}
                )
            decisions.append(meetings.MeetingDecision(**{**item, "recommendation": rec}))
        meeting, results = meetings.meeting_record(
            client=client,
            channel=data["channel"],
            held_on=data["held_on"],
            attendees=data["attendees"],
            notes=data["notes"],
            decisions=decisions,
            recorded_by=request.user,
            now=timezone.now(),
        )
        result = {
            "meeting": meeting.pk,
            "responses": [r.pk for r in results if isinstance(r, Response)],
            "proposals": [r.pk for r in results if isinstance(r, Proposal)],
        }
        return ApiResponse(result, status=status.HTTP_201_CREATED)
