"""How a sheet row and a recommendation find each other again.

A row names its recommendation by client and external id. A row without an id, and
a recommendation made in Heeded (which has none), get a derived one: ``sheet-`` and a
hash of the client, the recommendation's title as the sheet writes it and the date
made. Export writes that derived id, so importing the export into the same database
finds the same recommendations (and into an empty one, stores the id it then exports
again). Two recommendations of one client with the same title made the same day get
``-2``, ``-3``… in the order they were made.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from tracker.columns import fold


def stable_external_id(*, client_name: str, text: str, date_made: dt.date) -> str:
    """The id of a row that has none: a hash of what identifies it in the sheet, so the
    same row imported again finds the same recommendation."""
    key = f"{fold(client_name)}\n{' '.join(text.split())}\n{date_made.isoformat()}"
    return "sheet-" + hashlib.sha256(key.encode()).hexdigest()[:20]


class DerivedIds:
    """Derived ids for recommendations without an external id, given oldest first."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def next(self, *, client_name: str, title: str, date_made: dt.date) -> str:
        base = stable_external_id(client_name=client_name, text=title, date_made=date_made)
        count = self.seen.get(base, 0) + 1
        self.seen[base] = count
        return base if count == 1 else f"{base}-{count}"
