"""``heeded verify [--now ISO]``: one verify pass (verification.compliance): devices
whose inventory changed or went stale, recommendations whose status or rule changed.
``--now`` replays a day (e.g. to see what goes stale)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from verification.compliance import verify_pass


class Command(BaseCommand):
    help = "Verify recommendations against the devices' latest reports."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="ISO 8601 instant with a UTC offset (default: now)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["now"]:
            try:
                now = dt.datetime.fromisoformat(options["now"])
            except ValueError:
                raise CommandError(f"--now: not an ISO 8601 instant: {options['now']!r}") from None
            if now.tzinfo is None:
                raise CommandError("--now: give a UTC offset (2026-03-02T09:00:00+00:00)")
        result = verify_pass(now=now)
        self.stdout.write(
            f"{result.clients} clients, {result.recommendations} recommendations evaluated; "
            f"verified {len(result.verified)}, drifted {len(result.drifted)}, "
            f"applied while rejected {len(result.applied_while_rejected)}; "
            f"{result.newly_stale} devices went stale"
        )
