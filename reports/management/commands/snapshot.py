"""``heeded snapshot``: write today's compliance snapshot of every client (once per
client and day: running it again rewrites the day's row). Run it daily, e.g. from cron;
``--backfill`` rebuilds each client's past days from its ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from clients.models import Client
from reports.services import compliance_history_backfill, compliance_snapshot_take


class Command(BaseCommand):
    help = "Write today's compliance snapshot of every client (idempotent per day)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now", default=None, help="Take the snapshot as of this ISO time (with an offset)."
        )
        parser.add_argument(
            "--backfill",
            action="store_true",
            help="Also rebuild every past day of every client from its ledger.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["now"]:
            try:
                now = dt.datetime.fromisoformat(options["now"])
            except ValueError:
                raise CommandError(
                    f"--now: {options['now']!r} is not an ISO date and time", returncode=2
                ) from None
            if now.tzinfo is None:
                raise CommandError(
                    f"--now: {options['now']!r} has no UTC offset (add Z or +01:00)", returncode=2
                )
        if options["backfill"]:
            days = sum(
                compliance_history_backfill(client=client, now=now)
                for client in Client.objects.all()
            )
            self.stdout.write(f"back-filled {days} client-days")
        count = compliance_snapshot_take(now=now)
        self.stdout.write(f"took {count} compliance snapshots as of {now.isoformat()}")
