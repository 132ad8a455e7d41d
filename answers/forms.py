from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from recommendations.choices import Channel, Decision


class DecisionForm(forms.Form):
    """One decision. Which fields a decision needs is checked by the service, so the
    page and the API refuse with the same messages."""

    decision = forms.ChoiceField(
        label=_("Decision"), choices=Decision.choices, required=False, widget=forms.RadioSelect
    )
    planned_for = forms.DateField(
        label=_("Planned for"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    deferred_until = forms.DateField(
        label=_("Deferred until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    justification = forms.CharField(
        label=_("Justification"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SignatureForm(forms.Form):
    typed_name = forms.CharField(required=False, max_length=200, label=_("Your full name"))
    consent = forms.BooleanField(label=_("Consent"), required=False)


class PortalSignInForm(forms.Form):
    email = forms.EmailField(label=_("Your e-mail address"))


class MeetingForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[(Channel.MEETING, Channel.MEETING.label), (Channel.PHONE, Channel.PHONE.label)],
    )
    held_on = forms.DateField(label=_("Held on"), widget=forms.DateInput(attrs={"type": "date"}))
    attendees = forms.CharField(
        label=_("Attendees"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    decided_by = forms.CharField(max_length=200, label=_("Decided by (name at the client)"))
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )
