"""What the API reads and writes.

Output serializers describe rows; input serializers only check the *shape* of a request
(types, lengths, choices, ids the user may see) and hand plain values to a service,
which owns every business rule and its error message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from accounts.models import User
from api.v1.ids import IdField, StrictIdMixin, id_integer_field
from catalog.choices import Category, FieldType, Framework, Severity
from catalog.models import Template, TemplateVersion
from clients.choices import Language, QbrCadence
from clients.models import Client, Contact
from clients.selectors import client_list_for, contact_list_for
from ledger.models import Event
from recommendations.choices import STAFF_CHANNELS, Channel, Decision, Status
from recommendations.models import Recommendation, Response

# --- fields ----------------------------------------------------------------------


class ScopedPrimaryKeyRelatedField(StrictIdMixin, serializers.PrimaryKeyRelatedField):
    """An id of a row the acting user may see. A row outside their scope reads as
    "does not exist", exactly like a missing one, so ids reveal nothing."""

    def __init__(self, *, scope: Callable[[User], QuerySet], model: type[Model], **kwargs: Any):
        self.scope = scope
        noun = model._meta.verbose_name
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("does_not_exist", f"No such {noun} (id {{pk_value}}).")
        # The queryset is only read by the schema generator (to type the id); values
        # are looked up in get_queryset, through the selector.
        super().__init__(queryset=model._default_manager.none(), **kwargs)

    def get_queryset(self) -> QuerySet:
        return self.scope(self.context["request"].user)


class CommaSeparatedListField(serializers.ListField):
    """A query parameter given repeated (``?status=a&status=b``) or comma-separated
    (``?status=a,b``)."""

    def get_value(self, dictionary: Mapping[str, Any]) -> Any:
        if self.field_name not in dictionary:
            return empty
        raw = (
            dictionary.getlist(self.field_name)
            if hasattr(dictionary, "getlist")
            else [dictionary[self.field_name]]
        )
        return [part.strip() for value in raw for part in str(value).split(",") if part.strip()]


@extend_schema_field(
    serializers.ChoiceField(choices=Severity.choices), component_name="SeverityEnum"
)
class SeverityField(serializers.ChoiceField):
    """A severity. One ``SeverityEnum`` in the schema for a recommendation's ``severity``
    and a template's ``default_severity`` (otherwise two enums with the same values)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Severity.choices, **kwargs)


class QueryParamsSerializer(serializers.Serializer):
    """Filters read from the query string. A parameter given empty (``?status=``) is
    refused, not read as absent: the schema documents no empty value."""

    def to_internal_value(self, data: Any) -> Any:
        blank = {
            name: ["This field may not be blank."]
            for name in self.fields
            if hasattr(data, "getlist") and "" in data.getlist(name)
        }
        if blank:
            raise serializers.ValidationError(blank, code="blank")
        return super().to_internal_value(data)


def _choices(enum: Any, only: frozenset | None = None) -> list[tuple[str, str]]:
    return [(c.value, c.label) for c in enum if only is None or c in only]


# --- small references ------------------------------------------------------------


class UserRefSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, user: User) -> str:
        return str(user)


class ClientRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Client
        fields = ["id", "name"]


class ContactRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "email"]


class ControlRefSerializer(serializers.Serializer):
    framework = serializers.ChoiceField(choices=Framework.choices)
    id = serializers.CharField(max_length=40, help_text='e.g. "6.4" or "PR.AA-03"')


class CustomFieldSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=40, help_text="Lower-case letters, digits and _.")
    label = serializers.CharField(max_length=100, required=False, allow_blank=True)
    type = serializers.ChoiceField(choices=FieldType.choices)
    required = serializers.BooleanField(required=False, default=False)
    choices = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )


# --- clients and contacts --------------------------------------------------------


class ClientSerializer(serializers.ModelSerializer):
    account_owner = UserRefSerializer(allow_null=True)
    domains = serializers.SlugRelatedField(slug_field="domain", many=True, read_only=True)

    class Meta:
        model = Client
        fields = [
            "id",
            "uuid",
            "name",
            "slug",
            "industry",
            "regulated",
            "account_owner",
            "domains",
            "qbr_cadence_months",
            "time_zone",
            "language",
            "psa_company_id",
            "created_at",
        ]
        read_only_fields = fields


class ClientCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    domains = serializers.ListField(
        child=serializers.CharField(max_length=253),
        required=False,
        help_text="E-mail domains that speak for the client, e.g. acme.example.",
    )
    slug = serializers.SlugField(max_length=80, required=False, allow_blank=True)
    industry = serializers.CharField(max_length=100, required=False, allow_blank=True)
    regulated = serializers.BooleanField(required=False)
    account_owner = IdField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    qbr_cadence_months = serializers.ChoiceField(choices=QbrCadence.choices, required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    language = serializers.ChoiceField(choices=Language.choices, required=False)
    psa_company_id = serializers.IntegerField(
        min_value=1,
        max_value=2_147_483_647,
        required=False,
        allow_null=True,
        help_text="The client's company in Autotask (CompanyID); empty: the default one.",
    )


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "client",
            "name",
            "email",
            "phone",
            "job_title",
            "is_decision_maker",
            "is_escalation_contact",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class ContactCreateSerializer(serializers.Serializer):
    client = ScopedPrimaryKeyRelatedField(scope=client_list_for, model=Client)
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    job_title = serializers.CharField(max_length=120, required=False, allow_blank=True)
    is_decision_maker = serializers.BooleanField(required=False)
    is_escalation_contact = serializers.BooleanField(required=False)


class ContactFilterSerializer(QueryParamsSerializer):
    client = id_integer_field(required=False, help_text="Only the contacts of this client.")


# --- catalog ---------------------------------------------------------------------


class TemplateVersionSerializer(serializers.ModelSerializer):
    control_refs = ControlRefSerializer(many=True)
    custom_fields = CustomFieldSerializer(many=True)
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=Language.choices),
        read_only=True,
        help_text="The languages a client can be shown this version in; English always. "
        "A client in another language is shown the English text.",
    )

    class Meta:
        model = TemplateVersion
        fields = [
            "id",
            "number",
            "title",
            "body",
            "risk_if_ignored",
            "title_it",
            "body_it",
            "risk_if_ignored_it",
            "languages",
            "control_refs",
            "verification_rule",
            "custom_fields",
            "created_at",
        ]
        read_only_fields = fields


class TemplateVersionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateVersion
        fields = ["id", "number", "title"]
        read_only_fields = fields


class TemplateSerializer(serializers.ModelSerializer):
    default_severity = SeverityField(read_only=True)
    tags = serializers.ListField(child=serializers.CharField())
    latest_version = serializers.SerializerMethodField(
        help_text="The version a new recommendation is made from."
    )

    class Meta:
        model = Template
        fields = [
            "id",
            "key",
            "category",
            "default_severity",
            "tags",
            "is_active",
            "created_at",
            "latest_version",
        ]
        read_only_fields = fields

    @extend_schema_field(TemplateVersionRefSerializer)
    def get_latest_version(self, template: Template) -> dict[str, Any] | None:
        # ``versions`` is prefetched newest first (see the view), so this is no query.
        versions = list(template.versions.all())
        return TemplateVersionRefSerializer(versions[0]).data if versions else None


class TemplateDetailSerializer(TemplateSerializer):
    versions = TemplateVersionSerializer(many=True, read_only=True, help_text="Newest first.")

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "versions"]
        read_only_fields = fields


class TemplateCreateSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=80, help_text="A stable name, e.g. mfa-remote-access.")
    title = serializers.CharField(max_length=200)
    body = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices)
    default_severity = SeverityField()
    risk_if_ignored = serializers.CharField(required=False, allow_blank=True)
    title_it = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The title in Italian; with body_it (and risk_if_ignored_it when there "
        "is a risk) an Italian client reads the Italian text.",
    )
    body_it = serializers.CharField(required=False, allow_blank=True)
    risk_if_ignored_it = serializers.CharField(required=False, allow_blank=True)
    control_refs = ControlRefSerializer(many=True, required=False)
    verification_rule = serializers.CharField(required=False, allow_blank=True)
    custom_fields = CustomFieldSerializer(many=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)


# --- recommendations -------------------------------------------------------------


