"""Forms of the catalog pages: the list's filters, a template's text in English and
Italian, its control references (one a line) and its custom fields (one a row).

They only parse what the browser sends into the shapes ``catalog.services`` takes;
every rule (a title in each language, a known framework, a valid field key) is the
service's, and its errors come back on the field they name.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.choices import Category, FieldType, Framework, Severity
from catalog.models import Template, TemplateVersion
from catalog.selectors import SORTS


def _blank(label: Any, choices: Any) -> list[tuple[str, Any]]:
    return [("", label), *choices]


class TemplateFilterForm(forms.Form):
    """The filters and order of the catalog list; every one optional, all in the URL."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Title, key or tag, in either language")}
        ),
    )
    tag = forms.CharField(
        label=_("Tag"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. mfa")}),
    )
    severity = forms.ChoiceField(
        label=_("Default severity"),
        choices=_blank(_("Any severity"), Severity.choices),
        required=False,
    )
    category = forms.ChoiceField(
        label=_("Category"), choices=_blank(_("Any category"), Category.choices), required=False
    )
    without_italian = forms.BooleanField(label=_("Without Italian text"), required=False)
    sort = forms.ChoiceField(
        label=_("Order"),
        required=False,
        choices=[
            ("key", _("Key")),
            ("title", _("Title")),
            ("-updated", _("Last revised first")),
        ],
    )

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``template_list_for``; an invalid filter is dropped
        (and shown on the form) so the list still answers."""
        data: dict[str, Any] = {}
        if self.is_bound:
            self.is_valid()
            data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        sort = data.get("sort") or "key"
        return {
            "search": (data.get("q") or "").strip() or None,
            "tag": (data.get("tag") or "").strip() or None,
            "severity": data.get("severity") or None,
            "category": data.get("category") or None,
            "without_italian": bool(data.get("without_italian")),
            "sort": sort if sort in SORTS else "key",
        }


def parse_control_refs(text: str) -> list[dict[str, str]]:
    """One reference a line, the framework first: ``CIS v8 6.5``, ``NIST CSF 2.0:
    PR.AA-03``. A line naming no known framework is passed on without one, so the
    service refuses it with its own message and line number."""
    refs = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        for framework in sorted(Framework.values, key=len, reverse=True):
            if line.lower().startswith(framework.lower()):
                refs.append({"framework": framework, "id": line[len(framework) :].strip(" :")})
                break
        else:
            refs.append({"framework": "", "id": line})
    return refs


def format_control_refs(refs: list[dict[str, str]]) -> str:
    return "\n".join(f"{ref['framework']} {ref['id']}" for ref in refs)


class TemplateForm(forms.Form):
    """A template's first version (with ``key``) or its next one (without)."""

    key = forms.SlugField(
        label=_("Key"),
        max_length=80,
        help_text=_("A stable name in lower case, e.g. mfa-remote-access. It never changes."),
    )
    category = forms.ChoiceField(label=_("Category"), choices=_blank("—", Category.choices))
    default_severity = forms.ChoiceField(
        label=_("Default severity"), choices=_blank("—", Severity.choices)
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=300,
        help_text=_("Separate tags with commas, e.g. mfa, vpn."),
    )
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 7}), required=False
    )
    risk_if_ignored = forms.CharField(
        label=_("Risk if ignored"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    title_it = forms.CharField(label=_("Title"), max_length=200, required=False)
    body_it = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 7}), required=False
    )
    risk_if_ignored_it = forms.CharField(
        label=_("Risk if ignored"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    control_refs = forms.CharField(
        label=_("Control references"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One a line, the framework first: “CIS v8 6.5” or “NIST CSF 2.0 PR.AA-03”."),
    )
    verification_rule = forms.CharField(
        label=_("Verification rule"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("How the MSP checks it is done, e.g. “KB5034441 present on all workstations”."),
    )

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["key"]

    @classmethod
    def initial_from(cls, template: Template, version: TemplateVersion) -> dict[str, Any]:
        """The form filled with a template's latest version, for its revision."""
        return {
            "category": template.category,
            "default_severity": template.default_severity,
            "tags": ", ".join(template.tags),
            "title": version.title,
            "body": version.body,
            "risk_if_ignored": version.risk_if_ignored,
            "title_it": version.title_it,
            "body_it": version.body_it,
            "risk_if_ignored_it": version.risk_if_ignored_it,
            "control_refs": format_control_refs(version.control_refs),
            "verification_rule": version.verification_rule,
        }

    def service_kwargs(self) -> dict[str, Any]:
        """Arguments for ``template_create`` / ``template_revise`` (but the custom
        fields, the actor and the time)."""
        data = self.cleaned_data
        kwargs = {
            name: data.get(name, "")
            for name in (
                "title",
                "body",
                "risk_if_ignored",
                "title_it",
                "body_it",
                "risk_if_ignored_it",
                "verification_rule",
                "category",
                "default_severity",
            )
        }
        kwargs["tags"] = [t for t in (data.get("tags") or "").split(",") if t.strip()]
        kwargs["control_refs"] = parse_control_refs(data.get("control_refs") or "")
        if "key" in self.fields:
            kwargs["key"] = data["key"]
        return kwargs


class CustomFieldForm(forms.Form):
    """One custom field definition; a row left empty is no field."""

    key = forms.CharField(
        label=_("Key"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. mfa_method")}),
    )
    label = forms.CharField(label=_("Label"), required=False, max_length=100)
    type = forms.ChoiceField(label=_("Type"), choices=FieldType.choices, initial=FieldType.TEXT)
    required = forms.BooleanField(label=_("Required"), required=False)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        max_length=500,
        help_text=_("For a choice field: the options, separated by commas."),
    )

    def definition(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not (data.get("key") or "").strip() and not (data.get("label") or "").strip():
            return None
        return {
            "key": (data.get("key") or "").strip(),
            "label": (data.get("label") or "").strip(),
            "type": data.get("type"),
            "required": bool(data.get("required")),
            "choices": [c.strip() for c in (data.get("choices") or "").split(",") if c.strip()],
        }

    @classmethod
    def initial_from(cls, definition: dict[str, Any]) -> dict[str, Any]:
        return {**definition, "choices": ", ".join(definition.get("choices") or [])}


CustomFieldFormSet = forms.formset_factory(CustomFieldForm, extra=2, max_num=30, validate_max=True)


def custom_field_definitions(formset: forms.BaseFormSet) -> list[dict[str, Any]]:
    """The definitions of the filled rows, in order."""
    return [d for d in (form.definition() for form in formset.forms) if d is not None]
