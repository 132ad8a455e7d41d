"""The tracker's columns and the header names they are recognised by, in English and
Italian. A header matches after folding: lower case, accents removed, and everything
that is not a letter or a digit dropped ("Follow-up owner" == "followupowner")."""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Iterable


class Column(enum.StrEnum):
    CLIENT = "client"
    RECOMMENDATION = "recommendation"
    DATE_MADE = "date_made"
    CATEGORY = "category"
    OWNER = "owner"
    JUSTIFICATION = "justification"
    PLANNED = "planned"
    DETAILS = "details"
    DECIDED_ON = "decided_on"
    SEVERITY = "severity"
    TAGS = "tags"
    DEFERRED_UNTIL = "deferred_until"
    REVIEW_DATE = "review_date"
    EXTERNAL_ID = "external_id"


REQUIRED = (Column.CLIENT, Column.RECOMMENDATION, Column.DATE_MADE)

# The headers export writes, per language, in this order (the seven columns of the
# common template first, then the optional ones).
HEADERS: dict[str, dict[Column, str]] = {
    "en": {
        Column.CLIENT: "Client",
        Column.RECOMMENDATION: "Recommendation",
        Column.DATE_MADE: "Date made",
        Column.CATEGORY: "Response category",
        Column.OWNER: "Follow-up owner",
        Column.JUSTIFICATION: "Justification",
        Column.PLANNED: "Planned implementation date",
        Column.DETAILS: "Details",
        Column.DECIDED_ON: "Decided on",
        Column.SEVERITY: "Severity",
        Column.TAGS: "Tags",
        Column.DEFERRED_UNTIL: "Deferred until",
        Column.REVIEW_DATE: "Review date",
        Column.EXTERNAL_ID: "External id",
    },
    "it": {
        Column.CLIENT: "Cliente",
        Column.RECOMMENDATION: "Raccomandazione",
        Column.DATE_MADE: "Data",
        Column.CATEGORY: "Categoria di risposta",
        Column.OWNER: "Responsabile del follow-up",
        Column.JUSTIFICATION: "Giustificazione",
        Column.PLANNED: "Data di attuazione prevista",
        Column.DETAILS: "Dettagli",
        Column.DECIDED_ON: "Data della decisione",
        Column.SEVERITY: "Gravità",
        Column.TAGS: "Tag",
        Column.DEFERRED_UNTIL: "Rinviata al",
        Column.REVIEW_DATE: "Data di revisione",
        Column.EXTERNAL_ID: "ID esterno",
    },
}

# Other names real sheets use, English and Italian (docs/tracker.md lists them). When
# two columns of one sheet name the same column, the better name wins and the other
# is reported as not imported: an exact header beats a synonym, and a synonym beats
# a loose one (a "Note" column is the justification only when nothing better is).
SYNONYMS: dict[Column, tuple[str, ...]] = {
    Column.CLIENT: (
        "customer",
        "company",
        "client name",
        "azienda",
        "nome cliente",
        "ragione sociale",
    ),
    Column.RECOMMENDATION: (
        "recommendations",
        "raccomandazioni",
        "title",
        "titolo",
        "advice",
        "consiglio",
        "measure",
        "misura",
    ),
    Column.DATE_MADE: (
        "date",
        "recommendation date",
        "made on",
        "date raised",
        "data raccomandazione",
        "data proposta",
        "data di proposta",
    ),
    Column.CATEGORY: (
        "category",
        "response",
        "status",
        "decision",
        "outcome",
        "client decision",
        "categoria",
        "risposta",
        "stato",
        "esito",
        "decisione",
        "decisione del cliente",
    ),
    Column.OWNER: (
        "owner",
        "assigned to",
        "assignee",
        "responsabile",
        "assegnato a",
        "incaricato",
        "referente",
    ),
    Column.JUSTIFICATION: (
        "reason",
        "rationale",
        "motivo",
        "motivazione",
        "client justification",
        "giustificazione del cliente",
    ),
    Column.PLANNED: (
        "planned date",
        "planned implementation",
        "due date",
        "target date",
        "data prevista",
        "data di implementazione prevista",
        "data attuazione prevista",
        "scadenza",
    ),
    Column.DETAILS: ("description", "text", "body", "descrizione", "testo", "dettaglio"),
    Column.DECIDED_ON: (
        "decision date",
        "date decided",
        "answered on",
        "response date",
        "data decisione",
        "data risposta",
        "data della risposta",
    ),
    Column.SEVERITY: ("priority", "priorita", "severita", "risk", "rischio"),
    Column.TAGS: ("labels", "etichette"),
    Column.DEFERRED_UNTIL: (
        "deferred to",
        "postponed to",
        "rinviata a",
        "rinviata fino al",
        "posticipata al",
        "rinvio al",
    ),
    Column.REVIEW_DATE: ("review", "revisione", "data revisione"),
    Column.EXTERNAL_ID: ("id", "ref", "reference", "riferimento", "codice"),
}
LOOSE_SYNONYMS: dict[Column, tuple[str, ...]] = {
    Column.JUSTIFICATION: ("note", "notes", "comment", "comments", "commento", "commenti"),
}

