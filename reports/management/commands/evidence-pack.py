"""``heeded evidence-pack``: write a client's evidence pack (docs/evidence.md).

Bad input prints which argument is wrong and why, and exits with status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from recommendations.models import Recommendation
from reports.evidence import evidence_pack_build
from reports.management.commands.report import UsageError, resolve_client


class Command(BaseCommand):
    help = "Write a client's evidence pack: events, raw evidence, PDF summary, verifier."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client", required=True, help="The client's id, slug or name.")
        parser.add_argument(
            "--recommendation", default=None, help="Only this recommendation's evidence (id)."
        )
        parser.add_argument("--output", required=True, help="The .zip file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"])
        if output.suffix.lower() != ".zip":
            raise UsageError(f"--output: expected a .zip file name, got {str(output)!r}")
        if not output.parent.is_dir():
            raise UsageError(f"--output: folder {str(output.parent)!r} does not exist")
        client = resolve_client(options["client"])
        rec_id = None
        if options["recommendation"] is not None:
            wanted = options["recommendation"].strip()
            if (
                not wanted.isdigit()
                or not Recommendation.objects.filter(pk=int(wanted), client=client).exists()
            ):
                raise UsageError(
                    f"--recommendation: {wanted!r} is not a recommendation of {client.name}"
                )
            rec_id = int(wanted)
        data, anchor = evidence_pack_build(
            client=client, now=timezone.now(), recommendation_id=rec_id
        )
        output.write_bytes(data)
        self.stdout.write(
            f"wrote {output} ({len(data)} bytes): {client.name}, "
            f"head {client.slug}:{anchor.seq}:{anchor.hash}"
        )
