from django.db import models

from lib.languages import Language

__all__ = ["Language", "QbrCadence"]  # Language is shared with the catalog (lib.languages)


class QbrCadence(models.IntegerChoices):
    MONTHLY = 1, "Monthly"
    QUARTERLY = 3, "Quarterly"
    HALF_YEARLY = 6, "Every six months"
    YEARLY = 12, "Yearly"
