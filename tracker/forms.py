"""Forms of the tracker pages: they type what the browser sends; the import rules
live in ``tracker.services``."""

from __future__ import annotations

from django import forms

from accounts.models import User
from clients.selectors import client_list_for
from tracker.export import FORMATS

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Tracker sheet", help_text="CSV or XLSX, with English or Italian headers."
    )
    sheet = forms.CharField(
        label="Sheet", required=False, max_length=100, help_text="Default: the first sheet."
    )
    skip_invalid = forms.BooleanField(
        label="Import the valid rows even if some are refused", required=False
    )
    create_missing = forms.BooleanField(
        label="Add clients and follow-up owners the sheet names but Heeded does not know",
        required=False,
    )

    def clean_file(self):  # type: ignore[no-untyped-def]
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                "The file is larger than 20 MB; split it and import each part."
            )
        return upload


class ConfirmForm(forms.Form):
    token = forms.RegexField(regex=r"^[0-9a-f]{64}$")
    filename = forms.CharField(max_length=255)
    sheet = forms.CharField(required=False, max_length=100)
    skip_invalid = forms.BooleanField(required=False)
    create_missing = forms.BooleanField(required=False)


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[(f, f.upper()) for f in FORMATS], initial="xlsx")
    language = forms.ChoiceField(
        choices=[("en", "English"), ("it", "Italiano")], initial="en", label="Headers in"
    )
    client = forms.ModelChoiceField(queryset=None, required=False, empty_label="All clients")

    def __init__(self, *args, user: User, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = client_list_for(user).order_by("name")
