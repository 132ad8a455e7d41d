from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    TECHNICIAN = "technician", _("Technician")
    AUDITOR = "auditor", _("Auditor (read-only)")


class Language(models.TextChoices):
    """The languages of the staff interface; empty on a user means "the browser's"."""

    EN = "en", "English"
    IT = "it", "Italiano"
