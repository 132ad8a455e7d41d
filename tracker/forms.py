"""Forms of the tracker pages: they type what the browser sends; the import rules
live in ``tracker.services``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from clients.selectors import client_list_for
from tracker.columns import HEADERS, Column, parse_mappings
from tracker.export import FORMATS
from tracker.layout import Mapping

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Tracker sheet"), help_text=_("CSV or XLSX, with English or Italian headers.")
    )
    sheet = forms.CharField(
        label=_("Sheet"), required=False, max_length=100, help_text=_("Default: the first sheet.")
    )
    skip_invalid = forms.BooleanField(
        label=_("Import the valid rows even if some are refused"), required=False
    )
    create_missing = forms.BooleanField(
        label=_("Add clients and follow-up owners the sheet names but Heeded does not know"),
        required=False,
    )

    def clean_file(self):  # type: ignore[no-untyped-def]
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 20 MB; split it and import each part.")
            )
        return upload


def mapping_text(mapping: Mapping) -> str:
    """A mapping as the hidden field carries it: one ``HEADER=column`` a line."""
    return "\n".join(f"{h}={c.value if c else 'ignore'}" for h, c in mapping.items())


class ConfirmForm(forms.Form):
    token = forms.RegexField(label=_("Token"), regex=r"^[0-9a-f]{64}$")
    filename = forms.CharField(label=_("Filename"), max_length=255)
    sheet = forms.CharField(label=_("Sheet"), required=False, max_length=100)
    skip_invalid = forms.BooleanField(label=_("Skip invalid"), required=False)
    create_missing = forms.BooleanField(label=_("Create missing"), required=False)
    # The columns mapped by hand on the preview, so the import is the one previewed.
    mapping = forms.CharField(label=_("Mapping"), required=False, max_length=10_000)

    def clean_mapping(self) -> Mapping:
        lines = [line for line in self.cleaned_data["mapping"].splitlines() if line.strip()]
        try:
            return parse_mappings(lines)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class RemapForm(ConfirmForm):
    """The preview's "columns not imported": a choice per column, previewed again."""

    PREFIX = "column_"
    # What the page carries unseen: the fields of the confirmation.
    hidden_names = ("token", "filename", "sheet", "skip_invalid", "create_missing", "mapping")

    def __init__(self, *args, columns: list[tuple[int, str, str, str]], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        choices = [("", "not imported"), *((c.value, HEADERS["en"][c]) for c in Column)]
        self.headers: dict[str, str] = {}
        for position, described, header, current in columns:
            name = f"{self.PREFIX}{position}"
            self.headers[name] = header
            self.fields[name] = forms.ChoiceField(
                label=described, choices=choices, required=False, initial=current
            )

    def chosen(self) -> Mapping:
        """The mapping the selects give (a blank select leaves the column as read)."""
        mapping: Mapping = {}
        for name, header in self.headers.items():
            if value := self.cleaned_data.get(name):
                mapping[header] = Column(value)
        return mapping


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        label=_("Format"), choices=[(f, f.upper()) for f in FORMATS], initial="xlsx"
    )
    language = forms.ChoiceField(
        choices=[("en", "English"), ("it", "Italiano")], initial="en", label=_("Headers in")
    )
    client = forms.ModelChoiceField(
        label=_("Client"), queryset=None, required=False, empty_label=_("All clients")
    )

    def __init__(self, *args, user: User, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = client_list_for(user).order_by("name")
