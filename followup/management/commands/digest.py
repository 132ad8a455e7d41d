"""``heeded digest [--now ISO] [--stale-days N]``: queue the weekly follow-up digest."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from followup.digest import STALE_DAYS, digest_enqueue

from .sweep import parse_now


class Command(BaseCommand):
    help = "Queue one digest per follow-up owner: overdue items and stale tickets (weekly)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", default="", help="Run as if it were this moment (ISO 8601).")
        parser.add_argument(
            "--stale-days",
            type=int,
            default=STALE_DAYS,
            help=f"A ticket is stale after this many days without update (default {STALE_DAYS}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = parse_now(options["now"]) if options["now"] else timezone.now()
        if options["stale_days"] < 1:
            raise CommandError("--stale-days must be at least 1.")
        for message in digest_enqueue(now=now, stale_days=options["stale_days"]):
            self.stdout.write(f"digest queued for {', '.join(message.payload['to'])}")
