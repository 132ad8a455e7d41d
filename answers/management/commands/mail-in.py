"""``heeded mail-in``: read one RFC 5322 message on standard input (an MTA pipe).

Exit 0 when an answer (or a proposal) was recorded, 3 when the message was kept as
unverified evidence and not counted, 2 when it could not be read or matched (also
kept). Prints one line saying which and why.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from answers.services.inbound import MAX_BYTES, inbound_receive


class Command(BaseCommand):
    help = "Read one e-mail answer on standard input; exit 0 recorded, 3 unverified, 2 unread."
    stealth_options = ("stdin",)

    def handle(self, *args: Any, **options: Any) -> None:
        stream = options.get("stdin") or sys.stdin.buffer
        raw = stream.read(MAX_BYTES + 1)
        result = inbound_receive(raw=raw, now=timezone.now())
        self.stdout.write(f"inbound {result.message.pk} {result.line}")
        if result.exit_code:
            raise SystemExit(result.exit_code)