class ResponseSerializer(serializers.ModelSerializer):
    responder = ContactRefSerializer(allow_null=True)
    recorded_by = UserRefSerializer(allow_null=True)

    class Meta:
        model = Response
        fields = [
            "id",
            "decision",
            "justification",
            "planned_for",
            "deferred_until",
            "responder",
            "responder_name",
            "channel",
            "recorded_by",
            "attendees",
            "shown_text_sha256",
            "evidence_ref",
            "recorded_at",
            "ledger_seq",
        ]
        read_only_fields = fields


class RecommendationSerializer(serializers.ModelSerializer):
    """A recommendation as lists show it."""

    client = ClientRefSerializer()
    owner = UserRefSerializer(allow_null=True)
    contact = ContactRefSerializer(allow_null=True)
    severity = SeverityField(read_only=True)
    tags = serializers.ListField(child=serializers.CharField())
    overdue = serializers.SerializerMethodField(
        help_text="Awaiting a response past its due time, or accepted and past its planned "
        "date in the client's time zone."
    )

    class Meta:
        model = Recommendation
        fields = [
            "id",
            "client",
            "title",
            "severity",
            "status",
            "category",
            "tags",
            "owner",
            "contact",
            "template_version",
            "external_id",
            "overdue",
            "created_at",
            "presented_at",
            "response_due_at",
            "decided_at",
            "planned_for",
            "deferred_until",
            "next_action_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_overdue(self, rec: Recommendation) -> bool:
        return rec.is_overdue(self.context["now"])


class RecommendationDetailSerializer(RecommendationSerializer):
    """A recommendation with its text, its dates and every response, oldest first."""

    control_refs = ControlRefSerializer(many=True)
    custom_fields = CustomFieldSerializer(many=True)
    field_values = serializers.DictField(help_text="Custom field values by key.")
    responses = serializers.SerializerMethodField()

    class Meta(RecommendationSerializer.Meta):
        fields = [
            *RecommendationSerializer.Meta.fields,
            "body",
            "risk_if_ignored",
            "language",
            "text_sha256",
            "control_refs",
            "verification_rule",
            "custom_fields",
            "field_values",
            "scope",
            "deferral_count",
            "review_at",
            "work_started_at",
            "implemented_at",
            "verified_at",
            "closed_at",
            "close_reason",
            "responses",
        ]
        read_only_fields = fields

    @extend_schema_field(ResponseSerializer(many=True))
    def get_responses(self, rec: Recommendation) -> list[dict[str, Any]]:
        return ResponseSerializer(self.context["responses"], many=True).data


class RecommendationFilterSerializer(QueryParamsSerializer):
    status = CommaSeparatedListField(
        child=serializers.ChoiceField(choices=Status.choices),
        required=False,
        help_text="One or more statuses, repeated or comma-separated.",
    )
    severity = CommaSeparatedListField(
        child=SeverityField(),
        required=False,
        help_text="One or more severities, repeated or comma-separated.",
    )
    client = id_integer_field(required=False, help_text="A client id.")
    owner = id_integer_field(required=False, help_text="The follow-up owner's user id.")
    tag = serializers.CharField(
        min_length=1, max_length=50, trim_whitespace=False, required=False, help_text="One tag."
    )
    overdue = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only overdue items; false: only items that are not overdue.",
    )

    def selector_kwargs(self) -> dict[str, Any]:
        """The validated filters as ``recommendation_list_for`` keywords (but overdue)."""
        data = self.validated_data
        return {
            "status": data.get("status"),
            "severity": data.get("severity"),
            "client_id": data.get("client"),
            "owner_id": data.get("owner"),
            "tag": data.get("tag"),
        }


