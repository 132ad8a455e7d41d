"""The MSP's name, logo and colour, as the reports and every e-mail show them
(``HEEDED_MSP_NAME``, ``HEEDED_MSP_LOGO``, ``HEEDED_MSP_COLOUR``)."""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# Mail clients show raster logos only: Gmail and Outlook drop SVG images.
MAIL_LOGO_TYPES = ("image/png", "image/jpeg", "image/gif")


@dataclass(frozen=True)
class Branding:
    name: str
    colour: str
    logo_data_uri: str


def branding() -> Branding:
    """The branding in force, the logo inlined as a data URI (reports, screenshots)."""
    logo = ""
    path: Path | None = settings.HEEDED_MSP_LOGO
    if path is not None:
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        logo = f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
    return Branding(settings.HEEDED_MSP_NAME, settings.HEEDED_MSP_COLOUR, logo)


def mail_logo() -> tuple[bytes, str] | None:
    """The logo as an e-mail attaches it (bytes, MIME type), or None when there is
    none or it is of a kind mail clients do not show."""
    path: Path | None = settings.HEEDED_MSP_LOGO
    if path is None:
        return None
    mime = mimetypes.guess_type(path.name)[0] or ""
    if mime not in MAIL_LOGO_TYPES:
        return None
    return path.read_bytes(), mime
