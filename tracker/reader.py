"""Read a tracker sheet from CSV or XLSX into numbered rows; ``tracker.layout`` then
finds the header among them (real sheets often have a title and a note above it).

CSV: UTF-8 with or without a byte-order mark, else Windows-1252 (what Excel on an
Italian or English Windows saves). The delimiter is the one an Excel ``sep=;`` first
line names, else whichever of , ; TAB | splits one of the first rows into the most
known headers, else the one those rows use most. XLSX (and XLS/ODS): python-calamine,
a Rust reader that does not expand XML entities or fetch external references, so a
hostile workbook cannot reach the file system or the network.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import python_calamine

from lib.uploads import UploadRefused, check_zip_container
from tracker.columns import recognise

DELIMITERS = (",", ";", "\t", "|")
# The header is looked for among this many non-blank rows at the top of the sheet.
HEADER_SEARCH_ROWS = 20
_SEP_LINE = re.compile(r'^"?sep=(.)"?[,;\t|]*\r?$', re.IGNORECASE)
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class UnreadableFile(Exception):
    """The file is not a CSV or workbook we can read; nothing was imported."""


@dataclass
class Sheet:
    """A readable sheet whose rows are produced as they are asked for, so a large
    sheet is never held as Python objects all at once: the CSV's text or the
    workbook's cells (kept compactly by calamine) are read again on each pass."""

    # Every row of the sheet, blank ones included, the first numbered ``first_row``.
    source: Callable[[], Iterable[list[object]]]
    first_row: int = 1
    # The delimiter an Excel "sep=" first line named, for the report.
    sep_line: str = ""

    def iter_rows(self) -> Iterator[tuple[int, list[object]]]:
        """(row number as the spreadsheet shows it, cells) of every non-blank row, the
        header and anything above it included; blank rows are left out."""
        try:
            yield from _non_blank(enumerate(self.source(), self.first_row))
        except csv.Error as exc:
            raise UnreadableFile(f"The CSV file is malformed: {exc}.") from None

    def head(self, count: int = HEADER_SEARCH_ROWS) -> list[tuple[int, list[object]]]:
        """The first ``count`` non-blank rows, where the header is looked for."""
        rows = []
        for row in self.iter_rows():
            rows.append(row)
            if len(rows) == count:
                break
        return rows

    def release(self) -> None:
        """Let go of the text or the workbook's cells once every row has been read:
        the sheet is empty from here."""
        self.source = _nothing

    @property
    def rows(self) -> list[tuple[int, list[object]]]:
        """Every non-blank row at once (small sheets, tests)."""
        return list(self.iter_rows())


def read_sheet(
    data: bytes,
    *,
    filename: str = "",
    sheet: str | None = None,
    is_header: Callable[[str], bool] = lambda h: recognise(h) is not None,
) -> Sheet:
    """Parse ``data``; raise UnreadableFile with a reason when it cannot be read.

    ``is_header`` tells a known header (a hand-mapped one too) when guessing a CSV
    file's delimiter."""
    if not data.strip():
        raise UnreadableFile("The file is empty.")
    name = filename.lower()
    workbook = name.endswith((".xlsx", ".xlsm", ".xls", ".ods"))
    if workbook or data.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        return _read_workbook(data, sheet)
    if sheet:
        raise UnreadableFile("--sheet applies to workbooks (XLSX), not to CSV files.")
    return _read_csv(data, is_header)


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


def _delimiter(lines: list[str], is_header: Callable[[str], bool]) -> str:
    # The header may sit under a title, so every one of the top lines is a candidate:
    # the delimiter that splits one of them into the most known headers wins.
    def headers_found(delimiter: str) -> int:
        rows = csv.reader(lines, delimiter=delimiter)
        return max((sum(1 for cell in row if is_header(cell)) for row in rows), default=0)

    found = {d: headers_found(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: found[d])
    if found[best] >= 2:
        return best
    counts = {d: sum(line.count(d) for line in lines) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(data: bytes, is_header: Callable[[str], bool]) -> Sheet:
    text = _decode(data)
    if "\x00" in text:
        raise UnreadableFile("The file contains binary data; save it as CSV or XLSX.")
    first_line, _, rest = text.partition("\n")
    sep_line = ""
    if match := _SEP_LINE.match(first_line.strip("\ufeff ")):
        # Excel writes "sep=;" so that it opens the file with that delimiter, and does
        # not show that line as a row: the header after it is row 1.
        sep_line, text = first_line.strip(), rest
        delimiter = match[1]
    else:
        top = [line for line in text.splitlines() if line.strip()][:HEADER_SEARCH_ROWS]
        delimiter = _delimiter(top, is_header)
    body = text

    def source() -> Iterable[list[object]]:
        return csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)

    sheet = Sheet(source=source, sep_line=sep_line)
    if not sheet.head(1):
        raise UnreadableFile("The file has no header row.")
    return sheet


def _read_workbook(data: bytes, sheet: str | None) -> Sheet:
    try:
        check_zip_container(data)
    except UploadRefused as exc:
        raise UnreadableFile(str(exc)) from None
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
        # calamine holds the cells compactly; each pass makes Python rows one at a time.
        sheet = Sheet(source=ws.iter_rows, first_row=first_row)
        empty = not sheet.head(1)
    except UnreadableFile:
        raise
    except Exception as exc:  # calamine raises several unrelated types for bad input
        raise UnreadableFile(f"The workbook cannot be read: {exc}.") from None
    if empty:
        raise UnreadableFile("The sheet has no header row.")
    return sheet


def _nothing() -> Iterable[list[object]]:
    return ()


def _non_blank(rows: Iterator[tuple[int, Iterable[object]]]) -> Iterator[tuple[int, list[object]]]:
    for number, cells in rows:
        cells = list(cells)
        first = cells[0] if cells else None
        # Most rows start with a filled cell: a plain test of it skips the scan.
        if (
            type(first) is str and first and not first[0].isspace() and not first[-1].isspace()
        ) or any(str(c).strip() for c in cells if c is not None):
            yield number, cells
