"""``heeded tracker-bench``: import speed and peak memory on a generated sheet, in a
throw-away SQLite database (like ``heeded bench``; never the configured one), or with
``--database-url`` in an empty PostgreSQL database you can throw away.

The sheet is realistic rather than uniform: 20 clients, mixed categories, mixed date
formats, justifications and planned dates where the lifecycle needs them; an XLSX
workbook by default (``--format csv`` for the CSV). Measured, each against a baseline
from the same run, with the target of issue 13 and PASS or FAIL:

- the first import, rows/s, against a raw ``executemany`` of the same rows into the
  recommendation table (target: at least 30% of it), and the whole of it within 10 s
  per 100,000 rows;
- the process's peak resident memory (target: 200 MiB for a 100,000-row sheet);
- the same file again, the idempotent no-op (target: 20,000 rows/s);
- with ``--one-by-one``, the one-by-one path through the services on the same sheet,
  the "before" of the batch (slow: keep the sheet small);
- an export of everything.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

CHILD_FLAG = "HEEDED_TRACKER_BENCH_CHILD"
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
CLIENTS = 20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def generate_sheet(path: Path, rows: int, *, seed: int = 4) -> None:
    """Write a semicolon CSV with Italian headers and a mix of date formats."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(
            "Cliente;Raccomandazione;Data;Categoria di risposta;Responsabile del follow-up;"
            "Giustificazione;Data di attuazione prevista;Gravità\r\n"
        )
        for i in range(rows):
            made = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(1000))
            shape = i % 4
            made_text = (
                made.isoformat(),
                made.strftime("%d/%m/%Y"),
                f"{made.day}/{made.month}/{made.year % 100}",
                str((made - dt.date(1899, 12, 30)).days),
            )[shape]
            category, justification, planned = rng.choice(
                [
                    ("Accettata", "", (made + dt.timedelta(days=90)).isoformat()),
                    ("Posticipata", "Budget", (made + dt.timedelta(days=180)).isoformat()),
                    ("Rifiutata", "Risk accepted by the board", ""),
                    ("Ignorata", "", ""),
                    ("", "", ""),
                ]
            )
            out.write(
                f"Client {i % CLIENTS:02d};Recommendation number {i} for review;{made_text};"
                f"{category};owner{i % 5};{justification};{planned};"
                f"{rng.choice(['Alta', 'Media', 'Bassa', 'Critica'])}\r\n"
            )


def _to_xlsx(sheet: Path) -> Path:
    import csv

    import xlsxwriter

    workbook = sheet.with_suffix(".xlsx")
    book = xlsxwriter.Workbook(str(workbook), {"constant_memory": True})
    ws = book.add_worksheet()
    with sheet.open(encoding="utf-8", newline="") as handle:
        for r, cells in enumerate(csv.reader(handle, delimiter=";")):
            for c, value in enumerate(cells):
                ws.write_string(r, c, value)
    book.close()
    return workbook


def _renamed(sheet: Path) -> bytes:
    """The sheet with other titles, so that each row is new again."""
    from tracker.reader import read_sheet

    rows = read_sheet(sheet.read_bytes(), filename=sheet.name).rows
    lines = []
    for n, (_, cells) in enumerate(rows):
        cells = [str(c) for c in cells]
        if n:
            cells[1] = "Again: " + cells[1]
        lines.append(";".join(cells))
    return ("\r\n".join(lines) + "\r\n").encode()


