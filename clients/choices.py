from django.db import models


class Language(models.TextChoices):
    EN = "en", "English"
    IT = "it", "Italiano"


class QbrCadence(models.IntegerChoices):
    MONTHLY = 1, "Monthly"
    QUARTERLY = 3, "Quarterly"
    HALF_YEARLY = 6, "Every six months"
    YEARLY = 12, "Yearly"
