from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.choices import Role
from accounts.models import User
from ledger.verify import verify_all
from tracker.export import export_rows, neutralise, write_csv, write_xlsx
from tracker.reader import read_sheet
from tracker.services import tracker_import
from tracker.tests.conftest import csv_bytes

SHEET = csv_bytes(
    "Client,Recommendation,Date made,Response category,Follow-up owner,Justification,"
    "Planned implementation date,Severity,Tags,Deferred until,External id",
    "Acme Dental,Enable MFA on the VPN,2025-01-15,Accepted,ada,,2026-06-30,critical,"
    "mfa; vpn,,ACME-1",
    "Acme Dental,Patch the firewall,2025-02-01,Accepted,marco,,2025-03-01,high,,,",
    'Acme Dental,"=HYPERLINK(""http://evil.example"",""click"")",2025-02-02,,,,,low,,,',
    "Bravo Legal,Offsite backups,2025-03-05,Deferred,marco,Budget next year,,medium,,2026-09-01,",
    'Bravo Legal,"Replace Windows 7\nin reception",2025-03-06,Rejected,,"@finance said no",,,,,',
    "Bravo Legal,Disable SMBv1,2025-03-07,Ignored,,,,,,,",
)


def _export(user, fmt: str, language: str) -> bytes:
    out = io.BytesIO()
    writer = write_xlsx if fmt == "xlsx" else write_csv
    writer(out, export_rows(user, language=language), language=language)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_export_then_import_into_an_empty_database_then_export_gives_the_same_file(
    admin, manager, contact_a, contact_b, now
):
    report = tracker_import(source=SHEET, actor=admin, now=now)
    assert report.created == 6, report.errors
    first = {
        (fmt, lang): _export(admin, fmt, lang) for fmt in ("csv", "xlsx") for lang in ("en", "it")
    }
    for (fmt, lang), data in first.items():
        call_command("flush", interactive=False, verbosity=0)
        ada = User.objects.create_user(username="ada", role=Role.ADMIN, password="x")
        again = tracker_import(
            source=data, filename=f"t.{fmt}", actor=ada, now=now, create_missing=True
        )
        assert (again.created, again.refused) == (6, 0), (fmt, lang, again.errors)
        assert verify_all().ok
        assert _export(ada, fmt, lang) == data, (fmt, lang)


@pytest.mark.django_db
def test_the_export_neutralises_formulas_and_writes_italian_labels(
    admin, manager, contact_a, contact_b, now
):
    tracker_import(source=SHEET, actor=admin, now=now)
    text = _export(admin, "csv", "it").decode("utf-8")
    lines = text.lstrip("\ufeff").split("\r\n")
    assert lines[0] == (
        "Cliente;Raccomandazione;Data;Categoria di risposta;Responsabile del follow-up;"
        "Giustificazione;Data di attuazione prevista;Gravità;Tag;Rinviata al;Data di revisione;"
        "ID esterno"
    )
    assert lines[1] == (
        "Acme Dental;Enable MFA on the VPN;2025-01-15;Accettata;ada;;2026-06-30;Critica;mfa, vpn;;;"
        "ACME-1"
    )
    assert '"\'=HYPERLINK(""http://evil.example"",""click"")"' in text
    assert ";Rifiutata;;'@finance said no;;Media;;;2026-03-06;" in text
    xlsx = read_sheet(_export(admin, "xlsx", "en"), filename="t.xlsx")
    cells = [c for _, row in xlsx.rows for c in row]
    assert '\'=HYPERLINK("http://evil.example","click")' in cells


def test_neutralise_drops_control_characters_and_guards_formula_starts():
    assert neutralise("+39 055 123") == "'+39 055 123"
    assert neutralise("-1") == "'-1"
    assert neutralise("\tcmd") == "'\tcmd"
    assert neutralise("bell\x07 and null\x00") == "bell and null"
    assert neutralise("plain") == "plain"


@pytest.mark.django_db
def test_the_export_command_writes_one_clients_rows(
    admin, manager, contact_a, contact_b, now, tmp_path, capsys
):
    tracker_import(source=SHEET, actor=admin, now=now)
    path = tmp_path / "bravo.xlsx"
    call_command("export", str(path), "--client", "bravo-legal", "--language", "it")
    assert capsys.readouterr().out.strip() == f"exported 3 recommendations to {path}"
    sheet = read_sheet(path.read_bytes(), filename=path.name)
    assert sheet.headers[0] == "Cliente" and {r[1][0] for r in sheet.rows} == {"Bravo Legal"}
