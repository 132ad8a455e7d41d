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
        "Giustificazione;Data di attuazione prevista;Dettagli;Data della decisione;Gravità;Tag;"
        "Rinviata al;Data di revisione;ID esterno"
    )
    assert lines[1] == (
        "Acme Dental;Enable MFA on the VPN;2025-01-15;Accettata;ada;;2026-06-30;;2025-01-15;"
        "Critica;mfa, vpn;;;ACME-1"
    )
    assert '"\'=HYPERLINK(""http://evil.example"",""click"")"' in text
    # The title in its column, the whole text in Dettagli.
    assert (
        "Bravo Legal;Replace Windows 7;2025-03-06;Rifiutata;;'@finance said no;;\"Replace Windows 7"
        '\nin reception";2025-03-06;Media;;;2026-03-06;sheet-'
    ) in text
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
    header, *rows = sheet.rows
    assert header[1][0] == "Cliente" and {r[1][0] for r in rows} == {"Bravo Legal"}


def _made_in_heeded(admin, contact_a, contact_b) -> None:
    """Recommendations as staff make them in Heeded, not imported: a title apart from
    the text, no external id, an owner whose username has a dot, answers recorded
    days after the presentation, a withdrawal, two items with the same title on one
    day."""
    import datetime as dt

    from recommendations import services

    owner = User.objects.create_user(
        username="marco.verdi", role=Role.TECHNICIAN, first_name="Marco", last_name="Verdi"
    )
    t0 = dt.datetime(2025, 11, 3, 16, 47, 12, 345678, tzinfo=dt.UTC)

    def made(client, title, body, *, at, severity="high", **extra):
        rec = services.recommendation_create(
            client=client,
            actor=admin,
            now=at,
            title=title,
            body=body,
            severity=severity,
            tags=["imported-later", "perché"],
            **extra,
        )
        return services.recommendation_present(recommendation=rec, actor=admin, now=at)

    def answer(rec, decision, at, **extra):
        services.response_record(
            recommendation=rec,
            decision=decision,
            channel="phone",
            now=at,
            recorded_by=admin,
            responder_name="Chiara D'Angelo",
            **extra,
        )

    acme, bravo = contact_a.client, contact_b.client
    mfa = made(
        acme,
        "Enable MFA on the VPN",
        "Enforce MFA on the VPN.\nThen on webmail.",
        at=t0,
        owner=owner,
        severity="critical",
    )
    answer(
        mfa, "accepted", t0 + dt.timedelta(days=3, microseconds=1), planned_for=dt.date(2026, 6, 30)
    )
    for site in ("Milano", "Roma"):
        made(
            acme,
            "Replace the unsupported firewall",
            f"The firewall at {site} is out of support.",
            at=t0 + dt.timedelta(hours=1),
        )
    backups = made(
        bravo,
        "Offsite backups",
        "Keep an offsite copy; test a restore each quarter.",
        at=t0 + dt.timedelta(days=1),
        owner=owner,
    )
    answer(
        backups,
        "rejected",
        t0 + dt.timedelta(days=12, hours=3),
        justification="Troppo caro per quest'anno & non prioritario",
    )
    laps = made(bravo, "Windows LAPS", "Turn on Windows LAPS.", at=t0 + dt.timedelta(days=2))
    answer(
        laps,
        "deferred",
        t0 + dt.timedelta(days=5),
        deferred_until=dt.date(2026, 9, 1),
        justification="Dopo la migrazione",
    )
    services.recommendation_withdraw(
        recommendation=laps,
        actor=admin,
        reason="Superseded by Intune",
        now=t0 + dt.timedelta(days=40),
    )
    smb = made(bravo, "Disable SMBv1", "Disable SMBv1", at=t0 + dt.timedelta(days=3))
    services.recommendation_mark_ignored(recommendation=smb, now=t0 + dt.timedelta(days=30))


@pytest.mark.django_db(transaction=True)
def test_a_sheet_of_recommendations_made_in_heeded_round_trips_exactly(
    admin, manager, contact_a, contact_b, now
):
    _made_in_heeded(admin, contact_a, contact_b)
    first = {
        (fmt, lang): _export(admin, fmt, lang) for fmt in ("csv", "xlsx") for lang in ("en", "it")
    }
    lines = first["csv", "en"].decode("utf-8-sig").split("\r\n")
    assert lines[1].startswith(
        "Acme Dental,Enable MFA on the VPN,2025-11-03,Accepted,marco.verdi,,2026-06-30,"
        '"Enforce MFA on the VPN.\nThen on webmail.",2025-11-06,Critical,'
    )
    ids = [line.rsplit(",", 1)[1] for line in lines[1:4]]
    assert ids[2] == ids[1] + "-2" and ids[1].startswith("sheet-")
    assert (
        "Bravo Legal,Windows LAPS,2025-11-05,Withdrawn,,Superseded by Intune,,"
        "Turn on Windows LAPS.,2025-12-13,"
    ) in first["csv", "en"].decode()
    # Importing the export back into the same database finds every row.
    for (fmt, lang), data in first.items():
        same = tracker_import(source=data, filename=f"t.{fmt}", actor=admin, now=now, dry_run=True)
        assert (same.created, same.unchanged, same.refused) == (0, 6, 0), (fmt, lang, same.errors)
    for (fmt, lang), data in first.items():
        call_command("flush", interactive=False, verbosity=0)
        ada = User.objects.create_user(username="ada", role=Role.ADMIN, password="x")
        again = tracker_import(
            source=data, filename=f"t.{fmt}", actor=ada, now=now, create_missing=True
        )
        assert (again.created, again.refused) == (6, 0), (fmt, lang, again.errors)
        assert User.objects.filter(username="marco.verdi").exists()
        # xlsxwriter's fixed creation date (write_xlsx) makes the workbook byte-identical.
        assert _export(ada, fmt, lang) == data, (fmt, lang)
