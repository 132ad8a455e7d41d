"""The tracker's columns and the header names they are recognised by, in English and
Italian. A header matches after folding: lower case, accents removed, and everything
that is not a letter or a digit dropped ("Follow-up owner" == "followupowner")."""

from __future__ import annotations

import enum
import re
import unicodedata


class Column(enum.StrEnum):
    CLIENT = "client"
    RECOMMENDATION = "recommendation"
    DATE_MADE = "date_made"
    CATEGORY = "category"
    OWNER = "owner"
    JUSTIFICATION = "justification"
    PLANNED = "planned"
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
        Column.SEVERITY: "Gravità",
        Column.TAGS: "Tag",
        Column.DEFERRED_UNTIL: "Rinviata al",
        Column.REVIEW_DATE: "Data di revisione",
        Column.EXTERNAL_ID: "ID esterno",
    },
}

_ALIASES: dict[Column, tuple[str, ...]] = {
    Column.CLIENT: ("customer", "company", "azienda"),
    Column.RECOMMENDATION: ("recommendations", "raccomandazioni", "advice", "consiglio"),
    Column.DATE_MADE: ("date", "data raccomandazione", "recommendation date", "made on"),
    Column.CATEGORY: ("category", "response", "categoria", "risposta", "decision", "decisione"),
    Column.OWNER: ("owner", "responsabile", "follow up owner", "followup owner"),
    Column.JUSTIFICATION: ("reason", "motivazione", "motivo"),
    Column.PLANNED: (
        "planned date",
        "planned implementation",
        "data prevista",
        "data di implementazione prevista",
        "data attuazione prevista",
    ),
    Column.SEVERITY: ("gravita", "priority", "priorita", "severita"),
    Column.TAGS: ("tag", "etichette"),
    Column.DEFERRED_UNTIL: ("deferred to", "rinviata a", "rinviata fino al", "posticipata al"),
    Column.REVIEW_DATE: ("review", "revisione", "data revisione"),
    Column.EXTERNAL_ID: ("id", "external id", "ref", "reference", "riferimento", "id esterno"),
}


def fold(text: str) -> str:
    """Lower case, no accents, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", "", plain.casefold())


_BY_NAME: dict[str, Column] = {}
for _language in HEADERS.values():
    for _column, _header in _language.items():
        _BY_NAME[fold(_header)] = _column
for _column, _names in _ALIASES.items():
    for _name in _names:
        _BY_NAME.setdefault(fold(_name), _column)


def recognise(header: str) -> Column | None:
    """The column a header names, or None when it is not one of ours."""
    return _BY_NAME.get(fold(header or ""))
