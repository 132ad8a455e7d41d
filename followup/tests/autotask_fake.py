"""A local Autotask: an HTTP server on 127.0.0.1 that speaks the ticket endpoints
and checks every request body against the vendor's published API description
(``../shared/data/psa/autotask-v1.json``, Swagger 2.0)."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import re
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from django.conf import settings

SPEC_PATH = Path(settings.BASE_DIR).parent / "shared" / "data" / "psa" / "autotask-v1.json"
INT32 = (-(2**31), 2**31 - 1)


def load_spec() -> dict[str, Any] | None:
    if not SPEC_PATH.exists():
        return None
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def check(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "$") -> list[str]:
    """Errors of ``value`` against a Swagger 2.0 schema: unknown properties, wrong
    types, out-of-range int32, unparsable date-times. Enough for request bodies."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["definitions"][name]
    kind = schema.get("type", "object")
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        errors = []
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{where}.{key}: required")
        for key, item in value.items():
            if key not in props:
                errors.append(f"{where}.{key}: not in the model")
            else:
                errors.extend(check(spec, props[key], item, f"{where}.{key}"))
        return errors
    if value is None:
        return []
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: expected an integer"]
        if schema.get("format") == "int32" and not INT32[0] <= value <= INT32[1]:
            return [f"{where}: outside int32"]
        return []
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean"]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string"]
        if schema.get("format") == "date-time":
            try:
                dt.datetime.fromisoformat(value)
            except ValueError:
                return [f"{where}: not a date-time"]
        return []
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected an array"]
        return [
            e for i, v in enumerate(value) for e in check(spec, schema["items"], v, f"{where}[{i}]")
        ]
    return [f"{where}: unsupported schema type {kind}"]


class FakeAutotask:
    """Tickets and notes in memory. ``faults`` holds HTTP statuses to answer the next
    requests with; ``"lose"`` performs the request and then answers 500 (a reply
    lost on the way back)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.tickets: dict[int, dict[str, Any]] = {}
        self.notes: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.faults: list[int | str] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict[str, Any] | None = None) -> None:
                data = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                fake.requests.append((method, self.path))
                for header in ("ApiIntegrationCode", "UserName", "Secret"):
                    if not self.headers.get(header):
                        return self._answer(401, {"errors": [f"{header} missing"]})
                fault = fake.faults.pop(0) if fake.faults else None
                if isinstance(fault, int):
                    return self._answer(fault, {"errors": ["injected"]})
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                status, answer = fake.route(method, self.path, body)
                if fault == "lose":
                    return self._answer(500, {"errors": ["lost"]})
                return self._answer(status, answer)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _validate(self, model: str, body: Any, path: str) -> bool:
        errors = check(self.spec, {"$ref": f"#/definitions/{model}"}, body)
        self.errors.extend(f"{path}: {e}" for e in errors)
        return not errors

    def route(self, method: str, raw_path: str, body: Any) -> tuple[int, dict[str, Any]]:
        url = urllib.parse.urlsplit(raw_path)
        path = url.path
        if method == "GET" and path == "/V1.0/Tickets/query":
            search = json.loads(urllib.parse.parse_qs(url.query)["search"][0])
            (cond,) = search["filter"]
            items = [
                {"id": pk, "externalID": t["ExternalID"], "status": t["Status"]}
                for pk, t in sorted(self.tickets.items())
                if cond["field"] == "ExternalID" and t.get("ExternalID") == cond["value"]
            ]
            return 200, {"items": items, "pageDetails": {"count": len(items)}}
        if method == "POST" and path == "/V1.0/Tickets":
            if not self._validate("TicketModel", body, path):
                return 400, {"errors": ["invalid"]}
            pk = len(self.tickets) + 1
            self.tickets[pk] = dict(body)
            return 200, {"itemId": pk}
        if method == "PATCH" and path == "/V1.0/Tickets":
            if not self._validate("TicketModel", body, path) or body.get("Id") not in self.tickets:
                return 400, {"errors": ["invalid"]}
            self.tickets[body["Id"]].update({k: v for k, v in body.items() if k != "Id"})
            return 200, {"itemId": body["Id"]}
        match = re.fullmatch(r"/V1\.0/Tickets/(\d+)/Notes", path)
        if method == "POST" and match:
            if not self._validate("TicketNoteModel", body, path):
                return 400, {"errors": ["invalid"]}
            self.notes.append(body)
            return 200, {"itemId": len(self.notes)}
        match = re.fullmatch(r"/V1\.0/Tickets/(\d+)", path)
        if method == "GET" and match and int(match.group(1)) in self.tickets:
            ticket = self.tickets[int(match.group(1))]
            return 200, {"item": {"id": int(match.group(1)), "status": ticket["Status"]}}
        return 404, {"errors": ["no such route"]}
