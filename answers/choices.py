from django.db import models


class Outcome(models.TextChoices):
    """What became of one inbound e-mail."""

    RECORDED = "recorded", "Recorded as the decision"
    PROPOSAL = "proposal", "Recorded as a proposal (no authority)"
    UNVERIFIED = "unverified", "Kept as unverified evidence"
    UNMATCHED = "unmatched", "Not matched to a presentation"
    UNREADABLE = "unreadable", "Unreadable"


class LinkState(models.TextChoices):
    OPEN = "open", "Open"
    USED = "used", "Used"
    EXPIRED = "expired", "Expired"


class ProposalStatus(models.TextChoices):
    OPEN = "open", "Waiting for an authorised contact"
    CONFIRMED = "confirmed", "Confirmed"
    SUPERSEDED = "superseded", "Superseded"
