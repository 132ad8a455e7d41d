"""``heeded migrate-to postgres://…``: move this SQLite installation's database to
PostgreSQL, and prove that nothing was lost (docs/operations.md).

Each step is printed as it is done:

1. the target must be a PostgreSQL database that is empty: no tables, or migrated to
   this release's schema by an earlier attempt and holding no rows;
2. ``migrate`` on the target;
3. a backup of this database into a temporary archive: the archive ``heeded backup``
   writes, checked the same way (every value, the ledger recomputed);
4. the restore of that archive into the target, in one transaction, with the ledger
   verified as read back; the evidence files stay where they are and are compared;
5. the row count of every table and every client's ledger head, compared between
   this database and the target (a difference means the application kept writing);
6. ``heeded ledger verify`` run against the target as a separate process, exactly as
   an operator would run it after pointing ``DATABASE_URL`` there.

Exit 0 moved, 1 refused or failed (one line on stderr says why). A failure before
step 5 leaves the target migrated and empty, so the command can simply be run again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone

from heeded.backup import (
    BackupError,
    applied_schema,
    backed_up_models,
    create_backup,
    database_at,
    nonempty_tables,
    redact,
    release_schema,
    restore_archive,
)

TARGET = "heeded_migrate_target"


class Command(BaseCommand):
    help = "Move this SQLite installation to an empty PostgreSQL database and verify it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="The target database: postgres://user@host:port/name")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"]
        try:
            self.move(url)
        except BackupError as exc:
            self.stderr.write(f"heeded migrate-to: failed: {exc}")
            sys.exit(1)
        except DatabaseError as exc:
            reason = " ".join(str(exc).split())
            self.stderr.write(f"heeded migrate-to: failed: the target database: {reason}")
            sys.exit(1)

    def say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def move(self, url: str) -> None:
        source = connections[DEFAULT_DB_ALIAS]
        if source.vendor != "sqlite":
            raise BackupError(
                f"This installation already runs on {source.display_name}; migrate-to moves a "
                "SQLite installation."
            )
        if not url.startswith(("postgres://", "postgresql://")):
            raise BackupError(f"{redact(url)} is not a postgres:// URL.")
        self.say(f"source: SQLite {source.settings_dict['NAME']}")
        with database_at(url, TARGET) as alias:
            target = connections[alias]
            target.ensure_connection()
            self.say(f"target: {redact(url)} (PostgreSQL {_server_version(target)})")
            self.migrate(alias)
            with tempfile.TemporaryDirectory(prefix="heeded-migrate-to-") as tmp:
                archive = Path(tmp) / "heeded-migrate-to.tar.gz"
                manifest = create_backup(archive, now=timezone.now())
                rows = sum(manifest["counts"].values())
                self.say(
                    f"backed up {rows} rows, {len(manifest['ledger_heads'])} ledger chains "
                    f"({manifest['ledger']})"
                )
                result = restore_archive(archive, using=alias, evidence_in_place=True)
                self.say(
                    f"restored {rows} rows into the target, ledger read back: {result.ledger}; "
                    f"{result.evidence_files} evidence files in place"
                )
            self.compare(alias)
        self.verify(url)
        self.say(f"done: set DATABASE_URL={redact(url)} and restart Heeded.")

    def migrate(self, alias: str) -> None:
        tables = connections[alias].introspection.table_names()
        if not tables:
            call_command("migrate", database=alias, interactive=False, verbosity=0)
            self.say("migrated the target to this release's schema")
            return
        if applied_schema(alias) == release_schema() and not nonempty_tables(alias):
            self.say("the target is already migrated to this release's schema and empty")
            return
        names = sorted(tables)
        raise BackupError(
            f"The target database is not empty (it holds {', '.join(names[:3])}"
            f"{', ...' if len(names) > 3 else ''}); migrate-to needs a new, empty database."
        )

    def compare(self, alias: str) -> None:
        from clients.models import Client
        from ledger.models import Head

        for model in backed_up_models():
            here = model._base_manager.using(DEFAULT_DB_ALIAS).count()
            there = model._base_manager.using(alias).count()
            if here != there:
                raise BackupError(
                    f"This database changed while it was copied ({model._meta.label_lower}: "
                    f"{here} rows here, {there} in the target): stop the web app and the "
                    "worker, then run migrate-to again into a new database."
                )
        heads = {}
        for name in (DEFAULT_DB_ALIAS, alias):
            uuids = dict(Client.objects.using(name).values_list("pk", "uuid"))
            rows = Head.objects.using(name).values_list("client_id", "seq", "hash")
            heads[name] = {uuids[pk]: (seq, digest) for pk, seq, digest in rows}
        if heads[DEFAULT_DB_ALIAS] != heads[alias]:
            raise BackupError(
                "A ledger head changed while the database was copied: stop the web app and "
                "the worker, then run migrate-to again into a new database."
            )
        self.say(
            f"compared {len(backed_up_models())} tables and {len(heads[alias])} ledger heads: "
            "the same in both databases"
        )

    def verify(self, url: str) -> None:
        env = {**os.environ, "DATABASE_URL": url, "HEEDED_DATA_DIR": str(settings.DATA_DIR)}
        result = subprocess.run(
            [sys.executable, "-m", "heeded.cli", "ledger", "verify"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        lines = (result.stdout + result.stderr).strip().splitlines()
        summary = lines[-1] if lines else f"no output, exit {result.returncode}"
        if result.returncode != 0:
            raise BackupError(f"heeded ledger verify on the target failed: {summary}")
        self.say(f"heeded ledger verify on the target: {summary}")


def _server_version(connection: Any) -> str:
    number = connection.pg_version
    return f"{number // 10000}.{number % 10000}"
