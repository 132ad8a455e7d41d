"""Pure helpers for Get-HotFix values as they really come: KB ids and the other ids
(``File 1``), and InstalledOn in every shape PowerShell writes it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

_KB = re.compile(r"^KB(\d{6,8})$", re.IGNORECASE)
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_NUMERIC = re.compile(r"^(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})(?:[ T].*)?$")


def kb_number(hotfix_id: str) -> int | None:
    """5034441 for ``KB5034441`` (any case); None for ``File 1`` and other ids."""
    match = _KB.match(hotfix_id.strip())
    return int(match.group(1)) if match else None


def day_first_in(raws: Iterable[str | None]) -> bool | None:
    """Whether the numeric dates of one file put the day first: one unambiguous date
    (``13/01/2026`` or ``1/13/2026``) settles it for the whole file, since one machine
    writes every date in one culture. None when nothing settles it or dates disagree."""
    found: set[bool] = set()
    # A machine's updates share a few install dates: read each distinct one once.
    for raw in set(raws):
        match = _NUMERIC.match((raw or "").strip())
        if match and match.group(2) != "." and int(match.group(1)) <= 31:
            a, b = int(match.group(1)), int(match.group(3))
            if a > 12 >= b:
                found.add(True)
            elif b > 12 >= a:
                found.add(False)
    return found.pop() if len(found) == 1 else None


def parse_installed_on(
    raw: str | None, *, day_first: bool | None = None
) -> tuple[dt.date | None, str]:
    """(date, problem). Blank gives (None, ""); a shape that cannot be read without
    guessing (``03/04/2026`` when ``day_first`` is unknown) gives (None, a sentence)."""
    text = (raw or "").strip()
    if not text:
        return None, ""
    ms = _MS_DATE.match(text)
    if ms:
        # Windows PowerShell 5.1's ConvertTo-Json: milliseconds since 1970, in UTC.
        # InstalledOn is a local midnight: twelve hours on, the UTC date is the local
        # date for every offset within ±12 hours (Rome's 13 January is 23:00Z on the 12th).
        instant = dt.datetime.fromtimestamp(int(ms.group(1)) / 1000, tz=dt.UTC)
        return (instant + dt.timedelta(hours=12)).date(), ""
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text[:10]), ""
        except ValueError:
            return None, f"{text!r} is not a date"
    match = _NUMERIC.match(text)
    if not match:
        return None, f"{text!r} is not a date shape Heeded reads"
    a, sep, b, c = int(match.group(1)), match.group(2), int(match.group(3)), int(match.group(4))
    if a > 31:  # 2026/01/13
        year, month, day = a, b, c
    elif sep == "." or a > 12:  # de-DE, ru-RU (dots), or 13/01/2026: day first
        day, month, year = a, b, c
    elif b > 12:  # 1/13/2026: month first (en-US)
        month, day, year = a, b, c
    elif a == b or day_first:
        day, month, year = a, b, c
    elif day_first is False:
        month, day, year = a, b, c
    else:
        return None, f"{text!r} could be day/month or month/day: kept as text"
    if year < 100:
        year += 2000
    try:
        return dt.date(year, month, day), ""
    except ValueError:
        return None, f"{text!r} is not a date"
