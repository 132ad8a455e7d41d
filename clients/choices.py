from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    EN = "en", "English"
    IT = "it", "Italiano"


class QbrCadence(models.IntegerChoices):
    MONTHLY = 1, _("Monthly")
    QUARTERLY = 3, _("Quarterly")
    HALF_YEARLY = 6, _("Every six months")
    YEARLY = 12, _("Yearly")
