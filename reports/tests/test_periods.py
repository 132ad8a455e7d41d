from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from reports.periods import PeriodError, parse_period


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("2026-09", dt.date(2026, 9, 1), dt.date(2026, 9, 30), "2026-09"),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29), "2024-02"),
        ("2026-12", dt.date(2026, 12, 1), dt.date(2026, 12, 31), "2026-12"),
        ("2026-Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30), "2026-Q3"),
        ("2026-q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31), "2026-Q4"),
        (
            "2026-07-15:2026-08-14",
            dt.date(2026, 7, 15),
            dt.date(2026, 8, 14),
            "2026-07-15_2026-08-14",
        ),
    ],
)
def test_it_reads_months_quarters_and_ranges(text, start, end, label):
    period = parse_period(text)
    assert (period.start, period.end, period.label) == (start, end, label)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "month must be 01 to 12, got '13'"),
        ("2026-Q5", "quarter must be Q1 to Q4, got 'Q5'"),
        ("2026-09-31:2026-10-01", "'2026-09-31' is not a date (YYYY-MM-DD)"),
        ("2026-10-01:2026-09-30", "the period ends (2026-09-30) before it starts (2026-10-01)"),
        (
            "2020-01-01:2026-01-01",
            "a custom period may span at most 1098 days, this one spans 2193",
        ),
        (
            "last quarter",
            "expected YYYY-MM, YYYY-Qn or FROM:TO with dates as YYYY-MM-DD, got 'last quarter'",
        ),
    ],
)
def test_it_refuses_a_bad_period_saying_why(text, message):
    with pytest.raises(PeriodError) as caught:
        parse_period(text)
    assert str(caught.value) == message


def test_bounds_are_the_clients_local_midnights_across_a_dst_change():
    rome = zoneinfo.ZoneInfo("Europe/Rome")
    since, until = parse_period("2026-03").bounds(rome)
    assert since == dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC)
    # Summer time starts on 29 March: the end is midnight CEST, 22:00 UTC.
    assert until == dt.datetime(2026, 3, 31, 22, 0, tzinfo=dt.UTC)
