"""Security events on the ``heeded.security`` logger, one structured line each.

A line reads ``event key="value" …``; values are quoted and escaped so user input (a
login string, a header) can never end the line or forge another. The same fields are
on the record (``event``, ``actor`` and the rest under ``fields``) for a handler that
writes JSON, and the request id is added by ``lib.requestid.RequestIdFilter``.
"""

from __future__ import annotations

import logging

security_log = logging.getLogger("heeded.security")


def quoted(value: object) -> str:
    """``value`` in double quotes, with quotes, backslashes and every non-printable
    character (CR, LF, U+2028, …) escaped, so it cannot end or forge a log line."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )
    return f'"{escaped}"'


def security_event(event: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Log ``event`` with ``fields`` (``actor`` among them, by convention first)."""
    text = " ".join([event, *(f"{key}={quoted(value)}" for key, value in fields.items())])
    security_log.log(
        level,
        "%s",
        text,
        extra={"event": event, "actor": str(fields.get("actor", "")), "fields": fields},
    )
