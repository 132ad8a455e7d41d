"""Limits on what a request may make the server unpack, checked before the work starts.

- ``RequestSizeLimitMiddleware`` refuses a page request whose declared body is larger
  than ``HEEDED_MAX_REQUEST_BYTES`` with a 413, before Django reads a byte of it (the
  largest legitimate body is a 20 MB tracker upload). The API refuses its own bodies
  from their Content-Length in its parsers, with its own smaller limit.
- ``check_zip_container`` looks inside an uploaded Office/OpenDocument file (a ZIP of
  XML parts) before a parser opens it: it decompresses each part as a stream, counting,
  so a part that claims to be small but unpacks to gigabytes (a zip bomb) is stopped at
  the limit; and it refuses XML with a document type declaration, the carrier of entity
  expansion bombs (no genuine spreadsheet part has one).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

# What a workbook may unpack to, in all: a 100,000-row tracker sheet is about 60 MB.
MAX_UNPACKED_BYTES = 250 * 1024 * 1024
MAX_MEMBERS = 2_000
_CHUNK = 1024 * 1024
_DOCTYPE = (b"<!DOCTYPE", b"<!ENTITY")


class UploadRefused(ValueError):
    """The container is refused; the message says why, in a sentence."""


def check_zip_container(data: bytes, *, limit: int | None = None) -> None:
    """Raise UploadRefused when the ZIP in ``data`` unpacks past ``limit`` bytes, holds
    too many parts, or has an XML part with a DTD. A ZIP that cannot be opened is left
    to the parser, which says so in its own words."""
    limit = MAX_UNPACKED_BYTES if limit is None else limit
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        return
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise UploadRefused(
                f"The file holds {len(members)} parts, more than {MAX_MEMBERS}; "
                "it is not a spreadsheet Heeded can read."
            )
        unpacked = 0
        for member in members:
            is_xml = member.filename.lower().endswith((".xml", ".rels", ".vml"))
            tail = b""
            try:
                with archive.open(member) as stream:
                    while chunk := stream.read(_CHUNK):
                        unpacked += len(chunk)
                        if unpacked > limit:
                            raise UploadRefused(
                                f"The file unpacks to more than {limit // (1024 * 1024)} MB "
                                "(a compressed file this small cannot hold that much data "
                                "honestly); save the sheet again or split it."
                            )
                        if is_xml:
                            window = (tail + chunk).upper()
                            if any(marker in window for marker in _DOCTYPE):
                                raise UploadRefused(
                                    f"The part {member.filename!r} declares a document type "
                                    "(<!DOCTYPE or <!ENTITY), which a spreadsheet never "
                                    "needs; the file is refused."
                                )
                            tail = chunk[-16:]
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError):
                return  # damaged or encrypted: the parser reports it


class RequestSizeLimitMiddleware:
    """Refuse an oversized page request from its Content-Length, body unread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int = settings.HEEDED_MAX_REQUEST_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit and not request.path.startswith("/api/"):
            page = render_to_string("413.html", {"limit_mb": limit // (1024 * 1024)}, request=None)
            response = HttpResponse(page, status=413)
            # The body was not read: the connection cannot carry another request.
            response["Connection"] = "close"
            return response
        return self.get_response(request)
