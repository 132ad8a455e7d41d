"""``heeded policy show|set CLIENT``: a client's follow-up policy (contract tier)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import User
from clients.models import Client
from clients.policy import policy_for
from followup.services.policy import POLICY_FIELDS, client_policy_set

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Command(BaseCommand):
    help = "Show or set a client's follow-up policy: deadlines, ladder, deferrals, reviews."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="Print the policy in force for a client.")
        show.add_argument("client", help="Client slug.")
        put = sub.add_parser("set", help="Create or change the client's policy.")
        put.add_argument("client", help="Client slug.")
        put.add_argument("--as", dest="username", required=True, help="Admin who acts.")
        put.add_argument("--tier", required=True, help="Contract tier name.")
        for name in POLICY_FIELDS:
            put.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int)
        put.add_argument(
            "--weekly",
            dest="weekly_severities",
            action="append",
            metavar="SEVERITY",
            help="Quiet setting: tell the client about this severity once a week "
            "(repeatable; --weekly none clears).",
        )
        for name in ("business_days", "reminders", "review_at_next_qbr"):
            put.add_argument(
                f"--{name.replace('_', '-')}", dest=name, action=argparse.BooleanOptionalAction
            )

    def handle(self, *args: Any, **options: Any) -> None:
        client = Client.objects.filter(slug=options["client"]).first()
        if client is None:
            raise CommandError(f"No client with slug {options['client']!r}.")
        if options["action"] == "set":
            actor = User.objects.filter(username=options["username"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user {options['username']!r}.")
            fields = {
                name: options.get(name)
                for name in (*POLICY_FIELDS, "business_days", "reminders", "review_at_next_qbr")
            }
            weekly = options.get("weekly_severities")
            if weekly is not None:
                fields["weekly_severities"] = [s for s in weekly if s != "none"]
            try:
                client_policy_set(
                    client=client, actor=actor, now=timezone.now(), tier=options["tier"], **fields
                )
            except (ValidationError, PermissionDenied) as exc:
                messages = getattr(exc, "message_dict", None)
                text = (
                    "; ".join(f"{k}: {' '.join(v)}" for k, v in messages.items())
                    if messages
                    else str(exc)
                )
                raise CommandError(text) from None
            client.refresh_from_db()
        pol = policy_for(client)
        days = ", ".join(f"{k} {v}" for k, v in pol.response_days.items())
        self.stdout.write(
            f"{client.slug}: respond within {days} "
            f"({'business' if pol.business_days else 'calendar'} days); "
            f"reminders {'on' if pol.reminders else 'off'}; level 2 after "
            f"{pol.level2_after_days} d, level 3 after {pol.level3_after_days} d; escalate after "
            f"{pol.max_deferrals} deferrals; re-review rejections "
            + (
                "at the next QBR"
                if pol.review_at_next_qbr
                else f"after {pol.rejection_review_months} months"
            )
            + (
                f"; {', '.join(pol.weekly_severities)} notices weekly on "
                f"{WEEKDAYS[pol.weekly_weekday]}"
                if pol.weekly_severities
                else ""
            )
        )