def _raw_executemany(rows: int) -> float:
    """Seconds to insert ``rows`` recommendation rows with one ``executemany`` (the
    same number of rows as the sheet, the stored columns filled), rolled back."""
    from django.db import connection, transaction

    from clients.models import Client
    from recommendations.models import Recommendation

    clients = list(Client.objects.values_list("pk", flat=True))
    table = connection.ops.quote_name(Recommendation._meta.db_table)
    columns = (
        "client_id, title, body, risk_if_ignored, text_sha256, language, category, "
        "control_refs, verification_rule, custom_fields, field_values, severity, tags, "
        "scope, external_id, status, created_at, presented_at, response_due_at, "
        "deferral_count, close_reason, updated_at"
    )
    values = [
        (
            clients[i % len(clients)],
            f"Recommendation number {i} for review",
            f"Recommendation number {i} for review",
            "",
            "0" * 64,
            "it",
            "",
            "[]",
            "",
            "[]",
            "{}",
            "high",
            "[]",
            "",
            f"raw-{i}",
            "awaiting_response",
            NOW,
            NOW,
            NOW,
            0,
            "",
            NOW,
        )
        for i in range(rows)
    ]
    marks = ", ".join(["%s"] * 22)
    with transaction.atomic():
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)
        took = time.perf_counter() - start
        transaction.set_rollback(True)
    return took


