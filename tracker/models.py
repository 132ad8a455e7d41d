"""What the tracker keeps between requests: the preview of an uploaded sheet, which the
worker runs (``tracker.previews``) while the page shows its progress, and what it
remembers between imports of the same sheet (row marks)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from recommendations.models import Recommendation


class PreviewStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    # The file as a whole cannot be read (no header, a required column missing…);
    # ``error`` holds the sentence, ``error_field`` the form field it belongs under.
    UNREADABLE = "unreadable", _("Unreadable")
    FAILED = "failed", _("Failed")


class Preview(models.Model):
    """One dry run of an uploaded sheet, asked for by ``owner`` and seen only by them.

    The upload itself is the file ``tracker.previews.upload_path(owner, file_sha256)``
    (kept for the confirmation, as before previews ran in the worker). The row is the
    worker's claim: a queued preview is taken with a conditional update; a worker that
    dies mid-run leaves it ``running`` until ``lease_until``, after which another
    worker takes it over. ``result`` is written once, with the status, when the run
    ends: a page never sees half a report.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    file_sha256 = models.CharField(max_length=64)
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    sheet = models.CharField(max_length=100, blank=True)
    skip_invalid = models.BooleanField(default=False)
    create_missing = models.BooleanField(default=False)
    # The columns mapped by hand, as the confirmation form carries them (mapping_text).
    mapping = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=PreviewStatus.choices, default=PreviewStatus.QUEUED
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_field = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The worker's "oldest queued first".
            models.Index(fields=["status", "created_at"], name="tracker_preview_queue"),
        ]

    def __str__(self) -> str:
        return f"preview {self.pk} of {self.filename} ({self.status})"

    @property
    def pending(self) -> bool:
        return self.status in {PreviewStatus.QUEUED, PreviewStatus.RUNNING}


class RowMark(models.Model):
    """The last sheet row that imported cleanly into a recommendation: a digest of the
    row's cells under the columns they were read as, and the recommendation's status
    and ``updated_at`` just after. A later import of a row with the same digest, whose
    recommendation still has that status and ``updated_at`` (every transition moves
    ``updated_at``), is unchanged after one comparison, without its cells being read
    again. Anything else takes the full path, which writes the mark anew."""

    recommendation = models.OneToOneField(
        Recommendation, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    digest = models.CharField(max_length=64, db_index=True)
    # The date made, as the row gave it: where the row sorts among the sheet's rows.
    made_on = models.DateField()
    status = models.CharField(max_length=20)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"row mark of recommendation {self.recommendation_id}"
