from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import models

from catalog.choices import Category, Severity
from lib.languages import BASE_LANGUAGE, Language

# The fields a client is shown, in the base language; each has a translation column
# named ``<field>_<language>`` (``title_it``). Everything else on a version (control
# references, verification rule, custom fields) is for staff and has one language.
CLIENT_TEXT_FIELDS = ("title", "body", "risk_if_ignored")


@dataclass(frozen=True)
class VersionText:
    """The client-facing text of a version in one language.

    ``language`` is the language the text is in; ``requested`` the one asked for.
    They differ when the version has no translation into ``requested`` and the base
    language (English) stands in.
    """

    language: str
    requested: str
    title: str
    body: str
    risk_if_ignored: str

    @property
    def is_fallback(self) -> bool:
        return self.language != self.requested


class Template(models.Model):
    """A catalog entry. Its wording lives in versions; a recommendation keeps the
    version it was made from, so later edits never change what a client saw."""

    key = models.SlugField(max_length=80, unique=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    default_severity = models.CharField(max_length=10, choices=Severity.choices)
    tags = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class TemplateVersion(models.Model):
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    # What the client reads, in English (always) and Italian (when translated).
    title = models.CharField(max_length=200)
    body = models.TextField()
    risk_if_ignored = models.TextField(blank=True)
    title_it = models.CharField("title (Italian)", max_length=200, blank=True)
    body_it = models.TextField("body (Italian)", blank=True)
    risk_if_ignored_it = models.TextField("risk if ignored (Italian)", blank=True)
    control_refs = models.JSONField(
        default=list,
        blank=True,
        help_text='List of {"framework": "CIS v8", "id": "6.5"} references.',
    )
    verification_rule = models.TextField(blank=True)
    custom_fields = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["template_id", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "number"], name="template_version_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template.key} v{self.number}"

    def has_language(self, language: str) -> bool:
        """True when the version's client text exists in ``language``."""
        if language == BASE_LANGUAGE:
            return True
        if language not in Language.values:
            return False
        return bool(getattr(self, f"title_{language}", ""))

    @property
    def languages(self) -> list[str]:
        """The languages this version can be presented in, base language first."""
        return [code for code in Language.values if self.has_language(code)]

    def text(self, language: str) -> VersionText:
        """The client text in ``language``, or in English when it has no translation
        into it (``VersionText.is_fallback`` then says so)."""
        used = language if self.has_language(language) else BASE_LANGUAGE
        suffix = "" if used == BASE_LANGUAGE else f"_{used}"
        title, body, risk = (getattr(self, f"{name}{suffix}") for name in CLIENT_TEXT_FIELDS)
        return VersionText(
            language=used, requested=language, title=title, body=body, risk_if_ignored=risk
        )
