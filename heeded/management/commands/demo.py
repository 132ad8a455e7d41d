"""``heeded demo``: load the demo data, reset the demo login, then serve.

``make demo`` runs ``heeded migrate`` first; this command refuses to touch a database
that is not fully migrated rather than fail half-way through the load.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.choices import Role
from heeded import demo_content
from heeded.demo import DEMO_ADMIN_USERNAME, DEMO_PASSWORD, demo_logins_reset, load_demo
from lib.env import env_int

NOT_MIGRATED = (
    "The database is not migrated ({count} migration(s) pending). "
    "Run `heeded migrate` first (`make demo` does it for you)."
)


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> int:
    """How many migrations have not been applied to the database."""
    executor = MigrationExecutor(connections[alias])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


class Command(BaseCommand):
    help = (
        "Load the demo data (twelve clients, a year of recommendations; idempotent), reset "
        f"the demo login '{DEMO_ADMIN_USERNAME}', print how to sign in, then serve the web "
        "app and its worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=None, help="TCP port (default: $HEEDED_PORT or 8000)."
        )
        parser.add_argument(
            "--load-only",
            "--no-serve",
            dest="load_only",
            action="store_true",
            help="Load the data and reset the login, but do not start the server.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        if port is None:
            port = env_int("HEEDED_PORT", 8000, minimum=1, maximum=65535)
        if not 1 <= port <= 65535:
            raise CommandError(f"--port must be between 1 and 65535, got {port}")
        pending = pending_migrations()
        if pending:
            raise CommandError(NOT_MIGRATED.format(count=pending))

        summary = load_demo(now=timezone.now(), stdout=self.stdout)
        demo_logins_reset()
        counts = ", ".join(f"{status} {n}" for status, n in sorted(summary.by_status.items()))
        staff = ", ".join(
            f"{s.username} ({Role(s.role).label.lower()})" for s in demo_content.STAFF
        )
        self.stdout.write(
            "\n"
            "Heeded demo is ready.\n"
            f"  Open:     http://127.0.0.1:{port}/\n"
            f"  Login:    {DEMO_ADMIN_USERNAME}\n"
            f"  Password: {DEMO_PASSWORD}\n"
            f"  Also:     {staff}, same password\n"
            f"  Data:     {summary.clients} clients, {summary.recommendations} recommendations"
            f" ({counts})\n"
        )
        if options["load_only"]:
            return
        self.stdout.write("Starting the web app and the worker; press Ctrl+C to stop.\n")
        self.stdout.flush()
        call_command("serve", port=port)
