"""``heeded sweep [--now ISO]``: run one follow-up pass and print one line per action."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from followup.sweep import Action, sweep

from .worker import default_worker_id


def parse_now(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now must be an ISO 8601 date and time, not {value!r}.") from None
    if moment.tzinfo is None:
        raise CommandError(f"--now needs a time zone offset (e.g. {value}+00:00).")
    return moment


class Command(BaseCommand):
    help = "Act on due reminders, escalations and expiries once, then queue their notices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            default="",
            help="Run as if it were this moment (ISO 8601 with offset): replays a day.",
        )
        parser.add_argument("--worker-id", default="", help="Name recorded on the steps.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = parse_now(options["now"]) if options["now"] else timezone.now()
        worker = (options["worker_id"] or default_worker_id())[:100]
        # Each line is written (and flushed) as soon as its action has committed.
        actions = sweep(now=now, worker=worker, report=self._report)
        self.stdout.write(
            f"sweep at {now.astimezone(dt.UTC).isoformat()}: {len(actions)} action(s)"
        )

    def _report(self, action: Action) -> None:
        self.stdout.write(action.line())
        self.stdout.flush()
