from django.db import models


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_RESPONSE = "awaiting_response", "Awaiting response"
    ACCEPTED = "accepted", "Accepted"
    IN_PROGRESS = "in_progress", "In progress"
    DEFERRED = "deferred", "Deferred"
    REJECTED = "rejected", "Rejected"
    IGNORED = "ignored", "Ignored"
    IMPLEMENTED = "implemented", "Implemented"
    VERIFIED = "verified", "Verified"
    WITHDRAWN = "withdrawn", "Withdrawn"


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
    ACCEPTED = "accepted", "Accept"
    DEFERRED = "deferred", "Defer"
    REJECTED = "rejected", "Reject"


class Channel(models.TextChoices):
    SIGNED_LINK = "signed_link", "Signed link"
    PORTAL = "portal", "Client portal"
    EMAIL = "email", "Verified e-mail"
    MEETING = "meeting", "Meeting / QBR"
    PHONE = "phone", "Phone, noted by staff"
    STAFF = "staff", "Recorded by staff"
    IMPORT = "import", "Imported spreadsheet"


STAFF_CHANNELS = frozenset({Channel.MEETING, Channel.PHONE, Channel.STAFF})
