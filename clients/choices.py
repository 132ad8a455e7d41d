from django.db import models
from django.utils.translation import gettext_lazy as _

from lib.languages import Language

__all__ = ["Language", "QbrCadence"]  # Language is shared with the catalog (lib.languages)


class QbrCadence(models.IntegerChoices):
    MONTHLY = 1, _("Monthly")
    QUARTERLY = 3, _("Quarterly")
    HALF_YEARLY = 6, _("Every six months")
    YEARLY = 12, _("Yearly")
