from __future__ import annotations

import datetime as dt
import io

import pytest
import xlsxwriter

from tracker.reader import UnreadableFile, read_sheet


def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, dt.date):
                    ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
                else:
                    ws.write(r, c, value)
    book.close()
    return out.getvalue()


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_it_finds_the_delimiter_from_the_header(delimiter):
    data = delimiter.join(["Cliente", "Raccomandazione", "Data"]) + "\n"
    data += delimiter.join(["Acme", '"MFA, everywhere"', "2025-01-02"]) + "\n"
    sheet = read_sheet(data.encode())
    assert sheet.rows == [
        (1, ["Cliente", "Raccomandazione", "Data"]),
        (2, ["Acme", "MFA, everywhere", "2025-01-02"]),
    ]


def test_it_reads_utf8_with_a_bom_and_windows_1252():
    text = "Cliente;Raccomandazione;Gravità\nCaffè Roma;Cifrare i portatili;alta\n"
    bom = read_sheet(b"\xef\xbb\xbf" + text.encode("utf-8"))
    ansi = read_sheet(text.encode("cp1252"))
    assert (
        bom.rows
        == ansi.rows
        == [
            (1, ["Cliente", "Raccomandazione", "Gravità"]),
            (2, ["Caffè Roma", "Cifrare i portatili", "alta"]),
        ]
    )


def test_it_reads_the_first_sheet_or_the_named_one_of_a_workbook():
    data = _xlsx(
        {
            "Summary": [
                ["Client", "Recommendation", "Date made"],
                ["A", "MFA", dt.date(2025, 1, 2)],
            ],
            "2024": [["Client", "Recommendation", "Date made"], [], ["B", "EDR", 45720]],
        }
    )
    first = read_sheet(data, filename="t.xlsx")
    assert first.rows[1:] == [(2, ["A", "MFA", dt.date(2025, 1, 2)])]
    named = read_sheet(data, filename="t.xlsx", sheet="2024")
    assert named.rows[1:] == [(3, ["B", "EDR", 45720.0])]
    with pytest.raises(
        UnreadableFile, match=r"The workbook has no sheet 'Nope'; it has: Summary, 2024\."
    ):
        read_sheet(data, sheet="Nope")


def test_it_refuses_binary_that_is_neither_text_nor_a_workbook():
    with pytest.raises(UnreadableFile, match="neither UTF-8 nor Windows-1252"):
        read_sheet(b"Client\x81\x8d\x8f\n")
    with pytest.raises(UnreadableFile, match="--sheet applies to workbooks"):
        read_sheet(b"Client,Recommendation\n", sheet="x")
