from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.choices import Category, Severity


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
    title = models.CharField(max_length=200)
    body = models.TextField()
    risk_if_ignored = models.TextField(blank=True)
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
