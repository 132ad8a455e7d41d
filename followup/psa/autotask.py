"""Autotask PSA over its REST API (``/V1.0/Tickets``).

Authentication is three headers on every request: ``ApiIntegrationCode``,
``UserName`` and ``Secret``. A ticket carries Heeded's idempotency key in
``ExternalID``: ``create`` first asks for a ticket with that ExternalID and returns
it when found, so a retry after a lost answer (the ticket was created, the reply
never arrived) never opens a second ticket.

Status and priority numbers are the Autotask defaults (picklists can be changed per
instance, hence the constructor arguments).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from followup.delivery import DeliveryError, PermanentDeliveryError

DEFAULT_STATUSES = {"new": 1, "in_progress": 8, "waiting": 7, "complete": 5}
DEFAULT_PRIORITIES = {"critical": 4, "high": 1, "medium": 2, "low": 3}
NOTE_TYPE_TASK = 1
PUBLISH_ALL = 1
TIMEOUT_SECONDS = 20


class Msg:
    REFUSED = "Autotask answered HTTP {status} to {method} {path}: {detail}"
    RETRY = "Autotask is busy or failing (HTTP {status} to {method} {path}); will retry."
    UNREACHABLE = "Autotask could not be reached: {reason}"
    NO_ITEM_ID = "Autotask created no ticket (no itemId in its answer)."


class AutotaskAdapter:
    def __init__(
        self,
        *,
        base_url: str,
        integration_code: str,
        username: str,
        secret: str,
        company_id: int,
        queue_id: int | None = None,
        statuses: dict[str, int] | None = None,
        priorities: dict[str, int] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {
            "ApiIntegrationCode": integration_code,
            "UserName": username,
            "Secret": secret,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self.company_id = company_id
        self.queue_id = queue_id
        self.statuses = statuses or DEFAULT_STATUSES
        self.priorities = priorities or DEFAULT_PRIORITIES

    # --- the adapter interface ------------------------------------------------------

    def create(self, *, key: str, title: str, description: str, priority: str) -> int:
        existing = self.find(key)
        if existing is not None:
            return existing
        body: dict[str, Any] = {
            "CompanyID": self.company_id,
            "Title": title[:255],
            "Description": description[:8000],
            "Status": self.statuses["new"],
            "Priority": self.priorities.get(priority, self.priorities["medium"]),
            "ExternalID": key,
        }
        if self.queue_id is not None:
            body["QueueID"] = self.queue_id
        answer = self._request("POST", "/V1.0/Tickets", body)
        if not isinstance(answer.get("itemId"), int):
            raise DeliveryError(Msg.NO_ITEM_ID)
        return answer["itemId"]

    def add_note(self, ticket_id: int, *, title: str, text: str) -> None:
        self._request(
            "POST",
            f"/V1.0/Tickets/{ticket_id}/Notes",
            {
                "TicketID": ticket_id,
                "Title": title[:250],
                "Description": text[:32000],
                "NoteType": NOTE_TYPE_TASK,
                "Publish": PUBLISH_ALL,
            },
        )

    def update_status(self, ticket_id: int, status: str) -> None:
        self._request("PATCH", "/V1.0/Tickets", {"Id": ticket_id, "Status": self.statuses[status]})

    def close(self, ticket_id: int) -> None:
        self.update_status(ticket_id, "complete")

    def fetch_status(self, ticket_id: int) -> str:
        item = self._request("GET", f"/V1.0/Tickets/{ticket_id}").get("item") or {}
        names = {number: name for name, number in self.statuses.items()}
        return names.get(item.get("status", item.get("Status")), str(item.get("status")))

    # --- plumbing ----------------------------------------------------------------------

    def find(self, key: str) -> int | None:
        """The id of the ticket whose ExternalID is ``key``, if there is one."""
        search = json.dumps({"filter": [{"op": "eq", "field": "ExternalID", "value": key}]})
        path = "/V1.0/Tickets/query?" + urllib.parse.urlencode({"search": search})
        items = self._request("GET", path).get("items") or []
        return int(items[0]["id"]) if items else None

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (the configured https base URL)
            self.base_url + path, data=data, method=method, headers=self.headers
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
                raw = answer.read()
        except urllib.error.HTTPError as exc:
            bare = path.split("?")[0]
            if exc.code == 429 or exc.code >= 500:
                raise DeliveryError(
                    Msg.RETRY.format(status=exc.code, method=method, path=bare)
                ) from None
            detail = exc.read(300).decode("utf-8", "replace")
            raise PermanentDeliveryError(
                Msg.REFUSED.format(status=exc.code, method=method, path=bare, detail=detail)
            ) from None
        except (urllib.error.URLError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(Msg.UNREACHABLE.format(reason=reason)) from None
        return json.loads(raw) if raw else {}
