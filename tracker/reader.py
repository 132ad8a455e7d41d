"""Read a tracker sheet from CSV or XLSX into a header and numbered rows.

CSV: UTF-8 with or without a byte-order mark, else Windows-1252 (what Excel on an
Italian or English Windows saves); the delimiter is whichever of , ; TAB | the header
line uses most. XLSX (and XLS/ODS): python-calamine, a Rust reader that does not
expand XML entities or fetch external references, so a hostile workbook cannot
reach the file system or the network.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

import python_calamine

DELIMITERS = (",", ";", "\t", "|")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class UnreadableFile(Exception):
    """The file is not a CSV or workbook we can read; nothing was imported."""


@dataclass
class Sheet:
    headers: list[str]
    # (spreadsheet row number, cells): the header is row 1 in a CSV file
    rows: list[tuple[int, list[object]]] = field(default_factory=list)


def read_sheet(data: bytes, *, filename: str = "", sheet: str | None = None) -> Sheet:
    """Parse ``data``; raise UnreadableFile with a reason when it cannot be read."""
    if not data.strip():
        raise UnreadableFile("The file is empty.")
    name = filename.lower()
    workbook = name.endswith((".xlsx", ".xlsm", ".xls", ".ods"))
    if workbook or data.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        return _read_workbook(data, sheet)
    if sheet:
        raise UnreadableFile("--sheet applies to workbooks (XLSX), not to CSV files.")
    return _read_csv(data)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"The file says it is UTF-8 but is not ({exc.reason}).") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise UnreadableFile(
            "The file is neither UTF-8 nor Windows-1252 text; save it as CSV UTF-8 or XLSX."
        ) from None


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(data: bytes) -> Sheet:
    text = _decode(data)
    if "\x00" in text:
        raise UnreadableFile("The file contains binary data; save it as CSV or XLSX.")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    try:
        numbered = _non_blank(enumerate(reader, start=1))
        _, headers = next(numbered, (0, []))
        rows = [(number, list(cells)) for number, cells in numbered]
    except csv.Error as exc:
        raise UnreadableFile(f"The CSV file is malformed: {exc}.") from None
    if not headers:
        raise UnreadableFile("The file has no header row.")
    return Sheet(headers=[str(h).strip() for h in headers], rows=rows)


def _read_workbook(data: bytes, sheet: str | None) -> Sheet:
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        if sheet:
            if sheet not in workbook.sheet_names:
                names = ", ".join(workbook.sheet_names)
                raise UnreadableFile(f"The workbook has no sheet {sheet!r}; it has: {names}.")
            ws = workbook.get_sheet_by_name(sheet)
        else:
            ws = workbook.get_sheet_by_index(0)
        first_row = (ws.start or (0, 0))[0] + 1
        cells = ws.iter_rows()
        numbered = _non_blank(enumerate(cells, start=first_row))
        _, headers = next(numbered, (0, []))
        rows = [(number, list(row)) for number, row in numbered]
    except UnreadableFile:
        raise
    except Exception as exc:  # calamine raises several unrelated types for bad input
        raise UnreadableFile(f"The workbook cannot be read: {exc}.") from None
    if not headers:
        raise UnreadableFile("The sheet has no header row.")
    return Sheet(headers=[_header(h) for h in headers], rows=rows)


def _header(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value or "").strip()


def _non_blank(rows: Iterator[tuple[int, list[object]]]) -> Iterator[tuple[int, list[object]]]:
    for number, cells in rows:
        if any(str(c).strip() for c in cells if c is not None):
            yield number, cells
