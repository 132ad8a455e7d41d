"""``heeded webhook add|list|disable``: manage outbound webhook endpoints."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from followup.models import WebhookEndpoint, WebhookKind
from followup.services.webhooks import webhook_endpoint_create, webhook_endpoint_disable


class Command(BaseCommand):
    help = "Add, list or disable webhook endpoints (signed JSON events, Slack, Teams)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Register an endpoint; prints its signing secret.")
        add.add_argument("url")
        add.add_argument("--name", default="")
        add.add_argument("--kind", default=WebhookKind.STANDARD, choices=WebhookKind.values)
        add.add_argument("--event", action="append", default=[], help="Only this event type.")
        sub.add_parser("list", help="List endpoints.")
        disable = sub.add_parser("disable", help="Stop sending to an endpoint.")
        disable.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            try:
                endpoint = webhook_endpoint_create(
                    name=options["name"],
                    url=options["url"],
                    kind=options["kind"],
                    event_types=options["event"],
                    now=timezone.now(),
                    actor="cli",
                )
            except ValidationError as exc:
                raise CommandError(
                    " ".join(m for ms in exc.message_dict.values() for m in ms)
                ) from None
            self.stdout.write(f"endpoint {endpoint.pk} added: {endpoint.url}")
            if endpoint.secret:
                secret = endpoint.signing_secret()
                self.stdout.write(f"signing secret (shown once, give it to the receiver): {secret}")
        elif action == "list":
            for e in WebhookEndpoint.objects.all():
                state = "active" if e.is_active else "disabled"
                events = ", ".join(e.event_types) or "all events"
                self.stdout.write(f"{e.pk} {e.kind} {state} {e.url} ({events})")
        else:
            try:
                webhook_endpoint_disable(pk=options["id"], actor="cli")
            except ValidationError as exc:
                raise CommandError(
                    " ".join(m for ms in exc.message_dict.values() for m in ms)
                ) from None
            self.stdout.write(f"endpoint {options['id']} disabled")
