"""``/healthz`` for load balancers, and a plain 503 when the database is down.

``/healthz`` answers before any other middleware (no session, no CSRF, no HTTPS
redirect, no host check), with no authentication and nothing secret: 200 when the
database answers, every migration is applied and the worker's last heartbeat (if a
worker ever beat) is recent; 503 otherwise. The body is a small JSON object naming
each check's state.

A page whose request finds the database unreachable gets a plain 503 ("try again in
a moment") instead of a server error; under /api/ the API's JSON error shape. The
next request connects afresh, so recovery needs no restart.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from followup.heartbeat import last_beat

PATH = "/healthz"
log = logging.getLogger("heeded.health")
_migrations_applied = False  # once true, stays true for the life of the process


def _database() -> str:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        connections[DEFAULT_DB_ALIAS].close()
        return "unreachable"
    return "ok"


def _migrations() -> str:
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            return "pending"
        _migrations_applied = True
    return "ok"


def _worker() -> dict[str, object]:
    beat = last_beat()
    if beat is None:
        return {"status": "none"}  # no worker ever beat: nothing to judge
    age = max(0, round(time.time() - beat))
    status = "ok" if age <= settings.HEEDED_HEALTH_WORKER_MAX_AGE else "stale"
    return {"status": status, "heartbeat_age_seconds": age}


def health() -> tuple[bool, dict[str, object]]:
    """Whether this node is healthy, and the state of each check."""
    body: dict[str, object] = {"database": _database()}
    if body["database"] == "ok":
        try:
            body["migrations"] = _migrations()
            body["worker"] = _worker()
        except DatabaseError:
            body["database"] = "unreachable"
    worker = body.get("worker")
    healthy = (
        body["database"] == "ok"
        and body.get("migrations") == "ok"
        and isinstance(worker, dict)
        and worker["status"] != "stale"
    )
    return healthy, {"status": "ok" if healthy else "fail", **body}


class HealthMiddleware:
    """Answers /healthz itself, ahead of sessions, CSRF and HTTPS redirects."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.rstrip("/") != PATH:
            return self.get_response(request)
        if request.method not in {"GET", "HEAD"}:
            return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        healthy, body = health()
        response = JsonResponse(body, status=200 if healthy else 503)
        response["Cache-Control"] = "no-store"
        return response


def database_unavailable(request: HttpRequest) -> HttpResponse | None:
    """The 503 answer when the exception being handled is the database being
    unreachable; None for any other error."""
    exception = sys.exc_info()[1]
    if not isinstance(exception, OperationalError | InterfaceError):
        return None
    log.error("database unavailable: %s", exception)
    if request.path.startswith("/api/"):
        from api.v1.errors import error

        return JsonResponse(
            {
                "errors": [
                    error("The database is unavailable; try again shortly.", code="unavailable")
                ]
            },
            status=503,
            headers={"Retry-After": "30"},
        )
    # Rendered without a request: no context processor may touch the database.
    html = loader.get_template("503.html").render()
    return HttpResponse(html, status=503, headers={"Retry-After": "30"})


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the plain 503 for a database outage, else the API's handler."""
    from api.v1.errors import server_error as api_server_error

    return database_unavailable(request) or api_server_error(request)
