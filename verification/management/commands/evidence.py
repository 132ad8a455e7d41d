"""``heeded evidence``: import Get-HotFix files, manage collector enrollment tokens.

    heeded evidence import FILE --client C [--computer NAME]
    heeded evidence token create --client C --name NAME
    heeded evidence token revoke KEY_ID

C is a client's id, slug or name. ``import`` exit codes: 0 every item imported, 1 some
items refused (each printed with its line or index), 2 unreadable file or bad input.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from ledger.management.commands.ledger import UsageError, _SubcommandParser, resolve_client
from verification.choices import ReportSource
from verification.files import UnreadableFile, parse_hotfix_file
from verification.models import EnrollmentToken
from verification.services import (
    Inventory,
    ReportRefused,
    VerificationError,
    enrollment_token_create,
    enrollment_token_revoke,
    file_device_guid,
    inventory_record,
)

EXIT_REFUSED = 1
MAX_FILE_BYTES = 50_000_000


class Command(BaseCommand):
    help = "Import Get-HotFix files; create and revoke collector enrollment tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(
            dest="subcommand", required=True, parser_class=_SubcommandParser
        )
        imp = sub.add_parser("import", help="import a Get-HotFix CSV or JSON file")
        imp.add_argument("file")
        imp.add_argument("--client", required=True, metavar="C", help="id, slug or name")
        imp.add_argument(
            "--computer", default="", help="machine name when the file has no CSName column"
        )
        token = sub.add_parser("token", help="collector enrollment tokens")
        token_sub = token.add_subparsers(
            dest="action", required=True, parser_class=_SubcommandParser
        )
        create = token_sub.add_parser("create", help="create a token and print it once")
        create.add_argument("--client", required=True, metavar="C")
        create.add_argument("--name", required=True, help="which RMM or site will use it")
        revoke = token_sub.add_parser("revoke", help="revoke a token by its key id")
        revoke.add_argument("key_id")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "import":
            self._import(options)
        elif options["action"] == "create":
            client = resolve_client(options["client"])
            try:
                token, raw = enrollment_token_create(
                    client=client, name=options["name"], actor="cli", now=timezone.now()
                )
            except VerificationError as exc:
                raise UsageError(exc.message) from None
            self.stdout.write(f"key id: {token.key_id}\n{raw}\n")
            self.stderr.write("Shown once: Heeded keeps only its hash.")
        else:
            found = EnrollmentToken.objects.filter(key_id=options["key_id"]).first()
            if found is None:
                raise UsageError(f"no enrollment token with key id {options['key_id']!r}")
            try:
                enrollment_token_revoke(token=found, actor="cli", now=timezone.now())
            except VerificationError as exc:
                raise UsageError(exc.message) from None
            self.stdout.write(f"revoked {found.key_id}")

    def _import(self, options: dict[str, Any]) -> None:
        client = resolve_client(options["client"])
        path = Path(options["file"])
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise UsageError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"{path}: {exc.strerror}") from None
        try:
            parsed = parse_hotfix_file(data, computer=options["computer"])
        except UnreadableFile as exc:
            raise UsageError(f"{path}: {exc.message}") from None
        file_hash = hashlib.sha256(data).hexdigest()
        now = timezone.now()
        refused = list(parsed.refused)
        for message in parsed.warnings:
            self.stdout.write(f"warning: {message}")
        for name, hotfixes in parsed.machines.items():
            inventory = Inventory(
                machine_guid=file_device_guid(client=client, computer_name=name),
                computer_name=name,
                hotfixes=hotfixes,
            )
            digest = hashlib.sha256(f"{file_hash}:{name.upper()}".encode()).hexdigest()
            try:
                result = inventory_record(
                    client=client,
                    inventory=inventory,
                    document_hash=digest,
                    source=ReportSource.FILE,
                    now=now,
                    document={"file": path.name, "sha256": file_hash, "computer": name},
                )
            except ReportRefused as exc:
                refused.append(f"{name}: {exc.message}")
                continue
            self.stdout.write(f"{name}: {len(hotfixes)} hotfixes, {result.outcome}")
        for message in refused:
            self.stderr.write(f"refused: {message}")
        if refused:
            raise SystemExit(EXIT_REFUSED)
