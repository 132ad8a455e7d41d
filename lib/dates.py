"""Calendar words shared by the parsers that read dates people type (e-mail replies,
spreadsheets)."""

from __future__ import annotations

# English and Italian month names and their usual abbreviations, lower case.
MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "gennaio": 1, "gen": 1,
    "february": 2, "feb": 2, "febbraio": 2,
    "march": 3, "mar": 3, "marzo": 3,
    "april": 4, "apr": 4, "aprile": 4,
    "may": 5, "maggio": 5, "mag": 5,
    "june": 6, "jun": 6, "giugno": 6, "giu": 6,
    "july": 7, "jul": 7, "luglio": 7, "lug": 7,
    "august": 8, "aug": 8, "agosto": 8, "ago": 8,
    "september": 9, "sep": 9, "sept": 9, "settembre": 9, "set": 9,
    "october": 10, "oct": 10, "ottobre": 10, "ott": 10,
    "november": 11, "nov": 11, "novembre": 11,
    "december": 12, "dec": 12, "dicembre": 12, "dic": 12,
}  # fmt: skip
