"""Cell values as people type them in a tracker sheet: dates in many shapes, response
categories and severities in English or Italian. Each parser returns the clean value
or raises ``BadValue`` with a message that completes "row N, column X: ..."."""

from __future__ import annotations

import datetime as dt
import re

from lib.dates import MONTHS
from tracker.columns import fold


class BadValue(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


AWAITING = ""
IGNORED = "ignored"
WITHDRAWN = "withdrawn"

_CATEGORIES = {
    "accepted": "accepted",
    "accept": "accepted",
    "accettata": "accepted",
    "accettato": "accepted",
    "accettare": "accepted",
    "deferred": "deferred",
    "defer": "deferred",
    "postponed": "deferred",
    "posticipata": "deferred",
    "posticipato": "deferred",
    "rinviata": "deferred",
    "rinviato": "deferred",
    "rejected": "rejected",
    "reject": "rejected",
    "declined": "rejected",
    "rifiutata": "rejected",
    "rifiutato": "rejected",
    "respinta": "rejected",
    "ignored": IGNORED,
    "ignorata": IGNORED,
    "ignorato": IGNORED,
    "noresponse": IGNORED,
    "withdrawn": WITHDRAWN,
    "withdraw": WITHDRAWN,
    "ritirata": WITHDRAWN,
    "ritirato": WITHDRAWN,
    "awaiting": AWAITING,
    "awaitingresponse": AWAITING,
    "pending": AWAITING,
    "inattesa": AWAITING,
    "inattesadirisposta": AWAITING,
}

_SEVERITIES = {
    "critical": "critical",
    "critica": "critical",
    "critico": "critical",
    "high": "high",
    "alta": "high",
    "alto": "high",
    "elevata": "high",
    "medium": "medium",
    "media": "medium",
    "medio": "medium",
    "low": "low",
    "bassa": "low",
    "basso": "low",
}


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?$")
_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|°)?\s+([^\W\d_]+)\.?,?\s+(\d{4})$")
_MONTH_DAY_YEAR = re.compile(r"^([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_SERIAL = re.compile(r"^\d{1,7}(?:\.\d+)?$")

DATE_HELP = "use YYYY-MM-DD, DD/MM/YYYY or a date like 3 March 2025"


def _make(year: int, month: int, day: int, raw: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise BadValue(f"{raw!r} is not a real date.") from None


def _month(name: str, raw: str) -> int:
    month = MONTHS.get(fold(name))
    if month is None:
        raise BadValue(f"{raw!r} is not a date I can read; {DATE_HELP}.")
    return month


def parse_date(value: object) -> dt.date | None:
    """A date from a cell: a date/datetime object, an Excel serial number, or text.

    Numeric dates are read day first (Italian and European usage: 03/04/2025 is
    3 April); two-digit years are 20xx.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise BadValue(f"{value!r} is not a date.")
    if isinstance(value, int | float):
        return _serial(float(value), str(value))
    raw = str(value).strip()
    if not raw:
        return None
    if match := _ISO.match(raw):
        return _make(int(match[1]), int(match[2]), int(match[3]), raw)
    if match := _NUMERIC.match(raw):
        year = int(match[3])
        if year < 100:
            year += 2000
        return _make(year, int(match[2]), int(match[1]), raw)
    if match := _DAY_MONTH_YEAR.match(raw):
        return _make(int(match[3]), _month(match[2], raw), int(match[1]), raw)
    if match := _MONTH_DAY_YEAR.match(raw):
        return _make(int(match[3]), _month(match[1], raw), int(match[2]), raw)
    if _SERIAL.match(raw):
        return _serial(float(raw), raw)
    raise BadValue(f"{raw!r} is not a date I can read; {DATE_HELP}.")


def _serial(number: float, raw: str) -> dt.date:
    # Excel's 1900 date system; 1 is 1900-01-01 and serials before 61 are affected by
    # Excel's fictitious 29 February 1900, so we accept only dates from March 1900.
    if not 61 <= number < 2958466:
        raise BadValue(f"{raw!r} is not a date I can read; {DATE_HELP}.")
    return _EXCEL_EPOCH + dt.timedelta(days=int(number))


def parse_category(value: object) -> str:
    """'accepted', 'deferred', 'rejected', 'ignored', 'withdrawn' (by the MSP), or ''
    (awaiting a response)."""
    raw = text(value)
    if not raw:
        return AWAITING
    category = _CATEGORIES.get(fold(raw))
    if category is None:
        raise BadValue(
            f"{raw!r} is not a response category; use Accepted, Deferred, Rejected, Ignored, "
            "Withdrawn (or Accettata, Posticipata, Rifiutata, Ignorata, Ritirata), or leave "
            "it blank."
        )
    return category


def parse_severity(value: object, default: str = "medium") -> str:
    raw = text(value)
    if not raw:
        return default
    severity = _SEVERITIES.get(fold(raw))
    if severity is None:
        raise BadValue(f"{raw!r} is not a severity; use critical, high, medium or low.")
    return severity


def parse_tags(value: object) -> list[str]:
    return sorted({t.strip().lower() for t in re.split(r"[,;|]", text(value)) if t.strip()})


def text(value: object) -> str:
    """A cell as trimmed text; whole floats (12.0 from a spreadsheet) lose the '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    value = str(value).strip()
    # Export writes a leading apostrophe before anything a spreadsheet could run as a
    # formula; reading it back removes it, so the text round-trips unchanged.
    if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
        return value[1:]
    return value