class RecommendationCreateSerializer(serializers.Serializer):
    client = ScopedPrimaryKeyRelatedField(scope=client_list_for, model=Client)
    template_version = IdField(
        queryset=TemplateVersion.objects.filter(template__is_active=True).select_related(
            "template"
        ),
        required=False,
        allow_null=True,
        help_text="Make it from this catalog version (its text is copied); "
        "the fields below override the template's values.",
    )
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True)
    risk_if_ignored = serializers.CharField(required=False, allow_blank=True)
    language = serializers.ChoiceField(
        choices=Language.choices,
        required=False,
        allow_blank=True,
        help_text="The language of the text; defaults to the client's. From a template, "
        "the version's text in this language is copied, or its English text when it has "
        "no translation (the recommendation's language then says en).",
    )
    severity = SeverityField(
        required=False, allow_blank=True, help_text="Defaults to the template's severity."
    )
    category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True)
    control_refs = ControlRefSerializer(many=True, required=False)
    custom_fields = CustomFieldSerializer(many=True, required=False)
    field_values = serializers.DictField(required=False, help_text="Custom field values by key.")
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    owner = IdField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="The follow-up owner at the MSP (a user id).",
    )
    contact = ScopedPrimaryKeyRelatedField(
        scope=contact_list_for,
        model=Contact,
        required=False,
        allow_null=True,
        help_text="The point of contact at the client.",
    )
    scope = serializers.CharField(required=False, allow_blank=True)
    external_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Your own id for it (a PSA ticket, a row of your tracker); unique per client.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The database enforces this too; checking first turns a conflict into a
        # field error instead of a server error.
        external_id = attrs.get("external_id", "").strip()
        if (
            external_id
            and Recommendation.objects.filter(
                client=attrs["client"], external_id=external_id
            ).exists()
        ):
            raise serializers.ValidationError(
                {"external_id": "This client already has a recommendation with that id."},
                code="unique",
            )
        return attrs


class ResponseCreateSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    channel = serializers.ChoiceField(
        choices=_choices(Channel, STAFF_CHANNELS),
        help_text="How the answer reached staff. Other channels (signed links, the portal, "
        "e-mail) record their own answers.",
    )
    responder = ScopedPrimaryKeyRelatedField(
        scope=contact_list_for,
        model=Contact,
        required=False,
        allow_null=True,
        help_text="The contact who answered.",
    )
    responder_name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Who answered, when they are not a contact (defaults to the contact's name).",
    )
    justification = serializers.CharField(
        required=False, allow_blank=True, help_text="Required to defer or reject."
    )
    planned_for = serializers.DateField(
        required=False, allow_null=True, help_text="Required to accept: the planned date."
    )
    deferred_until = serializers.DateField(
        required=False, allow_null=True, help_text="Required to defer: the date to ask again."
    )
    attendees = serializers.CharField(
        required=False, allow_blank=True, help_text="Required for a meeting."
    )
    evidence_ref = serializers.CharField(max_length=200, required=False, allow_blank=True)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True)


class EvidenceNoteSerializer(NoteSerializer):
    evidence_ref = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Where the evidence is (a ticket, a report, a file name).",
    )


class DraftEditSerializer(serializers.Serializer):
    """The fields of a draft to change; a field left out keeps its value."""

    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True)
    risk_if_ignored = serializers.CharField(required=False, allow_blank=True)
    # Checked by the service, so a bad value gets the same message as on the page.
    severity = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    scope = serializers.CharField(required=False, allow_blank=True)


class OwnerSetSerializer(serializers.Serializer):
    # Any account parses, so a disabled or read-only one gets the service's message.
    owner = IdField(
        queryset=User.objects.all(),
        allow_null=True,
        help_text="The new follow-up owner (a user id), or null for nobody.",
    )


class ContactSetSerializer(serializers.Serializer):
    contact = ScopedPrimaryKeyRelatedField(
        scope=contact_list_for,
        model=Contact,
        allow_null=True,
        help_text="The new point of contact, an active contact of the recommendation's "
        "client, or null for nobody.",
    )


class WithdrawSerializer(serializers.Serializer):
    # Optional here so that a missing reason gets the lifecycle's own message.
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required: why it is withdrawn."
    )


# --- ledger ----------------------------------------------------------------------


class LedgerEventSerializer(serializers.ModelSerializer):
    data = serializers.DictField(help_text="What happened, as hashed.")

    class Meta:
        model = Event
        fields = ["seq", "kind", "at", "actor", "recommendation", "data", "prev_hash", "hash"]
        read_only_fields = fields


class LedgerEventFilterSerializer(QueryParamsSerializer):
    recommendation = id_integer_field(
        required=False, help_text="Only the events of this recommendation."
    )
    kind = serializers.CharField(
        min_length=1,
        max_length=60,
        trim_whitespace=False,
        required=False,
        help_text="Only events of this kind, e.g. client.created.",
    )


class LedgerHeadSerializer(serializers.Serializer):
    client = serializers.IntegerField(help_text="The client's id.")
    seq = serializers.IntegerField(help_text="The number of events in the chain.")
    hash = serializers.CharField(help_text="The hash of the latest event (hex).")
