"""Forms of the administration pages. They type what the browser sends; the rules (who
may, what is valid, what is taken) are the services', whose errors
``add_service_error`` puts on the field they name."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from accounts.models import User
from accounts.permissions import WRITERS
from catalog.choices import Severity
from clients.choices import Language, QbrCadence
from clients.models import Client
from followup.models import WebhookKind


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj} · {obj.get_role_display()}"


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.TECHNICIAN)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class DeactivateForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. left the company")}),
    )


class AssignClientForm(forms.Form):
    """From a staff account's page: one more client for this person."""

    client = forms.ModelChoiceField(
        label=_("Client"), queryset=Client.objects.none(), empty_label=_("Choose a client")
    )

    def __init__(self, *args: Any, clients: QuerySet[Client], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["client"]).queryset = clients


def assignable_staff(client: Client) -> QuerySet[User]:
    """Active staff who can be assigned to ``client`` and are not yet."""
    return (
        User.objects.filter(is_active=True, role__in=WRITERS)
        .exclude(assigned_clients=client)
        .order_by("role", "username")
    )


class AssignStaffForm(forms.Form):
    """From a client's settings page: one more staff member for this client."""

    user = StaffChoiceField(
        label=_("Staff member"), queryset=User.objects.none(), empty_label=_("Choose someone")
    )

    def __init__(self, *args: Any, client: Client, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["user"]).queryset = assignable_staff(client)


class SetPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("The same password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


def _owner_queryset() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role__in=[Role.ADMIN, Role.ACCOUNT_MANAGER])


class ClientForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    regulated = forms.BooleanField(label=_("Regulated sector (health, finance…)"), required=False)
    account_owner = StaffChoiceField(
        label=_("Account owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody"),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=Language.choices,
        help_text=_("What the client's contacts read: e-mails, answer pages, reports."),
    )
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        initial="Europe/Rome",
        help_text=_("Deadlines fall at midnight in this zone, e.g. Europe/Rome."),
    )
    qbr_cadence_months = forms.TypedChoiceField(
        label=_("Business reviews"),
        choices=QbrCadence.choices,
        coerce=int,
        initial=QbrCadence.QUARTERLY,
    )
    psa_company_id = forms.IntegerField(
        label=_("PSA company ID"),
        required=False,
        min_value=1,
        max_value=2_147_483_647,
        help_text=_(
            "The client's company in Autotask (CompanyID): its tickets are opened there. "
            "Empty: the default company of this installation."
        ),
    )
    domains = forms.CharField(
        label=_("E-mail domains"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line or separated by commas. Replies from these domains can speak "
            "for the client."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["account_owner"]).queryset = _owner_queryset()

    def domain_list(self) -> list[str]:
        raw = self.cleaned_data.get("domains") or ""
        return [d for d in raw.replace(",", "\n").splitlines() if d.strip()]

    def settings(self) -> dict[str, Any]:
        """The client fields, as ``client_create`` and ``client_update`` take them."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "industry": data["industry"],
            "regulated": data["regulated"],
            "account_owner": data["account_owner"],
            "language": data["language"],
            "time_zone": data["time_zone"].strip(),
            "qbr_cadence_months": data["qbr_cadence_months"],
            "psa_company_id": data["psa_company_id"],
        }


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("E-mail address"))
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("The client's language")), *Language.choices],
        required=False,
    )
    is_decision_maker = forms.BooleanField(
        label=_("Decision maker: may accept, defer or reject recommendations"), required=False
    )
    is_escalation_contact = forms.BooleanField(
        label=_("Escalation contact: told when answers are overdue"), required=False
    )


class PolicyForm(forms.Form):
    """A client's contract tier. The ranges are the service's (``POLICY_FIELDS``)."""

    tier = forms.CharField(label=_("Contract tier"), max_length=60)
    critical_days = forms.IntegerField(label=_("Days to answer a critical item"), required=False)
    high_days = forms.IntegerField(label=_("Days to answer a high item"), required=False)
    medium_days = forms.IntegerField(label=_("Days to answer a medium item"), required=False)
    low_days = forms.IntegerField(label=_("Days to answer a low item"), required=False)
    business_days = forms.BooleanField(label=_("Count business days only"), required=False)
    reminders = forms.BooleanField(label=_("Send reminders"), required=False, initial=True)
    level2_after_days = forms.IntegerField(label=_("Second escalation after (days)"))
    level3_after_days = forms.IntegerField(label=_("Third escalation after (days)"))
    max_deferrals = forms.IntegerField(label=_("Deferrals allowed"))
    rejection_review_months = forms.IntegerField(label=_("Review rejections after (months)"))
    review_at_next_qbr = forms.BooleanField(
        label=_("Review rejections at the next business review"), required=False
    )
    # Quiet settings: notices about these severities reach the client once a week.
    weekly_severities = forms.MultipleChoiceField(
        label=_("Tell the client about these severities once a week only"),
        choices=Severity.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    weekly_weekday = forms.TypedChoiceField(
        label=_("Day of the weekly notice"),
        choices=[
            (0, _("Monday")),
            (1, _("Tuesday")),
            (2, _("Wednesday")),
            (3, _("Thursday")),
            (4, _("Friday")),
            (5, _("Saturday")),
            (6, _("Sunday")),
        ],
        coerce=int,
        initial=0,
    )

    def fields_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("tier")
        return data


class WebhookForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.CharField(label=_("URL"), max_length=500, widget=forms.URLInput())
    kind = forms.ChoiceField(label=_("Kind"), choices=WebhookKind.choices)
    event_types = forms.CharField(
        label=_("Event types (standard webhooks)"),
        required=False,
        max_length=1000,
        help_text=_("Comma-separated, e.g. recommendation.accept; empty for every event."),
    )

    def event_list(self) -> list[str]:
        raw = self.cleaned_data.get("event_types") or ""
        return [e.strip() for e in raw.split(",") if e.strip()]
