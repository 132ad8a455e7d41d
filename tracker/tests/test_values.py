from __future__ import annotations

import datetime as dt

import pytest

from tracker.columns import Column, recognise
from tracker.values import BadValue, parse_category, parse_date, parse_severity


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("CLIENTE", Column.CLIENT),
        ("Raccomandazione", Column.RECOMMENDATION),
        ("date made", Column.DATE_MADE),
        ("Categoria di risposta", Column.CATEGORY),
        ("Responsabile del follow-up", Column.OWNER),
        ("follow up owner", Column.OWNER),
        ("Giustificazione", Column.JUSTIFICATION),
        ("Data di attuazione prevista", Column.PLANNED),
        ("Planned implementation date", Column.PLANNED),
        ("GRAVITÀ", Column.SEVERITY),
        ("Rinviata al", Column.DEFERRED_UNTIL),
        ("Review date", Column.REVIEW_DATE),
        ("External ID", Column.EXTERNAL_ID),
        ("Stato", Column.CATEGORY),
        ("Esito", Column.CATEGORY),
        ("Assegnato a", Column.OWNER),
        ("Motivo", Column.JUSTIFICATION),
        ("Notes", Column.JUSTIFICATION),
        ("Descrizione", Column.DETAILS),
        ("Data della decisione", Column.DECIDED_ON),
        ("Colore", None),
    ],
)
def test_it_recognises_headers_in_english_and_italian(header, column):
    assert recognise(header) == column


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-04", dt.date(2025, 3, 4)),
        ("2025-03-04T10:00:00Z", dt.date(2025, 3, 4)),
        ("04/03/2025", dt.date(2025, 3, 4)),
        ("4/3/25", dt.date(2025, 3, 4)),
        ("4.3.2025", dt.date(2025, 3, 4)),
        (45720, dt.date(2025, 3, 4)),
        ("45720", dt.date(2025, 3, 4)),
        ("4 marzo 2025", dt.date(2025, 3, 4)),
        ("4 Mar 2025", dt.date(2025, 3, 4)),
        ("March 4, 2025", dt.date(2025, 3, 4)),
        ("1° settembre 2025", dt.date(2025, 9, 1)),
        (dt.datetime(2025, 3, 4, 12, 0, tzinfo=dt.UTC), dt.date(2025, 3, 4)),
        ("", None),
    ],
)
def test_it_reads_dates_in_many_shapes(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("30/02/2025", "'30/02/2025' is not a real date."),
        ("next week", "'next week' is not a date I can read; use YYYY-MM-DD, DD/MM/YYYY"),
        ("4 brumaio 2025", "'4 brumaio 2025' is not a date I can read"),
        (12, "'12' is not a date I can read"),
    ],
)
def test_it_refuses_what_is_not_a_date(value, message):
    with pytest.raises(BadValue) as exc:
        parse_date(value)
    assert exc.value.message.startswith(message)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Accettata", "accepted"),
        ("DEFERRED", "deferred"),
        ("Posticipata", "deferred"),
        ("rifiutata", "rejected"),
        ("Ignorata", "ignored"),
        ("", ""),
        (None, ""),
    ],
)
def test_it_reads_response_categories(value, expected):
    assert parse_category(value) == expected


def test_it_reads_italian_severities_and_refuses_unknown_ones():
    assert parse_severity("Critica") == "critical" and parse_severity("") == "medium"
    with pytest.raises(BadValue, match="'urgent' is not a severity"):
        parse_severity("urgent")
