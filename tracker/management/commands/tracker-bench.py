"""``heeded tracker-bench``: import speed and peak memory on a generated sheet, in a
throw-away SQLite database (like ``heeded bench``; never the configured one).

The sheet is realistic rather than uniform: 20 clients, mixed categories, mixed date
formats, justifications and planned dates where the lifecycle needs them. Measured:
a first import (rows/s), the same file again (the idempotent no-op), an export of
everything, and the process's peak resident memory.
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

from django.core.management import call_command
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


class Command(BaseCommand):
    help = "Measure tracker import speed and peak memory on a generated sheet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000, help="Rows in the sheet.")
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
                argv = [sys.executable, "-m", "heeded.cli", "tracker-bench"]
                argv += ["--rows", str(options["rows"])]
                argv += ["--read-only"] if options["read_only"] else []
                result = subprocess.run(argv, env=env, check=False)  # noqa: S603
                if result.returncode:
                    raise CommandError(f"benchmark failed (exit {result.returncode})")
            return
        self._run(options["rows"], read_only=options["read_only"])

    def _run(self, rows: int, *, read_only: bool) -> None:
        from accounts.models import User
        from clients.services import client_create, contact_create
        from tracker.export import export_rows, write_csv
        from tracker.services import tracker_import

        call_command("migrate", verbosity=0)
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
        sheet = Path(os.environ["HEEDED_DATA_DIR"]) / "sheet.csv"
        generate_sheet(sheet, rows)
        size = sheet.stat().st_size / 1024 / 1024
        self.stdout.write(
            f"sheet: {rows:,} rows, {size:.1f} MiB; peak RSS before {_peak_mib():.0f} MiB"
        )

        if read_only:
            self._read(sheet, rows, admin)
            return
        start = time.perf_counter()
        report = tracker_import(source=sheet, actor=admin, now=NOW)
        first = time.perf_counter() - start
        self.stdout.write(
            f"first import: {first:.1f} s, {rows / first:,.0f} rows/s ({report.summary()}); "
            f"peak RSS {_peak_mib():.0f} MiB"
        )
        start = time.perf_counter()
        again = tracker_import(source=sheet, actor=admin, now=NOW)
        second = time.perf_counter() - start
        self.stdout.write(
            f"re-import (no-op): {second:.1f} s, {rows / second:,.0f} rows/s "
            f"(unchanged {again.unchanged}); peak RSS {_peak_mib():.0f} MiB"
        )
        start = time.perf_counter()
        out = io.BytesIO()
        written = write_csv(out, export_rows(None))
        exported = time.perf_counter() - start
        self.stdout.write(
            f"export CSV: {written:,} rows in {exported:.1f} s, {written / exported:,.0f} rows/s; "
            f"peak RSS {_peak_mib():.0f} MiB"
        )

    def _read(self, sheet: Path, rows: int, admin: Any) -> None:
        import csv

        import xlsxwriter

        from tracker.reader import read_sheet
        from tracker.services import ImportReport, _Importer

        workbook = sheet.with_suffix(".xlsx")
        book = xlsxwriter.Workbook(str(workbook), {"constant_memory": True})
        ws = book.add_worksheet()
        with sheet.open(encoding="utf-8", newline="") as handle:
            for r, cells in enumerate(csv.reader(handle, delimiter=";")):
                for c, value in enumerate(cells):
                    ws.write_string(r, c, value)
        book.close()
        for path in (sheet, workbook):
            data = path.read_bytes()
            start = time.perf_counter()
            parsed = read_sheet(data, filename=path.name)
            report = ImportReport(filename=path.name, file_sha256="")
            importer = _Importer(parsed, report, actor=admin, now=NOW, create_missing=False)
            checked = [importer.parse(n, cells) for n, cells in importer.data_rows]
            took = time.perf_counter() - start
            good = sum(1 for row in checked if row is not None)
            self.stdout.write(
                f"read and check {path.suffix[1:].upper()}: {rows:,} rows ({good:,} valid) in "
                f"{took:.1f} s, {rows / took:,.0f} rows/s; peak RSS {_peak_mib():.0f} MiB"
            )
            del parsed, checked, importer
