"""What the tracker remembers between imports of the same sheet."""

from __future__ import annotations

from django.db import models

from recommendations.models import Recommendation


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
