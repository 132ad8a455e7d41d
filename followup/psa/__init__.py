"""PSA connectors: one small interface, one class per PSA.

Every adapter can open a ticket (idempotently: the same key never opens a second
one), add a note, change the status, close it and read its status back. Failures
raise ``followup.delivery.DeliveryError`` (retry later, e.g. HTTP 429 or 5xx) or
``PermanentDeliveryError`` (the request itself is wrong), so the outbox worker's
retries and backoff apply unchanged.
"""

from __future__ import annotations

from typing import Protocol


class PsaAdapter(Protocol):
    def create(self, *, key: str, title: str, description: str, priority: str) -> int:
        """Open a ticket carrying ``key`` (or return the one already carrying it)."""

    def add_note(self, ticket_id: int, *, title: str, text: str) -> None: ...

    def update_status(self, ticket_id: int, status: str) -> None: ...

    def close(self, ticket_id: int) -> None: ...

    def fetch_status(self, ticket_id: int) -> str: ...
