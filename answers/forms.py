from __future__ import annotations

from django import forms

from recommendations.choices import Channel, Decision


class DecisionForm(forms.Form):
    """One decision. Which fields a decision needs is checked by the service, so the
    page and the API refuse with the same messages."""

    decision = forms.ChoiceField(choices=Decision.choices, required=False, widget=forms.RadioSelect)
    planned_for = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    deferred_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    justification = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class SignatureForm(forms.Form):
    typed_name = forms.CharField(required=False, max_length=200, label="Your full name")
    consent = forms.BooleanField(required=False)


class PortalSignInForm(forms.Form):
    email = forms.EmailField(label="Your e-mail address")


class MeetingForm(forms.Form):
    channel = forms.ChoiceField(
        choices=[(Channel.MEETING, Channel.MEETING.label), (Channel.PHONE, Channel.PHONE.label)]
    )
    held_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    attendees = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    decided_by = forms.CharField(max_length=200, label="Decided by (name at the client)")
    notes = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )
