"""``heeded counters``: the dashboard's maintained counters.

    heeded counters rebuild   recount every recommendation and replace the counters
    heeded counters check     compare the counters with a recount; exit 1 when they differ

The counters are kept in the transaction of every change (``recommendations.tallies``);
rebuild after writing recommendations around the services (a restore of an old backup,
a set-based bench fill).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations import tallies


class Command(BaseCommand):
    help = "Rebuild or check the recommendation counters the dashboard reads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild", "check"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rebuild":
            by_client, by_day = tallies.rebuild()
            self.stdout.write(
                f"counters rebuilt: {by_client} per-client rows, {by_day} per-day rows"
            )
            return
        wrong = tallies.differences()
        for line in wrong[:50]:
            self.stdout.write(line)
        if wrong:
            raise CommandError(f"{len(wrong)} counter(s) differ from a recount", returncode=1)
        self.stdout.write("counters agree with a recount")
