"""The REST API: thin views over the same services and selectors as the web pages.

Reads go through the selectors, which scope by the acting user (what a user may not
see is a 404). Writes go through the services with ``now=timezone.now()``; their
errors become the API's JSON errors in ``api.v1.errors``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.serializers import Serializer

from answers.models import Proposal
from answers.services.staff import staff_answer_record
from api.v1 import serializers as s
from api.v1.answers import ProposalSerializer
from api.v1.ids import IdLookupMixin
from api.v1.pagination import (
    CursorByIdAscendingPagination,
    CursorByKeyPagination,
    CursorByNamePagination,
    CursorBySeqPagination,
)
from api.v1.permissions import CanManageClientsForWrites, IsAdminForWrites
from api.v1.schema import ErrorDocumentingAutoSchema
from catalog.models import Template, TemplateVersion
from catalog.services import template_create
from clients.models import Client, Contact
from clients.selectors import client_get_for, client_list_for, contact_get_for, contact_list_for
from clients.services import client_create, contact_create
from ledger.models import Event
from ledger.selectors import event_list_for, head_for
from recommendations import services as rec_services
from recommendations.models import Recommendation
from recommendations.selectors import (
    overdue_q,
    recommendation_get_for,
    recommendation_list_for,
    response_list_for,
)


def _valid(serializer_class: type[Serializer], request: Request, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _plain(value: Any) -> Any:
    """Nested serializer output (OrderedDicts) as the plain dicts and lists services store."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class ApiViewSet(IdLookupMixin, viewsets.GenericViewSet):
    # Docstrings of actions become the OpenAPI descriptions (Markdown).
    schema = ErrorDocumentingAutoSchema()


# --- clients and contacts --------------------------------------------------------


