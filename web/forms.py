"""Forms of the staff UI.

They parse and type what the browser sends; the rules of the domain (what a decision
needs, which transition is allowed) live in the services, whose typed errors
``add_service_error`` places on the field they name. That keeps one wording for every
rule, the same in the UI, the API and the CLI.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.permissions import WRITERS
from catalog.choices import Category, FieldType, Severity
from catalog.models import TemplateVersion
from clients.models import Client, Contact
from clients.selectors import client_list_for, contact_list_for
from followup.choices import OutboxStatus

# The one form helper lives in lib, where every app's pages can reach it.
from lib.errors import add_service_error as add_service_error
from lib.languages import Language
from recommendations.choices import Channel, Decision, Status
from recommendations.models import Recommendation

StrOrPromise = str | Promise

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def staff_owner_queryset():
    """Accounts that may own a follow-up: active staff who can change things."""
    return User.objects.filter(is_active=True, role__in=WRITERS).order_by("username")


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj)


# --- list filters ------------------------------------------------------------------


def _blank(label: StrOrPromise, choices) -> list[tuple[str, StrOrPromise]]:
    return [("", label), *choices]


class RecommendationFilterForm(forms.Form):
    """The filters of the recommendations list; every one is optional."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Title or client")}),
    )
    client = forms.ModelChoiceField(
        label=_("Client"),
        queryset=Client.objects.none(),
        required=False,
        empty_label=_("All clients"),
    )
    # Several statuses at once ("accepted, not applied" is accepted or in progress),
    # each its own ``status=`` parameter of the URL.
    status = forms.MultipleChoiceField(
        label=_("Status"),
        choices=Status.choices,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text=_("None chosen: any status."),
    )
    severity = forms.ChoiceField(
        label=_("Severity"), choices=_blank(_("Any severity"), Severity.choices), required=False
    )
    owner = OwnerChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Any owner")
    )
    tag = forms.CharField(
        label=_("Tag"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. mfa")}),
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = client_list_for(user)
        self.fields["owner"].queryset = staff_owner_queryset()

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``recommendation_list_for`` from the valid filters.

        An invalid filter (an unknown client id, say) is dropped and reported by the
        form, so the list still shows instead of failing.
        """
        data: dict[str, Any] = {}
        if self.is_bound:
            self.is_valid()
            data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        client = data.get("client")
        owner = data.get("owner")
        return {
            "client_id": client.pk if client else None,
            "status": data.get("status") or None,
            "severity": data.get("severity") or None,
            "owner_id": owner.pk if owner else None,
            "tag": (data.get("tag") or "").strip() or None,
            "search": (data.get("q") or "").strip() or None,
            "overdue": bool(data.get("overdue")),
        }


class TemplatePickForm(forms.Form):
    """Narrows the catalog on the first step of a new recommendation."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Title, key or tag")}),
    )
    category = forms.ChoiceField(
        label=_("Category"), choices=_blank(_("Any category"), Category.choices), required=False
    )

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        return {k: v.strip() for k, v in self.cleaned_data.items() if v and v.strip()}


class OutboxFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Client or message key")}),
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=_blank(_("Any status"), OutboxStatus.choices), required=False
    )


# --- creating a recommendation ----------------------------------------------------------


