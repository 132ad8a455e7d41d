"""Daily series of other capabilities that a client's QBR draws beside its own
compliance trend (the device compliance of verification, for one).

Reports may not import its peers, nor they reports: a capability's series is
connected here by the top-level ``heeded`` app, which may import both, in its
``AppConfig.ready()`` (``heeded/apps.py``). Reports only knows the shape of a series:
a title, and a function from a client the reader may see and a span of days to
(day, percent) points, empty when the client has nothing to show."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.utils.functional import Promise

from clients.models import Client

Points = list[tuple[dt.date, Decimal | None]]
# (client, since, today) -> points, oldest first; today's (live) figure last.
Source = Callable[[Client, dt.date, dt.date], Points]


@dataclasses.dataclass(frozen=True)
class TrendSeries:
    key: str
    title: str | Promise  # a lazy translation: drawn in the client's language
    source: Source


@dataclasses.dataclass(frozen=True)
class Trend:
    """One series as drawn in one report."""

    key: str
    title: str | Promise  # str() it inside the report's language
    points: Points

    @property
    def latest(self) -> Decimal | None:
        return self.points[-1][1] if self.points else None


_SERIES: dict[str, TrendSeries] = {}


def trend_series(key: str, *, title: str | Promise, source: Source) -> None:
    """Connect a daily series under ``key`` (again under the same key: replaced)."""
    _SERIES[key] = TrendSeries(key=key, title=title, source=source)


def trends_for(client: Client, *, since: dt.date, today: dt.date) -> list[Trend]:
    """Every connected series that has points for ``client``, in the order connected."""
    found = []
    for series in _SERIES.values():
        points = series.source(client, since, today)
        if points:
            found.append(Trend(key=series.key, title=series.title, points=points))
    return found
