"""Report periods: a month (``2026-09``), a quarter (``2026-Q3``) or a custom range
(``2026-07-01:2026-09-30``, both days included). Pure: nothing here reads the database."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

MAX_DAYS = 366 * 3


class PeriodError(ValueError):
    """A period that cannot be read; the message says why."""


class Msg:
    FORMAT = "expected YYYY-MM, YYYY-Qn or FROM:TO with dates as YYYY-MM-DD, got {value!r}"
    MONTH = "month must be 01 to 12, got {value!r}"
    QUARTER = "quarter must be Q1 to Q4, got {value!r}"
    DATE = "{value!r} is not a date (YYYY-MM-DD)"
    ORDER = "the period ends ({end}) before it starts ({start})"
    TOO_LONG = "a custom period may span at most {max} days, this one spans {days}"


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both days included, as the client's calendar days."""

    start: dt.date
    end: dt.date
    label: str

    def bounds(self, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """[from, until) in UTC: local midnight of ``start`` to local midnight after ``end``."""
        since = dt.datetime.combine(self.start, dt.time(), tzinfo=tz)
        until = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        return since.astimezone(dt.UTC), until.astimezone(dt.UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq](\d)$")


def _month_end(year: int, month: int) -> dt.date:
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PeriodError(Msg.DATE.format(value=value)) from None


def parse_period(value: str) -> Period:
    """Read a period; raise ``PeriodError`` with a sentence saying what is wrong."""
    text = value.strip()
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError(Msg.MONTH.format(value=m[2]))
        return Period(dt.date(year, month, 1), _month_end(year, month), f"{year}-{month:02d}")
    if m := _QUARTER.match(text):
        year, quarter = int(m[1]), int(m[2])
        if not 1 <= quarter <= 4:
            raise PeriodError(Msg.QUARTER.format(value=f"Q{m[2]}"))
        first = 3 * (quarter - 1) + 1
        return Period(dt.date(year, first, 1), _month_end(year, first + 2), f"{year}-Q{quarter}")
    if text.count(":") == 1:
        start_text, end_text = text.split(":")
        start, end = _date(start_text), _date(end_text)
        if end < start:
            raise PeriodError(Msg.ORDER.format(start=start, end=end))
        days = (end - start).days + 1
        if days > MAX_DAYS:
            raise PeriodError(Msg.TOO_LONG.format(max=MAX_DAYS, days=days))
        return Period(start, end, f"{start}_{end}")
    raise PeriodError(Msg.FORMAT.format(value=value))


def current_quarter(today: dt.date) -> Period:
    return parse_period(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