class Command(BaseCommand):
    help = "Measure tracker import speed and peak memory on a generated sheet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000, help="Rows in the sheet.")
        parser.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
        parser.add_argument(
            "--database-url",
            default="",
            help="Run in this (empty, throw-away) database instead of a temporary SQLite.",
        )
        parser.add_argument(
            "--one-by-one",
            action="store_true",
            help="Also import the sheet through the services one by one (the old path), "
            "rolled back, as the same-run 'before'.",
        )
        parser.add_argument(
            "--read-only",
            action="store_true",
            help="Only read and check every cell (CSV and XLSX), without writing: the phase "
            "whose memory grows with the file.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rows"] < 10:
            raise CommandError("--rows must be at least 10")
        if os.environ.get(CHILD_FLAG) != "1":
            with tempfile.TemporaryDirectory(prefix="heeded-tracker-bench-") as tmp:
                env = {**os.environ, CHILD_FLAG: "1", "HEEDED_DATA_DIR": tmp}
                env.pop("DATABASE_URL", None)
                if options["database_url"]:
                    env["DATABASE_URL"] = options["database_url"]
                # Migrated by a process of its own: the measured one holds no more
                # than an import run from the command line would.
                migrate = [sys.executable, "-m", "heeded.cli", "migrate", "--verbosity", "0"]
                if subprocess.run(migrate, env=env, check=False).returncode:  # noqa: S603
                    raise CommandError("migrating the benchmark's database failed")
                argv = [sys.executable, "-m", "heeded.cli", "tracker-bench"]
                argv += ["--rows", str(options["rows"]), "--format", options["format"]]
                argv += ["--read-only"] if options["read_only"] else []
                argv += ["--one-by-one"] if options["one_by_one"] else []
                result = subprocess.run(argv, env=env, check=False)  # noqa: S603
                if result.returncode:
                    raise CommandError(f"benchmark failed (exit {result.returncode})")
            return
        self._run(
            options["rows"],
            read_only=options["read_only"],
            fmt=options["format"],
            one_by_one=options["one_by_one"],
        )

    def _row(self, name: str, value: str, baseline: str, ratio: str, target: str, ok: bool) -> None:
        verdict = "PASS" if ok else "FAIL"
        self.stdout.write(
            f"{name:<34} {value:>14} {baseline:>14} {ratio:>8} {target:>22} {verdict:>5}"
        )

    def _run(self, rows: int, *, read_only: bool, fmt: str, one_by_one: bool) -> None:
        from accounts.models import User
        from clients.services import client_create, contact_create
        from tracker.export import export_rows, write_csv
        from tracker.services import tracker_import

        admin = User.objects.create_user("bench", role="admin")
        for n in range(5):
            User.objects.create_user(f"owner{n}", role="technician")
        for n in range(CLIENTS):
            client = client_create(name=f"Client {n:02d}", actor=admin, now=NOW)
            contact_create(
                client=client,
                name="Decider",
                email=f"boss@client{n}.example",
                is_decision_maker=True,
                actor=admin,
                now=NOW,
            )
        from django.db import connection, transaction

        sheet = Path(os.environ["HEEDED_DATA_DIR"]) / "sheet.csv"
        generate_sheet(sheet, rows)
        if fmt == "xlsx" and not read_only:
            sheet = _to_xlsx(sheet)
        size = sheet.stat().st_size / 1024 / 1024
        self.stdout.write(
            f"database: {connection.vendor}; sheet: {rows:,} rows, {sheet.suffix[1:].upper()}, "
            f"{size:.1f} MiB; peak RSS before {_peak_mib():.0f} MiB"
        )

        if read_only:
            self._read(sheet, rows, admin)
            return
        before = _peak_mib()
        start = time.perf_counter()
        report = tracker_import(source=sheet, actor=admin, now=NOW)
        first = time.perf_counter() - start
        peak = _peak_mib()
        if not report.committed or report.created != rows:
            raise CommandError(f"the first import did not import every row: {report.summary()}")
        start = time.perf_counter()
        again = tracker_import(source=sheet, actor=admin, now=NOW)
        second = time.perf_counter() - start
        if again.unchanged != rows:
            raise CommandError(f"the re-import changed rows: {again.summary()}")
        raw = _raw_executemany(rows)
        slow = None
        if one_by_one:
            with transaction.atomic():
                # A fresh name per client, so every row is new to the one-by-one path.
                start = time.perf_counter()
                other = tracker_import(source=_renamed(sheet), actor=admin, now=NOW, batched=False)
                slow = time.perf_counter() - start
                transaction.set_rollback(True)
            if other.created != rows:
                raise CommandError(f"the one-by-one import: {other.summary()}")

        self.stdout.write(
            f"\n{'measure':<34} {'value':>14} {'baseline':>14} {'ratio':>8} {'target':>22} {'':>5}"
        )
        share = (rows / first) / (rows / raw)
        self._row(
            "first import, rows/s",
            f"{rows / first:,.0f}",
            f"{rows / raw:,.0f} raw",
            f"{share:.0%}",
            ">= 30% of executemany",
            share >= 0.30,
        )
        budget = 10.0 * rows / 100_000
        self._row(
            "first import, seconds",
            f"{first:,.2f}",
            "",
            "",
            f"<= {budget:,.2f} s",
            first <= budget,
        )
        self._row(
            "peak RSS, MiB",
            f"{peak:,.0f}",
            f"{before:,.0f} before",
            f"+{peak - before:,.0f}",
            "<= 200 MiB",
            peak <= 200,
        )
        self._row(
            "re-import unchanged, rows/s",
            f"{rows / second:,.0f}",
            "",
            "",
            ">= 20,000 rows/s",
            rows / second >= 20_000,
        )
        if slow is not None:
            self._row(
                "one-by-one import, rows/s",
                f"{rows / slow:,.0f}",
                f"{rows / first:,.0f} batch",
                f"{slow / first:.1f}x",
                "(the path before)",
                True,
            )
        start = time.perf_counter()
        out = io.BytesIO()
        written = write_csv(out, export_rows(None))
        exported = time.perf_counter() - start
        self.stdout.write(
            f"\nexport CSV: {written:,} rows in {exported:.1f} s, "
            f"{written / exported:,.0f} rows/s; "
            f"peak RSS {_peak_mib():.0f} MiB"
        )

    def _read(self, sheet: Path, rows: int, admin: Any) -> None:
        from tracker.reader import read_sheet
        from tracker.services import ImportReport, _Importer

        workbook = _to_xlsx(sheet)
        for path in (sheet, workbook):
            data = path.read_bytes()
            start = time.perf_counter()
            parsed = read_sheet(data, filename=path.name)
            report = ImportReport(filename=path.name, file_sha256="")
            importer = _Importer(parsed, report, actor=admin, now=NOW, create_missing=False)
            checked = [importer.parse(n, cells) for n, cells in importer.data_rows()]
            took = time.perf_counter() - start
            good = sum(1 for row in checked if row is not None)
            self.stdout.write(
                f"read and check {path.suffix[1:].upper()}: {rows:,} rows ({good:,} valid) in "
                f"{took:.1f} s, {rows / took:,.0f} rows/s; peak RSS {_peak_mib():.0f} MiB"
            )
            del parsed, checked, importer
