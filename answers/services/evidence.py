"""The evidence kept encrypted at rest (inbound e-mails, form submissions): key rotation."""

from __future__ import annotations

from django.db import transaction

from answers.models import InboundMessage, Submission
from lib import crypto

ROTATE_BATCH = 200


def evidence_rotate() -> dict[str, int]:
    """Re-encrypt every evidence blob with the newest key, in batches, each batch in
    one transaction; returns the count per kind. Raises InvalidToken (and stops) when a
    blob was made with a key no longer configured."""
    counts: dict[str, int] = {}
    for model, field_name, label in (
        (InboundMessage, "raw_encrypted", "inbound e-mails"),
        (Submission, "payload_encrypted", "form submissions"),
    ):
        done = 0
        last = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model.objects.select_for_update()
                    .filter(pk__gt=last)
                    .order_by("pk")
                    .values_list("pk", field_name)[:ROTATE_BATCH]
                )
                for pk, blob in rows:
                    model.objects.filter(pk=pk).update(**{field_name: crypto.rotate(blob)})
            if not rows:
                break
            done += len(rows)
            last = rows[-1][0]
        counts[label] = done
    return counts