def _contact_choices(contacts) -> list:
    """Contacts grouped by client, so the choice reads 'Acme Dental / Alice Rossi'."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for contact in contacts:
        label = contact.name + (
            " " + str(_("(decision maker)")) if contact.is_decision_maker else ""
        )
        groups.setdefault(contact.client.name, []).append((str(contact.pk), label))
    return [("", _("No point of contact")), *groups.items()]


def custom_field(definition: dict[str, Any]) -> forms.Field:
    """A typed form field for one custom field definition of a template version."""
    kind = definition["type"]
    options: dict[str, Any] = {"label": definition["label"], "required": False}
    if definition.get("required"):
        options["help_text"] = _("Required.")
    if kind == FieldType.NUMBER:
        return forms.DecimalField(**options)
    if kind == FieldType.DATE:
        return forms.DateField(widget=DATE_INPUT, **options)
    if kind == FieldType.CHOICE:
        return forms.ChoiceField(
            choices=_blank("—", [(c, c) for c in definition["choices"]]), **options
        )
    if kind == FieldType.BOOLEAN:
        return forms.TypedChoiceField(
            choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))],
            coerce=lambda value: value == "yes",
            empty_value=None,
            **options,
        )
    return forms.CharField(max_length=500, **options)


class RecommendationCreateForm(forms.Form):
    """A draft recommendation, from a template version or ad hoc.

    Custom fields of the template version appear as ``cf_<key>`` fields of their type.
    """

    template_version = forms.ModelChoiceField(
        queryset=TemplateVersion.objects.none(), required=False, widget=forms.HiddenInput
    )
    client = forms.ModelChoiceField(
        label=_("Client"), queryset=Client.objects.none(), empty_label=_("Choose a client")
    )
    owner = OwnerChoiceField(
        label=_("Follow-up owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody yet"),
    )
    contact = forms.TypedChoiceField(
        label=_("Point of contact"), choices=(), required=False, coerce=int, empty_value=None
    )
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        error_messages={"required": _("A recommendation needs a title.")},
    )
    body = forms.CharField(
        label=_("Body"),
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("A recommendation needs a body.")},
    )
    risk_if_ignored = forms.CharField(
        label=_("Risk if ignored"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    language = forms.ChoiceField(
        label=_("Language of the text"),
        choices=_blank(_("The client's language"), Language.choices),
        required=False,
        help_text=_("The client is shown the text as written here, in this language."),
    )
    severity = forms.ChoiceField(
        label=_("Severity"), choices=_blank(_("Choose a severity"), Severity.choices)
    )
    category = forms.ChoiceField(
        label=_("Category"), choices=_blank("—", Category.choices), required=False
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=300,
        help_text=_("Separate tags with commas, e.g. mfa, vpn."),
    )
    scope = forms.CharField(
        label=_("Scope"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Devices or sites this applies to."),
    )

    def __init__(
        self,
        *args: Any,
        user: User,
        version: TemplateVersion | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.version = version
        self.fields["client"].queryset = client_list_for(user)
        self.fields["owner"].queryset = staff_owner_queryset()
        self.contacts = {
            c.pk: c
            for c in contact_list_for(user).filter(is_active=True).order_by("client", "name")
        }
        self.fields["contact"].choices = _contact_choices(self.contacts.values())
        if version is not None:
            self.fields["template_version"].queryset = TemplateVersion.objects.filter(pk=version.pk)
            self.fields["template_version"].initial = version.pk
        self.custom_definitions = list(version.custom_fields) if version else []
        for definition in self.custom_definitions:
            self.fields[f"cf_{definition['key']}"] = custom_field(definition)

    @property
    def custom_field_names(self) -> list[str]:
        return [f"cf_{d['key']}" for d in self.custom_definitions]

    def bound_custom_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.custom_field_names]

    def clean_contact(self) -> Contact | None:
        pk = self.cleaned_data.get("contact")
        if pk is None:
            return None
        try:
            return self.contacts[pk]
        except KeyError:
            raise ValidationError(_("Choose a contact of a client you can see.")) from None

    def service_kwargs(self) -> dict[str, Any]:
        """Arguments for ``recommendation_create`` (without actor and now)."""
        data = self.cleaned_data
        values: dict[str, Any] = {}
        for definition in self.custom_definitions:
            value = data.get(f"cf_{definition['key']}")
            if value is None or value == "":
                continue
            values[definition["key"]] = str(value) if definition["type"] == "number" else value
        return {
            "client": data["client"],
            "template_version": data.get("template_version"),
            "owner": data.get("owner"),
            "contact": data.get("contact"),
            "title": data["title"],
            "body": data["body"],
            "risk_if_ignored": data.get("risk_if_ignored", ""),
            "language": data.get("language", ""),
            "severity": data["severity"],
            "category": data.get("category", ""),
            "tags": [t for t in (data.get("tags") or "").split(",") if t.strip()],
            "scope": data.get("scope", ""),
            "field_values": values,
        }

    def field_map(self) -> dict[str, str]:
        """Service error keys (``field_values.<key>``) to the form's ``cf_<key>`` fields."""
        return {f"field_values.{d['key']}": f"cf_{d['key']}" for d in self.custom_definitions}


# --- actions on one recommendation ------------------------------------------------------


class ActionForm(forms.Form):
    """Base of the forms on the recommendation page; each knows its recommendation."""

    def __init__(
        self, *args: Any, recommendation: Recommendation, user: User, **kwargs: Any
    ) -> None:
        kwargs.setdefault("auto_id", f"id_{self.slug}_%s")
        super().__init__(*args, **kwargs)
        self.recommendation = recommendation
        self.user = user

    slug = "action"


class PresentForm(ActionForm):
    slug = "present"


class ResponseForm(ActionForm):
    """A decision taken by the client and recorded by staff (meeting, phone, ...)."""

    slug = "respond"

    decision = forms.ChoiceField(
        label=_("Decision"), choices=Decision.choices, widget=forms.RadioSelect
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[(c.value, c.label) for c in (Channel.MEETING, Channel.PHONE, Channel.STAFF)],
        initial=Channel.MEETING,
    )
    responder = forms.ModelChoiceField(
        label=_("Who answered"),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=_("Someone else (type the name below)"),
    )
    responder_name = forms.CharField(
        label=_("Name of who answered"),
        required=False,
        max_length=200,
        help_text=_("Only if they are not a listed contact."),
    )
    planned_for = forms.DateField(
        label=_("Planned implementation date"), required=False, widget=DATE_INPUT
    )
    deferred_until = forms.DateField(label=_("Deferred until"), required=False, widget=DATE_INPUT)
    justification = forms.CharField(
        label=_("Justification"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Required to defer or reject."),
    )
    attendees = forms.CharField(
        label=_("Attendees"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Required for a meeting."),
    )
    shown_text_sha256 = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args: Any, allowed: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rec = self.recommendation
        # Any visible contact parses, so that one of another client gets the lifecycle's
        # own message; only this client's active contacts are offered.
        responder = self.fields["responder"]
        responder.queryset = contact_list_for(self.user)
        responder.widget.choices = [
            ("", responder.empty_label),
            *(
                (c.pk, c.name)
                for c in contact_list_for(self.user, client=rec.client).filter(is_active=True)
            ),
        ]
        self.fields["shown_text_sha256"].initial = rec.text_sha256
        if rec.contact_id:
            self.fields["responder"].initial = rec.contact_id
        # Likewise any decision parses; only the ones allowed now are offered.
        if allowed is not None:
            self.fields["decision"].widget.choices = [
                (value, label) for value, label in Decision.choices if value in allowed
            ]


class StartWorkForm(ActionForm):
    slug = "start-work"

    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class EvidenceForm(ActionForm):
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    evidence_ref = forms.CharField(
        label=_("Evidence reference"),
        required=False,
        max_length=200,
        help_text=_("A ticket, a report or a file name that shows it."),
    )


class MarkImplementedForm(EvidenceForm):
    slug = "mark-implemented"


class MarkVerifiedForm(EvidenceForm):
    slug = "mark-verified"


class WithdrawForm(ActionForm):
    slug = "withdraw"

    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
