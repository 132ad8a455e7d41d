"""A request id on every response (``X-Request-ID``) and on every log line.

The id is the one a reverse proxy sent in ``X-Request-ID`` when it looks like an id
(letters, digits, ``.``, ``_``, ``-``, at most 64), so a line in Heeded's log can be
matched with the proxy's; otherwise a fresh random one. It lives in a context
variable for the time of the request, and ``RequestIdFilter`` puts it on each log
record as ``request_id`` (``-`` outside a request: the worker, commands).
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"[A-Za-z0-9._-]{1,64}")
_current: contextvars.ContextVar[str] = contextvars.ContextVar("heeded_request_id", default="-")


def current() -> str:
    """The id of the request being served, or ``-``."""
    return _current.get()


def _id_for(request: HttpRequest) -> str:
    offered = request.headers.get(HEADER, "")
    if _ACCEPTED.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Outermost middleware: give the request an id, answer with it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _id_for(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (for ``%(request_id)s`` in formats)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get()
        return True
