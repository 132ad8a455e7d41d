from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Outcome(models.TextChoices):
    """What became of one inbound e-mail."""

    RECORDED = "recorded", _("Recorded as the decision")
    PROPOSAL = "proposal", _("Recorded as a proposal (no authority)")
    UNVERIFIED = "unverified", _("Kept as unverified evidence")
    UNMATCHED = "unmatched", _("Not matched to a presentation")
    UNREADABLE = "unreadable", _("Unreadable")


class LinkState(models.TextChoices):
    OPEN = "open", pgettext_lazy("a link", "Open")
    USED = "used", _("Used")
    EXPIRED = "expired", _("Expired")


class ProposalStatus(models.TextChoices):
    OPEN = "open", _("Waiting for an authorised contact")
    CONFIRMED = "confirmed", _("Confirmed")
    SUPERSEDED = "superseded", _("Superseded")
