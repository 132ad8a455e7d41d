from __future__ import annotations

import pytest
from django.core.management import call_command

from recommendations.models import Recommendation

pytestmark = pytest.mark.django_db


def _run(*args: str) -> int:
    try:
        call_command("import", *args)
    except SystemExit as exit_:
        return int(exit_.code)
    raise AssertionError("the command must exit with a status")


def test_it_exits_1_and_prints_located_errors_when_a_row_is_refused(world, tmp_path, messy, capsys):
    path = tmp_path / "messy.csv"
    path.write_bytes(messy)
    assert _run(str(path), "--as", "ada") == 1
    out, err = capsys.readouterr()
    assert "row 3, column Giustificazione: A rejection needs a justification." in err
    assert out.splitlines() == [
        "column I 'Note' was not imported (column F 'Giustificazione' is the justification)",
        # The command runs at the real time, by which this default date has passed.
        "row 10: no date; deferred to 2026-04-10, the policy default, already past "
        "(the follow-up sweep will ask the client again)",
        "messy.csv: created 4, unchanged 0, updated 0, refused 7; nothing was imported because "
        "a row was refused (fix the rows above, or import the rest with --skip-invalid)",
    ]
    assert not Recommendation.objects.exists()


def test_it_exits_0_when_every_row_is_accepted_and_2_when_the_file_is_unreadable(
    world, tmp_path, capsys
):
    good = tmp_path / "good.csv"
    good.write_text("Client,Recommendation,Date made\nAcme Dental,Enable MFA,2025-01-10\n")
    assert _run(str(good), "--as", "ada") == 0
    assert capsys.readouterr().out.strip() == (
        "imported good.csv: created 1, unchanged 0, updated 0, refused 0"
    )
    assert _run(str(tmp_path / "missing.csv"), "--as", "ada") == 2
    assert "Cannot open" in capsys.readouterr().err
    assert _run(str(good), "--as", "nobody") == 2
    assert Recommendation.objects.count() == 1


def test_it_reads_a_windows_1252_sheet_and_records_the_file_hash(world, tmp_path, capsys):
    import hashlib

    from ledger.models import Event

    data = (
        "Cliente;Raccomandazione;Data;Gravità\r\n"
        "Acme Dental;Cifrare i portatili è urgente;1/2/25;Alta\r\n"
    )
    path = tmp_path / "vecchio.csv"
    path.write_bytes(data.encode("cp1252"))
    assert _run(str(path), "--as", "ada") == 0
    rec = Recommendation.objects.get()
    assert rec.title == "Cifrare i portatili è urgente" and rec.severity == "high"
    mark = Event.objects.get(kind="tracker.imported")
    assert mark.data["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert mark.data["row"] == 2 and mark.actor == "staff:ada"


def test_map_names_a_column_by_hand_and_a_bad_map_exits_2(world, tmp_path, capsys):
    path = tmp_path / "stato.csv"
    path.write_text(
        "Tracker raccomandazioni di sicurezza — Acme\n"
        "Cliente;Raccomandazione;Data;Stato avanzamento;Giustificazione\n"
        "Acme Dental;Abilitare l'MFA;10/01/2025;Rifiutata;Troppo costoso\n",
        encoding="utf-8",
    )
    assert _run(str(path), "--as", "ada", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "warning: column D 'Stato avanzamento' holds response categories" in out
    assert _run(str(path), "--as", "ada", "--map", "Stato avanzamento=response category") == 0
    assert capsys.readouterr().out.splitlines() == [
        "the header is row 2; skipped above it: "
        "row 1 'Tracker raccomandazioni di sicurezza — Acme'",
        "column D 'Stato avanzamento' is imported as the response category",
        "imported stato.csv: created 1, unchanged 0, updated 0, refused 0",
    ]
    assert Recommendation.objects.get().status == "rejected"
    assert _run(str(path), "--as", "ada", "--map", "Stato avanzamento") == 2
    assert "write it as HEADER=COLUMN" in capsys.readouterr().err


def test_the_same_column_mapped_twice_two_ways_exits_2_and_imports_nothing(world, tmp_path, capsys):
    path = tmp_path / "stato.csv"
    path.write_text(
        "Cliente;Raccomandazione;Data;Stato avanzamento;Giustificazione\n"
        "Acme Dental;Abilitare l'MFA;10/01/2025;Rifiutata;Troppo costoso\n",
        encoding="utf-8",
    )
    status = _run(
        str(path),
        "--as",
        "ada",
        "--map",
        "Stato avanzamento=response category",
        "--map",
        "stato AVANZAMENTO=ignore",
    )
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        "heeded import: --map names the column 'stato AVANZAMENTO' twice: "
        "as response category and as ignore; keep one."
    )
    assert not Recommendation.objects.exists()
    # The same choice twice is no conflict.
    again = ("--map", "Stato avanzamento=response category")
    assert _run(str(path), "--as", "ada", *again, *again) == 0
    assert Recommendation.objects.get().status == "rejected"
