"""Forms of the recommendation workflows: a template for many clients, editing a
draft, changing the follow-up owner or the point of contact.

As in ``web.forms``, they parse and type; the rules (what a draft may hold, whose
contact may be chosen) are the services', whose messages land on the fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from catalog.choices import Category, Severity
from clients.models import Client, Contact
from clients.selectors import client_list_for, contact_list_for
from recommendations.models import Recommendation
from web.forms import ActionForm, OwnerChoiceField, staff_owner_queryset


class ClientFilterForm(forms.Form):
    """Narrows the client checkboxes of the apply page (kept in the URL)."""

    q = forms.CharField(
        label=_("Filter clients"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name or industry")}),
    )

    def search(self) -> str:
        return (self.cleaned_data.get("q") or "").strip() if self.is_valid() else ""


class OwnerMode:
    ME = "me"
    ACCOUNT_OWNER = "account_owner"
    CHOSEN = "chosen"
    NOBODY = "nobody"

    CHOICES = [
        (ME, _("Me")),
        (ACCOUNT_OWNER, _("Each client's account owner")),
        (CHOSEN, _("This staff member:")),
        (NOBODY, _("Nobody yet")),
    ]


class ApplyTemplateForm(forms.Form):
    """One template version for the chosen clients (any client the user may see)."""

    clients = forms.ModelMultipleChoiceField(
        label=_("Clients"),
        queryset=Client.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one client.")},
    )
    owner_mode = forms.ChoiceField(
        label=_("Follow-up owner"),
        choices=OwnerMode.CHOICES,
        initial=OwnerMode.ME,
        widget=forms.RadioSelect,
    )
    owner = OwnerChoiceField(
        label=_("Staff member"), queryset=User.objects.none(), required=False, empty_label="—"
    )
    present = forms.BooleanField(
        label=_("Present at once"),
        required=False,
        help_text=_(
            "Each client's decision makers are e-mailed now and the response clock starts, "
            "with the due date of the client's follow-up policy. Leave it off to review "
            "the drafts first."
        ),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["clients"].queryset = client_list_for(user).order_by("name")
        self.fields["owner"].queryset = staff_owner_queryset()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("owner_mode") == OwnerMode.CHOSEN and not data.get("owner"):
            self.add_error("owner", _("Choose the staff member who owns the follow-up."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """Arguments for ``recommendations_apply_template`` (without version, actor, now)."""
        data = self.cleaned_data
        mode = data["owner_mode"]
        return {
            "clients": list(data["clients"]),
            "owner": {OwnerMode.ME: self.user, OwnerMode.CHOSEN: data.get("owner")}.get(mode),
            "owner_is_account_owner": mode == OwnerMode.ACCOUNT_OWNER,
            "present": data["present"],
        }


class DraftEditForm(forms.Form):
    """The text and the facts of a draft."""

    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        error_messages={"required": _("A recommendation needs a title.")},
    )
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": _("A recommendation needs a body.")},
    )
    risk_if_ignored = forms.CharField(
        label=_("Risk if ignored"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    category = forms.ChoiceField(
        label=_("Category"), choices=[("", "—"), *Category.choices], required=False
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

    @classmethod
    def initial_for(cls, rec: Recommendation) -> dict[str, Any]:
        return {
            "title": rec.title,
            "body": rec.body,
            "risk_if_ignored": rec.risk_if_ignored,
            "severity": rec.severity,
            "category": rec.category,
            "tags": ", ".join(rec.tags),
            "scope": rec.scope,
        }

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "body": data["body"],
            "risk_if_ignored": data.get("risk_if_ignored", ""),
            "severity": data["severity"],
            "category": data.get("category", ""),
            "tags": [t for t in (data.get("tags") or "").split(",") if t.strip()],
            "scope": data.get("scope", ""),
        }


class OwnerForm(ActionForm):
    """Who at the MSP follows the recommendation up."""

    slug = "owner"

    owner = OwnerChoiceField(
        label=_("Follow-up owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any account parses, so a disabled or read-only one gets the service's
        # message; only active staff who can act are offered.
        field = self.fields["owner"]
        field.queryset = User.objects.all()
        field.widget.choices = [
            ("", field.empty_label),
            *((u.pk, str(u)) for u in staff_owner_queryset()),
        ]
        field.initial = self.recommendation.owner_id


class ContactForm(ActionForm):
    """Who at the client is the point of contact."""

    slug = "contact"

    contact = forms.TypedChoiceField(
        label=_("Point of contact"), choices=(), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rec = self.recommendation
        field = self.fields["contact"]
        offered = contact_list_for(self.user, client=rec.client).filter(is_active=True)
        choices = [("", _("Nobody")), *((str(c.pk), c.name) for c in offered.order_by("name"))]
        field.choices = choices
        # The select offers this client's contacts; any id is accepted by the field
        # and looked up below, so that a contact of another client is refused by the
        # service with its own message.
        field.valid_value = lambda value: True  # type: ignore[method-assign]
        field.initial = rec.contact_id

    def clean_contact(self) -> Contact | None:
        pk = self.cleaned_data.get("contact")
        if pk is None:
            return None
        contact = contact_list_for(self.user).filter(pk=pk).first()
        if contact is None:
            raise ValidationError(_("Choose a contact of a client you can see."))
        return contact