class ClientViewSet(ApiViewSet):
    """The MSP's clients. Technicians see only the clients they are assigned to."""

    queryset = Client.objects.none()  # typed for the schema; reads use the selectors
    serializer_class = s.ClientSerializer
    pagination_class = CursorByNamePagination
    permission_classes = [CanManageClientsForWrites]

    def get_queryset(self) -> QuerySet[Client]:
        return (
            client_list_for(self.request.user)
            .select_related("account_owner")
            .prefetch_related("domains")
        )

    def list(self, request: Request) -> ApiResponse:
        """Clients in alphabetical order."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.ClientSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> ApiResponse:
        return ApiResponse(s.ClientSerializer(client_get_for(request.user, pk)).data)

    @extend_schema(request=s.ClientCreateSerializer, responses={201: s.ClientSerializer})
    def create(self, request: Request) -> ApiResponse:
        """Add a client with its e-mail domains (admins and account managers)."""
        data = _valid(s.ClientCreateSerializer, request, request.data)
        client = client_create(actor=request.user, now=timezone.now(), **data)
        return ApiResponse(
            s.ClientSerializer(client_get_for(request.user, client.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class ContactViewSet(ApiViewSet):
    """People at clients who may answer recommendations."""

    queryset = Contact.objects.none()
    serializer_class = s.ContactSerializer
    pagination_class = CursorByIdAscendingPagination
    validated_query_actions = ("list",)

    @extend_schema(parameters=[s.ContactFilterSerializer])
    def list(self, request: Request) -> ApiResponse:
        filters = _valid(s.ContactFilterSerializer, request, request.query_params)
        contacts = contact_list_for(request.user)
        if filters.get("client"):
            contacts = contacts.filter(client_id=filters["client"])
        page = self.paginate_queryset(contacts)
        return self.get_paginated_response(s.ContactSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> ApiResponse:
        return ApiResponse(s.ContactSerializer(contact_get_for(request.user, pk)).data)

    @extend_schema(request=s.ContactCreateSerializer, responses={201: s.ContactSerializer})
    def create(self, request: Request) -> ApiResponse:
        """Add a contact to a client the user may see."""
        data = _valid(s.ContactCreateSerializer, request, request.data)
        contact = contact_create(actor=request.user, now=timezone.now(), **data)
        return ApiResponse(s.ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


# --- catalog ---------------------------------------------------------------------


class TemplateViewSet(ApiViewSet):
    """The catalog. Every staff account reads it; admins and account managers add to it."""

    queryset = Template.objects.none()
    serializer_class = s.TemplateSerializer
    pagination_class = CursorByKeyPagination
    permission_classes = [IsAdminForWrites]

    def get_queryset(self) -> QuerySet[Template]:
        return Template.objects.prefetch_related(
            Prefetch("versions", queryset=TemplateVersion.objects.order_by("-number"))
        )

    def _get(self, pk: str | int) -> Template:
        return generics.get_object_or_404(self.get_queryset(), pk=pk)

    def list(self, request: Request) -> ApiResponse:
        """Templates by key, each with its latest version."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.TemplateSerializer(page, many=True).data)

    @extend_schema(responses=s.TemplateDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> ApiResponse:
        """A template with every version, newest first."""
        return ApiResponse(s.TemplateDetailSerializer(self._get(pk)).data)

    @extend_schema(request=s.TemplateCreateSerializer, responses={201: s.TemplateDetailSerializer})
    def create(self, request: Request) -> ApiResponse:
        """Add a template and its first version (admins and account managers)."""
        data = _plain(_valid(s.TemplateCreateSerializer, request, request.data))
        version = template_create(actor=request.user, now=timezone.now(), **data)
        return ApiResponse(
            s.TemplateDetailSerializer(self._get(version.template_id)).data,
            status=status.HTTP_201_CREATED,
        )


# --- recommendations -------------------------------------------------------------


def _transition_schema(
    summary: str, request: type[Serializer] | None, operation_id: str
) -> Callable:
    return extend_schema(
        summary=summary,
        request=request,
        responses=s.RecommendationDetailSerializer,
        operation_id=operation_id,
    )


class RecommendationViewSet(ApiViewSet):
    """Recommendations and their lifecycle: each action is one transition of the
    lifecycle table; a refused transition answers 409 and changes nothing."""

    queryset = Recommendation.objects.none()
    serializer_class = s.RecommendationSerializer
    validated_query_actions = ("list",)
    conflict_actions = (
        "present",
        "responses",
        "start_work",
        "mark_implemented",
        "mark_verified",
        "withdraw",
        "edit",
        "owner",
        "contact",
    )

    def _context(self, **extra: Any) -> dict[str, Any]:
        return {"request": self.request, "now": timezone.now(), **extra}

    def _detail(self, pk: int | str) -> dict[str, Any]:
        rec = recommendation_get_for(self.request.user, pk)
        responses = response_list_for(self.request.user, rec)
        return s.RecommendationDetailSerializer(
            rec, context=self._context(responses=responses)
        ).data

    @extend_schema(parameters=[s.RecommendationFilterSerializer])
    def list(self, request: Request) -> ApiResponse:
        """Newest first. Filters combine (AND); values within one filter are alternatives."""
        filters = s.RecommendationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        now = timezone.now()
        recs = recommendation_list_for(request.user, **filters.selector_kwargs())
        overdue = filters.validated_data.get("overdue")
        if overdue is True:
            recs = recs.filter(overdue_q(now))
        elif overdue is False:
            recs = recs.exclude(overdue_q(now))
        page = self.paginate_queryset(recs)
        return self.get_paginated_response(
            s.RecommendationSerializer(page, many=True, context=self._context()).data
        )

    @extend_schema(responses=s.RecommendationDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> ApiResponse:
        """A recommendation with its full text and every response."""
        return ApiResponse(self._detail(pk))

    @extend_schema(
        request=s.RecommendationCreateSerializer,
        responses={201: s.RecommendationDetailSerializer},
    )
    def create(self, request: Request) -> ApiResponse:
        """Create a draft, from a catalog version or ad hoc (then title, body and
        severity are required)."""
        data = _plain(_valid(s.RecommendationCreateSerializer, request, request.data))
        rec = rec_services.recommendation_create(actor=request.user, now=timezone.now(), **data)
        return ApiResponse(self._detail(rec.pk), status=status.HTTP_201_CREATED)

    def _act(
        self,
        pk: str,
        service: Callable[..., Recommendation],
        body: type[Serializer] | None = None,
    ) -> ApiResponse:
        rec = recommendation_get_for(self.request.user, pk)
        data = _valid(body, self.request, self.request.data) if body else {}
        service(recommendation=rec, actor=self.request.user, now=timezone.now(), **data)
        return ApiResponse(self._detail(rec.pk))

    @_transition_schema("Present a draft to the client", None, "recommendations_present")
    @action(detail=True, methods=["post"])
    def present(self, request: Request, pk: str) -> ApiResponse:
        """E-mails every active decision maker of the client and starts the response clock."""
        return self._act(pk, rec_services.recommendation_present)

    @extend_schema(
        summary="Record the client's answer, taken by staff",
        request=s.ResponseCreateSerializer,
        responses={201: s.ResponseSerializer, 202: ProposalSerializer},
        operation_id="recommendations_responses_create",
    )
    @action(detail=True, methods=["post"])
    def responses(self, request: Request, pk: str) -> ApiResponse:
        """Accept (needs `planned_for`), defer (`deferred_until` and a justification)
        or reject (a justification), heard in a meeting, on the phone or otherwise by
        staff. The calling user is recorded as the one who took it down. A change of
        mind is a new response; responses are never edited.

        The client's authority rules apply as on every channel: from a contact who may
        not decide this severity, or as the first of two approvals of a critical
        rejection, the answer becomes a proposal (202) routed to an authorised contact."""
        rec = recommendation_get_for(request.user, pk)
        data = _valid(s.ResponseCreateSerializer, request, request.data)
        # A refusal (AnswerRefused, a ServiceError) goes to the API's one error handler.
        result = staff_answer_record(
            recommendation=rec, recorded_by=request.user, now=timezone.now(), **data
        )
        if isinstance(result, Proposal):
            return ApiResponse(ProposalSerializer(result).data, status=status.HTTP_202_ACCEPTED)
        return ApiResponse(s.ResponseSerializer(result).data, status=status.HTTP_201_CREATED)

    @_transition_schema(
        "Start work on an accepted recommendation", s.NoteSerializer, "recommendations_start_work"
    )
    @action(detail=True, methods=["post"], url_path="start-work")
    def start_work(self, request: Request, pk: str) -> ApiResponse:
        return self._act(pk, rec_services.recommendation_start_work, s.NoteSerializer)

    @_transition_schema(
        "Mark as implemented", s.EvidenceNoteSerializer, "recommendations_mark_implemented"
    )
    @action(detail=True, methods=["post"], url_path="mark-implemented")
    def mark_implemented(self, request: Request, pk: str) -> ApiResponse:
        return self._act(pk, rec_services.recommendation_mark_implemented, s.EvidenceNoteSerializer)

    @_transition_schema(
        "Mark as verified by evidence", s.EvidenceNoteSerializer, "recommendations_mark_verified"
    )
    @action(detail=True, methods=["post"], url_path="mark-verified")
    def mark_verified(self, request: Request, pk: str) -> ApiResponse:
        return self._act(pk, rec_services.recommendation_mark_verified, s.EvidenceNoteSerializer)

    @_transition_schema("Withdraw, with a reason", s.WithdrawSerializer, "recommendations_withdraw")
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> ApiResponse:
        """Any status but verified and withdrawn may be withdrawn."""
        return self._act(pk, rec_services.recommendation_withdraw, s.WithdrawSerializer)

    @_transition_schema("Edit a draft", s.DraftEditSerializer, "recommendations_edit")
    @action(detail=True, methods=["post"])
    def edit(self, request: Request, pk: str) -> ApiResponse:
        """Change a draft's text or facts; fields left out keep their value. A
        presented recommendation keeps its text (409)."""
        return self._act(pk, rec_services.recommendation_edit, s.DraftEditSerializer)

    @_transition_schema("Change the follow-up owner", s.OwnerSetSerializer, "recommendations_owner")
    @action(detail=True, methods=["post"])
    def owner(self, request: Request, pk: str) -> ApiResponse:
        """A ledger event records the old and the new owner."""
        return self._act(pk, rec_services.recommendation_set_owner, s.OwnerSetSerializer)

    @_transition_schema(
        "Change the point of contact", s.ContactSetSerializer, "recommendations_contact"
    )
    @action(detail=True, methods=["post"])
    def contact(self, request: Request, pk: str) -> ApiResponse:
        """Only a contact of the recommendation's own client; a ledger event records
        the old and the new contact."""
        return self._act(pk, rec_services.recommendation_set_contact, s.ContactSetSerializer)


# --- ledger ----------------------------------------------------------------------


class LedgerEventList(generics.ListAPIView):
    """A client's hash chain, oldest event first. Each event's `hash` is
    sha256(`prev_hash` ‖ canonical JSON of the event); docs/ledger.md in the
    repository specifies the event body and how to verify a chain."""

    schema = ErrorDocumentingAutoSchema()
    serializer_class = s.LedgerEventSerializer
    pagination_class = CursorBySeqPagination
    queryset = Event.objects.none()
    validated_query_actions = ("list",)

    def get_queryset(self) -> QuerySet[Event]:
        client = client_get_for(self.request.user, self.kwargs["client_id"])
        filters = _valid(s.LedgerEventFilterSerializer, self.request, self.request.query_params)
        return event_list_for(
            self.request.user,
            client,
            recommendation_id=filters.get("recommendation"),
            kind=filters.get("kind"),
            newest_first=False,
        )

    @extend_schema(
        tags=["ledger"],
        operation_id="clients_ledger_events_list",
        parameters=[s.LedgerEventFilterSerializer],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        return super().get(request, *args, **kwargs)


class LedgerHead(generics.GenericAPIView):
    """The latest (seq, hash) of a client's chain: the value to compare with a head
    printed on a report or an e-mail. Before any event: 0 and 64 zeros."""

    schema = ErrorDocumentingAutoSchema()
    serializer_class = s.LedgerHeadSerializer
    queryset = Client.objects.none()

    @extend_schema(tags=["ledger"], operation_id="clients_ledger_head_retrieve")
    def get(self, request: Request, client_id: int) -> ApiResponse:
        client = client_get_for(request.user, client_id)
        head = head_for(client)
        return ApiResponse(
            s.LedgerHeadSerializer({"client": client.pk, "seq": head.seq, "hash": head.hash}).data
        )


# --- documentation ---------------------------------------------------------------


class SwaggerDocsView(SpectacularSwaggerView):
    """Swagger UI from the vendored sidecar files, started by a static script.

    drf-spectacular's own page starts Swagger UI with an inline script (or, in its
    split variant, a script served by this view); the site's Content-Security-Policy
    (script-src 'self', style-src 'self') is kept strict by loading only files under
    STATIC_URL. The page reads the schema URL and the CSRF token from data attributes.
    """

    template_name = "api/swagger_ui.html"
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        return ApiResponse(
            data={
                "title": self.title,
                "schema_url": self._get_schema_url(request),
                "swagger_ui_css": self._swagger_ui_resource("swagger-ui.css"),
                "swagger_ui_bundle": self._swagger_ui_resource("swagger-ui-bundle.js"),
                "favicon_href": self._swagger_ui_favicon(),
            },
            template_name=self.template_name,
        )
