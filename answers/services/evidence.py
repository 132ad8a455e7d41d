"""The evidence kept encrypted at rest (inbound e-mails, form submissions): key rotation."""

from __future__ import annotations

from answers.models import InboundMessage, Submission
from lib import crypto


def evidence_rotate() -> dict[str, int]:
    """Re-encrypt every evidence blob with the newest key, in batches, each batch in
    one transaction; returns the count per kind. Raises InvalidToken (and stops) when a
    blob was made with a key no longer configured."""
    return {
        label: crypto.reseal_rows(model.objects.all(), field_name, crypto.rotate)
        for model, field_name, label in (
            (InboundMessage, "raw_encrypted", "inbound e-mails"),
            (Submission, "payload_encrypted", "form submissions"),
        )
    }
