"""``overdue_q`` asks which zones are a day off UTC once per UTC quarter hour: the
answer must be the one asking every zone at that very moment gives."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from recommendations import selectors

moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=dt.datetime(2031, 1, 1),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)


@settings(max_examples=300, deadline=None)
@given(moment=moments)
def test_the_quarter_hour_answer_is_the_answer_of_the_moment(moment):
    assert selectors._zones_off_utc_date(moment) == selectors._zones_off_utc_date_uncached(moment)


def test_the_last_microsecond_before_midnight_utc_and_the_first_after_differ():
    before = dt.datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=dt.UTC)
    after = before + dt.timedelta(microseconds=1)
    assert selectors._zones_off_utc_date(before) == selectors._zones_off_utc_date_uncached(before)
    assert selectors._zones_off_utc_date(after) == selectors._zones_off_utc_date_uncached(after)
    assert selectors._zones_off_utc_date(before) != selectors._zones_off_utc_date(after)
