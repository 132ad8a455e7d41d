from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    AWAITING_RESPONSE = "awaiting_response", _("Awaiting response")
    ACCEPTED = "accepted", _("Accepted")
    IN_PROGRESS = "in_progress", _("In progress")
    DEFERRED = "deferred", _("Deferred")
    REJECTED = "rejected", _("Rejected")
    IGNORED = "ignored", _("Ignored")
    IMPLEMENTED = "implemented", _("Implemented")
    VERIFIED = "verified", _("Verified")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATUSES = frozenset(
    {
        Status.AWAITING_RESPONSE,
        Status.ACCEPTED,
        Status.IN_PROGRESS,
        Status.DEFERRED,
        Status.REJECTED,
        Status.IGNORED,
    }
)


class Decision(models.TextChoices):
    ACCEPTED = "accepted", _("Accept")
    DEFERRED = "deferred", _("Defer")
    REJECTED = "rejected", _("Reject")


class Channel(models.TextChoices):
    SIGNED_LINK = "signed_link", _("Signed link")
    PORTAL = "portal", _("Client portal")
    EMAIL = "email", _("Verified e-mail")
    MEETING = "meeting", _("Meeting / QBR")
    PHONE = "phone", _("Phone, noted by staff")
    STAFF = "staff", _("Recorded by staff")
    IMPORT = "import", _("Imported spreadsheet")


STAFF_CHANNELS = frozenset({Channel.MEETING, Channel.PHONE, Channel.STAFF})
