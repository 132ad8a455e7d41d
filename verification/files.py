"""Reading the Get-HotFix files people already have (docs/collector.md, "Files").

Shapes read: ``Get-HotFix | Export-Csv`` from Windows PowerShell 5.1 (a ``#TYPE`` first
line; ASCII, UTF-8 with a BOM or UTF-16LE when ``-Encoding Unicode`` or ``>`` wrote it)
and from PowerShell 7 (UTF-8, no ``#TYPE``); ``Get-HotFix | ConvertTo-Json`` from 5.1
(``InstalledOn`` as ``{"value": "/Date(ms)/", "DateTime": "…"}``, and one object
rather than an array when there is one hotfix) and from 7 (ISO dates).

``parse_hotfix_file`` is pure: it returns the machines it found, each with its
hotfixes, and one located sentence per refused or doubtful item.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
from typing import Any

from verification.hotfixes import day_first_in, kb_number, parse_installed_on
from verification.services import Hotfix


class Msg:
    UNREADABLE_ENCODING = "The file is neither UTF-8, UTF-16 nor Windows-1252 text."
    EMPTY = "The file is empty."
    NOT_JSON = "The file looks like JSON but is not: {error}"
    NO_HOTFIXID_COLUMN = (
        "No HotFixID column: this is not Get-HotFix output (columns found: {columns})."
    )
    NOT_OBJECTS = "The JSON is neither a Get-HotFix object nor an array of them."
    NO_COMPUTER = (
        "{where}: no CSName or PSComputerName, and no --computer given: "
        "cannot tell which machine this is."
    )
    HOTFIXID_EMPTY = "{where}: HotFixID is empty."
    HOTFIXID_TOO_LONG = "{where}: HotFixID is longer than 64 characters."
    NOT_AN_OBJECT = "{where}: not an object."
    NOT_KB = "{where}: {hotfix_id!r} is not a KB number; kept and flagged."
    DATE_UNREAD = "{where}: InstalledOn {problem}."
    DUPLICATE = "{where}: {hotfix_id} already listed for {computer}; ignored."


class UnreadableFile(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclasses.dataclass
class Parsed:
    machines: dict[str, list[Hotfix]] = dataclasses.field(default_factory=dict)
    refused: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)


def decode(data: bytes) -> str:
    """The text of ``data``, by its BOM, else UTF-8, else Windows-1252."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise UnreadableFile(Msg.UNREADABLE_ENCODING) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise UnreadableFile(Msg.UNREADABLE_ENCODING) from None


def parse_hotfix_file(data: bytes, *, computer: str = "") -> Parsed:
    """Machines and hotfixes of a Get-HotFix CSV or JSON file; UnreadableFile when
    the file as a whole cannot be read."""
    text = decode(data).replace("\x00", "")
    stripped = text.lstrip()
    if not stripped:
        raise UnreadableFile(Msg.EMPTY)
    if stripped[0] in "[{":
        return _parse_json(stripped, computer)
    return _parse_csv(text, computer)


def _value(field: Any) -> str:
    """A JSON value as text: 5.1 wraps DateTime as {"value": "/Date(…)/", "DateTime": …}."""
    if isinstance(field, dict):
        field = field.get("value", field.get("DateTime"))
    if field is None:
        return ""
    return str(field).strip()


def _add(
    parsed: Parsed,
    seen: set[tuple[str, str]],
    *,
    where: str,
    row: dict[str, Any],
    computer: str,
    day_first: bool | None,
) -> None:
    name = (_value(row.get("CSName")) or _value(row.get("PSComputerName")) or computer).strip()
    hotfix_id = _value(row.get("HotFixID"))
    if not hotfix_id:
        parsed.refused.append(Msg.HOTFIXID_EMPTY.format(where=where))
        return
    if len(hotfix_id) > 64:
        parsed.refused.append(Msg.HOTFIXID_TOO_LONG.format(where=where))
        return
    if not name:
        parsed.refused.append(Msg.NO_COMPUTER.format(where=where))
        return
    key = (name.upper(), hotfix_id.upper())
    if key in seen:
        parsed.warnings.append(
            Msg.DUPLICATE.format(where=where, hotfix_id=hotfix_id, computer=name)
        )
        return
    seen.add(key)
    if kb_number(hotfix_id) is None:
        parsed.warnings.append(Msg.NOT_KB.format(where=where, hotfix_id=hotfix_id))
    raw_date = _value(row.get("InstalledOn"))
    _, problem = parse_installed_on(raw_date, day_first=day_first)
    if problem:
        parsed.warnings.append(Msg.DATE_UNREAD.format(where=where, problem=problem))
    machine = next((m for m in parsed.machines if m.upper() == name.upper()), name)
    parsed.machines.setdefault(machine, []).append(
        Hotfix(
            hotfix_id=hotfix_id,
            description=_value(row.get("Description"))[:255],
            installed_by=_value(row.get("InstalledBy"))[:255],
            installed_on_raw=raw_date[:100],
            day_first=day_first,
        )
    )


def _parse_json(text: str, computer: str) -> Parsed:
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise UnreadableFile(Msg.NOT_JSON.format(error=exc)) from None
    items = [loaded] if isinstance(loaded, dict) else loaded
    if not isinstance(items, list):
        raise UnreadableFile(Msg.NOT_OBJECTS)
    parsed = Parsed()
    seen: set[tuple[str, str]] = set()
    day_first = day_first_in(_value(i.get("InstalledOn")) for i in items if isinstance(i, dict))
    for index, item in enumerate(items):
        where = f"item {index}" if isinstance(loaded, list) else "the object"
        if not isinstance(item, dict):
            parsed.refused.append(Msg.NOT_AN_OBJECT.format(where=where))
            continue
        _add(parsed, seen, where=where, row=item, computer=computer, day_first=day_first)
    return parsed


def _parse_csv(text: str, computer: str) -> Parsed:
    lines = text.splitlines(keepends=True)
    first_line = 1
    if lines and lines[0].startswith("#TYPE"):
        lines = lines[1:]
        first_line = 2
    reader = csv.DictReader(io.StringIO("".join(lines)))
    columns = reader.fieldnames or []
    if "HotFixID" not in columns:
        raise UnreadableFile(
            Msg.NO_HOTFIXID_COLUMN.format(columns=", ".join(columns[:8]) or "none")
        )
    # reader.line_num counts from the header (line 1 of what it reads).
    rows = [(reader.line_num + first_line - 1, row) for row in reader]
    day_first = day_first_in(row.get("InstalledOn") for _, row in rows)
    parsed = Parsed()
    seen: set[tuple[str, str]] = set()
    for line, row in rows:
        if not any((v or "").strip() for k, v in row.items() if k is not None):
            continue
        _add(parsed, seen, where=f"line {line}", row=row, computer=computer, day_first=day_first)
    return parsed
