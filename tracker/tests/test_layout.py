"""Sheets as people keep them: a title above the header, Excel's sep= line, their own
words for the columns, columns we do not use, and a hand-made --map."""

from __future__ import annotations

import io

import pytest
import xlsxwriter

from recommendations.models import Recommendation
from tracker.columns import Column, letter, parse_mapping, parse_mappings
from tracker.reader import UnreadableFile
from tracker.services import tracker_import
from tracker.tests.conftest import csv_bytes

pytestmark = pytest.mark.django_db


def _xlsx(rows: list[list[object]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = book.add_worksheet("Raccomandazioni")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r, c, value)
    book.close()
    return out.getvalue()


TITLED = [
    ["Tracker raccomandazioni di sicurezza — Studio Dentistico Sant'Ambrogio"],
    ["Aggiornato al 3 marzo 2025"],
    [],
    ["Cliente", "Raccomandazione", "Data", "Stato", "Assegnato a", "Motivo", "Scadenza"],
    [
        "Acme Dental",
        "Abilitare l'MFA sulla VPN",
        "15/01/2025",
        "Accettata",
        "ada",
        "",
        "30/06/2026",
    ],
    ["Bravo Legal", "Backup fuori sede", "05/03/2025", "Rifiutata", "", "Costi & tempi", ""],
]


def test_the_header_is_found_under_a_title_and_the_rows_above_it_are_reported(world, now):
    report = tracker_import(
        source=_xlsx(TITLED), filename="studio.xlsx", actor=world["admin"], now=now
    )
    assert (report.created, report.refused) == (2, 0), report.errors
    assert report.notes == [
        'the header is row 4; skipped above it: row 1 "Tracker raccomandazioni di sicurezza — '
        "Studio Dentistico Sant'Ambrogio\"; row 2 'Aggiornato al 3 marzo 2025'"
    ]
    mfa = Recommendation.objects.get(client__name="Acme Dental")
    # "Stato", "Assegnato a", "Motivo" and "Scadenza" are the Italian words people use.
    assert (mfa.status, mfa.owner.username, str(mfa.planned_for)) == (
        "accepted",
        "ada",
        "2026-06-30",
    )
    backups = Recommendation.objects.get(client__name="Bravo Legal")
    assert backups.status == "rejected"
    assert backups.responses.get().justification == "Costi & tempi"


def test_a_csv_saved_by_excel_with_its_sep_line_is_read_with_that_delimiter(world, now):
    sheet = csv_bytes(
        "sep=;",
        "Cliente;Raccomandazione;Data;Esito;Responsabile;Motivazione",
        "Acme Dental;Cifrare i portatili, tutti;1/2/25;Rinviata;ada;Aspettiamo l'hardware nuovo",
        encoding="cp1252",
    )
    report = tracker_import(source=sheet, actor=world["admin"], now=now, dry_run=True)
    assert report.notes == ["the first line 'sep=;' set the delimiter"]
    # Excel does not show the sep= line: the header is row 1, the first row is row 2.
    assert [str(e) for e in report.errors] == []
    assert report.defaults == [
        (
            2,
            "no date; deferred to 2026-02-01, the policy default, already past "
            "(the follow-up sweep will ask the client again)",
        )
    ]


def test_a_deferral_needs_a_justification_even_without_a_date(world, now):
    sheet = csv_bytes(
        "Cliente;Raccomandazione;Data;Esito", "Acme Dental;Cifrare i portatili;1/2/25;Rinviata"
    )
    report = tracker_import(source=sheet, actor=world["admin"], now=now)
    assert [str(e) for e in report.errors] == [
        "row 2, column Justification: A deferral needs a justification."
    ]
    assert report.defaults == [] and not Recommendation.objects.exists()


def test_every_column_that_is_not_imported_is_named(world, now):
    sheet = csv_bytes(
        "Client,Recommendation,Date made,Justification,Notes,Colour,",
        "Acme Dental,Enable MFA,2025-01-10,,looks fine,red,x",
        "Acme Dental,Patch the firewall,2025-01-11,,,,",
    )
    report = tracker_import(source=sheet, actor=world["admin"], now=now)
    assert report.notes == [
        "column E 'Notes' was not imported (column D 'Justification' is the justification)",
        "column F 'Colour' was not imported",
        "column G has no header; its values (1 row) were not imported",
    ]
    assert [c[1] for c in report.choosable] == ["column E 'Notes'", "column F 'Colour'"]


def test_a_decision_column_under_an_unknown_name_is_warned_about_and_map_imports_it(world, now):
    sheet = csv_bytes(
        "Cliente;Raccomandazione;Data;Esito finale;Giustificazione",
        "Acme Dental;Abilitare l'MFA;2025-01-10;Rifiutata;Troppo costoso",
        "Acme Dental;Filtrare la posta;2025-01-11;;",
        "Bravo Legal;Backup fuori sede;2025-01-12;Ignorata;",
    )
    report = tracker_import(source=sheet, actor=world["admin"], now=now, dry_run=True)
    assert report.ok and report.created == 3
    assert report.notes == [
        "column D 'Esito finale' was not imported",
        "warning: column D 'Esito finale' holds response categories (2 of 2 filled cells, "
        "e.g. 'Rifiutata') but the sheet has no response category column, so every row is "
        'imported as awaiting a response; map it with --map "Esito finale=response category" '
        "or on the preview page.",
    ]
    mapping = dict([parse_mapping("esito FINALE=response category")])
    mapped = tracker_import(source=sheet, actor=world["admin"], now=now, mapping=mapping)
    assert mapped.notes == ["column D 'Esito finale' is imported as the response category"]
    assert sorted(Recommendation.objects.values_list("status", flat=True)) == [
        "awaiting_response",
        "ignored",
        "rejected",
    ]


def test_a_better_name_wins_and_two_equal_ones_are_refused(world, now):
    both = csv_bytes(
        "Client,Recommendation,Date made,Status,Decision", "Acme Dental,x,2025-01-01,,"
    )
    with pytest.raises(UnreadableFile) as exc:
        tracker_import(source=both, actor=world["admin"], now=now)
    assert str(exc.value) == (
        "Columns 'Status' and 'Decision' both mean response category; keep one, or choose "
        'with --map "Decision=ignore".'
    )
    chosen = tracker_import(
        source=both, actor=world["admin"], now=now, mapping={"Decision": None}, dry_run=True
    )
    assert chosen.ok and chosen.notes == ["column E 'Decision' is left out, as mapped"]


def test_a_title_only_sheet_without_the_required_columns_is_refused_naming_them(world, now):
    rows = [["Tracker 2024"], ["Cliente", "Cosa", "Quando"], ["Acme Dental", "MFA", "2025-01-01"]]
    with pytest.raises(UnreadableFile) as exc:
        tracker_import(source=_xlsx(rows), filename="t.xlsx", actor=world["admin"], now=now)
    assert str(exc.value).startswith(
        "The sheet has no Recommendation or Date made column in its first 20 rows "
        "(the best candidate is row 2)"
    )
    with pytest.raises(UnreadableFile, match=r"--map names a column the header \(row 2\) does not"):
        tracker_import(
            source=_xlsx(rows),
            filename="t.xlsx",
            actor=world["admin"],
            now=now,
            mapping={"Cosa": Column.RECOMMENDATION, "Quando": Column.DATE_MADE, "Chi": None},
        )
    report = tracker_import(
        source=_xlsx(rows),
        filename="t.xlsx",
        actor=world["admin"],
        now=now,
        mapping={"Cosa": Column.RECOMMENDATION, "Quando": Column.DATE_MADE},
        dry_run=True,
    )
    assert report.ok and report.created == 1


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("Stato=response category", ("Stato", Column.CATEGORY)),
        ("Responsabile IT = Follow-up owner", ("Responsabile IT", Column.OWNER)),
        ("Note=ignore", ("Note", None)),
        ("a=b=date made", ("a=b", Column.DATE_MADE)),
        ("Quando=data", ("Quando", Column.DATE_MADE)),
        ("Ref=external_id", ("Ref", Column.EXTERNAL_ID)),
    ],
)
def test_a_map_names_a_header_and_a_column(spec, expected):
    assert parse_mapping(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("Stato", "--map 'Stato': write it as HEADER=COLUMN"),
        ("Stato=colour", "--map 'Stato=colour': 'colour' is not a column; use one of client,"),
    ],
)
def test_a_bad_map_is_refused_with_a_sentence(spec, message):
    with pytest.raises(ValueError) as exc:
        parse_mapping(spec)
    assert str(exc.value).startswith(message)


def test_column_letters_go_past_z():
    assert [letter(p) for p in (0, 5, 25, 26, 27, 701, 702)] == [
        "A",
        "F",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]


def test_several_maps_are_one_mapping_and_a_header_named_two_ways_is_refused():
    assert parse_mappings(["Stato=response category", "Note=ignore"]) == {
        "Stato": Column.CATEGORY,
        "Note": None,
    }
    assert parse_mappings(["Stato=response category", "STATO=category"]) == {
        "Stato": Column.CATEGORY
    }
    with pytest.raises(ValueError, match="names the column 'stato' twice"):
        parse_mappings(["Stato=response category", "stato=ignore"])