# What ``--map HEADER=NAME`` accepts as NAME besides a column's header or synonym.
IGNORE_NAMES = ("ignore", "ignora", "none", "nessuna", "-")


class Rank(enum.IntEnum):
    """How surely a header names a column; lower wins."""

    MAPPED = 0  # chosen by hand (--map, the preview page)
    HEADER = 1
    SYNONYM = 2
    LOOSE = 3


@functools.lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Lower case, no accents, letters and digits only. Cached: a sheet repeats its
    few client names, categories and severities on every row."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", "", plain.casefold())


_BY_NAME: dict[str, tuple[Column, Rank]] = {}
for _language in HEADERS.values():
    for _column, _header in _language.items():
        _BY_NAME[fold(_header)] = (_column, Rank.HEADER)
for _rank, _table in ((Rank.SYNONYM, SYNONYMS), (Rank.LOOSE, LOOSE_SYNONYMS)):
    for _column, _names in _table.items():
        for _name in _names:
            _BY_NAME.setdefault(fold(_name), (_column, _rank))


def recognise(header: str) -> Column | None:
    """The column a header names, or None when it is not one of ours."""
    found = _BY_NAME.get(fold(header or ""))
    return found[0] if found else None


def recognise_ranked(header: str) -> tuple[Column, Rank] | None:
    return _BY_NAME.get(fold(header or ""))


def label(column: Column) -> str:
    """The column's name in messages: its English header in lower case."""
    return HEADERS["en"][column].lower()


def letter(position: int) -> str:
    """The spreadsheet letter of a 0-based column position: 0 → A, 26 → AA."""
    name = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def parse_mapping(spec: str) -> tuple[str, Column | None]:
    """``"Stato=response category"`` → ("Stato", Column.CATEGORY); a target of
    "ignore" gives None (the column is left out). Raise ValueError with a sentence."""
    header, sep, target = spec.rpartition("=")
    header, target = header.strip(), target.strip()
    if not sep or not header or not target:
        raise ValueError(
            f'--map {spec!r}: write it as HEADER=COLUMN, e.g. "Stato=response category".'
        )
    if fold(target) in {fold(n) for n in IGNORE_NAMES}:
        return header, None
    column = recognise(target) or next((c for c in Column if fold(c.value) == fold(target)), None)
    if column is None:
        names = ", ".join(label(c) for c in Column)
        raise ValueError(
            f"--map {spec!r}: {target!r} is not a column; use one of {names}, or ignore."
        )
    return header, column


def parse_mappings(specs: Iterable[str]) -> dict[str, Column | None]:
    """Several ``HEADER=COLUMN`` specs as one mapping. A header named twice with two
    different targets is refused (the second would silently win); naming it twice
    with the same target is harmless. Raise ValueError with a sentence."""
    mapping: dict[str, Column | None] = {}
    seen: dict[str, str] = {}
    for spec in specs:
        header, column = parse_mapping(spec)
        key = fold(header)
        if key in seen and mapping[seen[key]] != column:
            first = mapping[seen[key]]
            raise ValueError(
                f"--map names the column {header!r} twice: as "
                f"{label(first) if first else 'ignore'} and as "
                f"{label(column) if column else 'ignore'}; keep one."
            )
        seen.setdefault(key, header)
        mapping[seen[key]] = column
    return mapping
