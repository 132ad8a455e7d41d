"""``heeded digest [--now ISO] [--stale-days N]``: open and send the weekly follow-up
digest, inside each owner's one e-mail of the day (``followup.digest``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from followup.digest import STALE_DAYS
from followup.sweep import digest_send

from .sweep import parse_now


class Command(BaseCommand):
    help = (
        "Send the weekly digest (overdue items, stale tickets) in each owner's one "
        "e-mail of the day."
    )

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
        for action in digest_send(now=now, stale_days=options["stale_days"]):
            self.stdout.write(action.line())
