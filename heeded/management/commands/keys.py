"""``heeded keys rotate``: re-encrypt every stored evidence blob, second-factor secret
and webhook signing secret with the newest key.

Put the new key first in HEEDED_ENCRYPTION_KEYS (keep the old ones after it), run this,
then drop the old keys. Safe to run again: a blob already under the newest key is
re-encrypted once more and still decrypts.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.mfa import rotate_sealed_secrets
from answers.services.evidence import evidence_rotate
from followup.services.webhooks import webhook_secrets_rotate
from lib.crypto import InvalidToken


class Command(BaseCommand):
    help = "Manage the keys that encrypt evidence at rest: 'rotate' re-encrypts everything."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rotate"])

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = evidence_rotate()
            counts["second-factor secrets"] = rotate_sealed_secrets()
            counts["webhook signing secrets"] = webhook_secrets_rotate()
        except InvalidToken as exc:
            raise CommandError(
                "rotation stopped: a blob was encrypted with a key that is not in "
                "HEEDED_ENCRYPTION_KEYS (add the old key after the new one)"
            ) from exc
        total = sum(counts.values())
        detail = ", ".join(f"{n} {name}" for name, n in counts.items())
        self.stdout.write(f"re-encrypted {total} blobs with the newest key ({detail})")
