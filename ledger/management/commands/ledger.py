"""``heeded ledger``: verify the hash chains, show a head, record an anchor.

    heeded ledger verify [--client C] [--anchor C:SEQ:HASH ...] [--thorough]
    heeded ledger head --client C
    heeded ledger anchor --client C --purpose TEXT [--reference TEXT]

C is a client's id, slug or name. Exit codes: 0 all good, 1 a chain failed
verification, 2 bad input (an unknown client, a malformed anchor, a bad option).
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from clients.models import Client
from ledger.models import Anchor
from ledger.selectors import head_for
from ledger.services import anchor_record
from ledger.verify import (
    DEFAULT_CHUNK_SIZE,
    AnchorClaim,
    BadAnchor,
    ChainReport,
    parse_anchor,
    verify_all,
    verify_clients,
)

EXIT_FAILED = 1
EXIT_USAGE = 2
PURPOSE_MAX = Anchor._meta.get_field("purpose").max_length
REFERENCE_MAX = Anchor._meta.get_field("reference").max_length


class UsageError(CommandError):
    """Bad input from the person at the keyboard: exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=EXIT_USAGE)


class _SubcommandParser(CommandParser):
    # Django turns argparse errors into CommandError(returncode=1) when the command
    # is called from code; make them usage errors there too, as on the command line.
    def error(self, message: str) -> None:  # type: ignore[override]
        if self.called_from_command_line:
            super().error(message)
        raise UsageError(f"Error: {message}")


def resolve_client(reference: str) -> Client:
    """The client whose id, slug or name (case-insensitive) is ``reference``."""
    reference = reference.strip()
    if not reference:
        raise UsageError("no client given")
    match = Q(slug=reference) | Q(name__iexact=reference)
    if reference.isdigit():
        match |= Q(pk=int(reference))
    found = list(Client.objects.filter(match)[:2])
    if not found:
        raise UsageError(f"unknown client {reference!r} (give its id, slug or name)")
    if len(found) > 1:
        ids = ", ".join(str(client.pk) for client in found)
        raise UsageError(f"client {reference!r} is ambiguous (ids {ids}): give the id")
    return found[0]


class Command(BaseCommand):
    help = "Verify the ledger's hash chains, show a client's head, record an anchor."
    # Verification depends on no project configuration that the system checks look
    # at (URLs, templates, admin); skipping them halves the start-up time.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(
            dest="subcommand",
            metavar="{verify,head,anchor}",
            required=True,
            parser_class=_SubcommandParser,
        )
        verify = subcommands.add_parser(
            "verify",
            help="recompute every chain and name the first bad event",
            description=(
                "Recompute the hash chain of every client (or one), check it against the "
                "head row and every stored anchor, plus anchors given here. Prints a line "
                "starting with 'ok:' and exits 0, or one 'FAIL:' line per bad chain naming "
                "the client, the first bad event and why, and exits 1."
            ),
        )
        verify.add_argument("--client", metavar="C", help="only this client (id, slug or name)")
        verify.add_argument(
            "--anchor",
            metavar="C:SEQ:HASH",
            action="append",
            default=[],
            help=(
                "a head hash a client kept (from a report or an e-mail): the chain must "
                "contain event SEQ with this HASH; repeatable"
            ),
        )
        verify.add_argument(
            "-v",
            "--verbosity",
            type=int,
            choices=[0, 1, 2, 3],
            # Only set when given here, so `heeded ledger -v 2 verify` works as well.
            default=argparse.SUPPRESS,
            help="2 or more: print a line for every client, not only the failed ones",
        )
        verify.add_argument(
            "--thorough",
            action="store_true",
            help=(
                "compare every event's stored body with its columns, even while the "
                "database's guard makes that unnecessary (slower)"
            ),
        )
        verify.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            help="events read per database round trip (default %(default)s)",
        )

        head = subcommands.add_parser(
            "head",
            help="print a client's head as 'SEQ HASH'",
            description="Print the sequence number and hash of the client's latest event.",
        )
        head.add_argument("--client", metavar="C", required=True, help="id, slug or name")

        anchor = subcommands.add_parser(
            "anchor",
            help="record the client's current head as an anchor and print it",
            description=(
                "Record the client's current head as having left the system (give the "
                "printed C:SEQ:HASH to the client), and print it."
            ),
        )
        anchor.add_argument("--client", metavar="C", required=True, help="id, slug or name")
        anchor.add_argument(
            "--purpose", required=True, help=f"why it was taken (at most {PURPOSE_MAX} chars)"
        )
        anchor.add_argument(
            "--reference", default="", help="e.g. the report or message it was sent with"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        handler = {
            "verify": self.verify,
            "head": self.head,
            "anchor": self.anchor,
        }[options["subcommand"]]
        handler(options)

    def verify(self, options: dict[str, Any]) -> None:
        if options["chunk_size"] < 1:
            raise UsageError("--chunk-size must be at least 1")
        only = resolve_client(options["client"]) if options["client"] is not None else None
        extra: dict[int, list[AnchorClaim]] = {}
        for text in options["anchor"]:
            try:
                reference, seq, digest = parse_anchor(text)
            except BadAnchor as exc:
                raise UsageError(str(exc)) from None
            client = resolve_client(reference)
            if only is not None and client.pk != only.pk:
                raise UsageError(f"anchor {text!r} is for another client than --client")
            extra.setdefault(client.pk, []).append(
                AnchorClaim(seq=seq, hash=digest, source="command-line anchor")
            )
        verbose = options["verbosity"] >= 2

        def show(report: ChainReport) -> None:
            # Failures are printed as they are found; with -v 2, every client.
            if verbose or not report.ok:
                self.stdout.write(report.line())

        how = {
            "extra_anchors": extra,
            "chunk_size": options["chunk_size"],
            "on_report": show,
            "thorough": options["thorough"],
        }
        result = verify_clients([only], **how) if only is not None else verify_all(**how)
        self.stdout.write(result.summary())
        if not result.ok:
            raise SystemExit(EXIT_FAILED)

    def head(self, options: dict[str, Any]) -> None:
        head = head_for(resolve_client(options["client"]))
        self.stdout.write(f"{head.seq} {head.hash}")

    def anchor(self, options: dict[str, Any]) -> None:
        client = resolve_client(options["client"])
        purpose = options["purpose"].strip()
        reference = options["reference"].strip()
        if not purpose:
            raise UsageError("--purpose cannot be empty")
        if len(purpose) > PURPOSE_MAX:
            raise UsageError(f"--purpose is longer than {PURPOSE_MAX} characters")
        if len(reference) > REFERENCE_MAX:
            raise UsageError(f"--reference is longer than {REFERENCE_MAX} characters")
        now: dt.datetime = timezone.now()
        anchor = anchor_record(client=client, at=now, purpose=purpose, reference=reference)
        self.stdout.write(f"{client.slug}:{anchor.seq}:{anchor.hash}")
