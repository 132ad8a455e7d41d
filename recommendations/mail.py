"""Every e-mail Heeded sends is built here, one way: in the reader's language, with
the MSP's branding, an HTML part made for Outlook and Gmail (tables, inline styles, no
stylesheet, no script) and a plain-text part that says the same.

A template ``emails/NAME`` has three files: ``NAME.subject.txt``, ``NAME.txt`` and
``NAME.html`` (which extends ``emails/_layout.html``). ``render_email`` renders all
three under ``translation.override(language)``, so every label, date and
severity comes out in that language.

Client e-mails carry the client's ledger head: ``client_head`` records it as an
anchor (the proof in the client's own mailbox that history was not rewritten later)
and returns what the templates print.

The answer button of a follow-up notice needs a signed answer link, which the answers
capability makes; it registers its maker with ``provide_answer_url`` (a capability
never imports another), and without one the button leads to the portal's sign-in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from catalog.choices import Severity
from clients.models import Client
from ledger.services import anchor_record
from lib.branding import branding, mail_logo
from recommendations.choices import Status

if TYPE_CHECKING:
    from clients.models import Contact
    from recommendations.models import Recommendation

# The logo travels as an inline image part (Gmail drops data: URIs); delivery
# attaches it under this Content-ID when the HTML refers to it.
LOGO_CID = "heeded-logo"
ANCHOR_PURPOSE = "client e-mail"
LANGUAGES = ("en", "it")
# Badge colours of the severities (white text on each passes WCAG AA).
SEVERITY_COLOURS: dict[str, str] = {
    Severity.CRITICAL: "#a4161a",
    Severity.HIGH: "#b54708",
    Severity.MEDIUM: "#1d5fa8",
    Severity.LOW: "#4a5560",
}


@dataclasses.dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


@dataclasses.dataclass(frozen=True)
class Head:
    """The ledger head a client e-mail carries, and how to check it."""

    seq: int
    hash: str
    verify_command: str


def language_for(client: Client | None) -> str:
    """The language of everything ``client`` reads (English when unknown)."""
    language = getattr(client, "language", "") or "en"
    return language if language in LANGUAGES else "en"


def staff_language(user: object) -> str:
    """The language of a staff member's e-mails: theirs when they chose one, else
    the installation's."""
    language = getattr(user, "language", "") or settings.LANGUAGE_CODE
    return language if language in LANGUAGES else "en"


def long_date(value: dt.date | dt.datetime) -> str:
    """A day as the reader writes it, in the active language: "9 March 2026",
    "9 marzo 2026" (Italian writes month names in lower case)."""
    text = date_format(value, "j F Y")
    return text.lower() if translation.get_language() == "it" else text


def severity_label(severity: str) -> str:
    """The severity's name in the active language."""
    labels: dict[str, str] = {
        Severity.CRITICAL: _("Critical"),
        Severity.HIGH: _("High"),
        Severity.MEDIUM: _("Medium"),
        Severity.LOW: _("Low"),
    }
    return labels.get(severity, severity)


def severity_colour(severity: str) -> str:
    """The badge colour of ``severity``."""
    return SEVERITY_COLOURS.get(severity, "#4a5560")


def status_label(status: str) -> str:
    """The status's name in the active language."""
    labels: dict[str, str] = {
        Status.DRAFT: _("Draft"),
        Status.AWAITING_RESPONSE: _("Awaiting response"),
        Status.ACCEPTED: _("Accepted"),
        Status.IN_PROGRESS: _("In progress"),
        Status.DEFERRED: _("Deferred"),
        Status.REJECTED: _("Rejected"),
        Status.IGNORED: _("Ignored"),
        Status.IMPLEMENTED: _("Implemented"),
        Status.VERIFIED: _("Verified"),
        Status.WITHDRAWN: _("Withdrawn"),
    }
    return labels.get(status, status)


def client_head(client: Client, *, at: dt.datetime, reference: str) -> Head:
    """Record the client's current ledger head as an anchor (the e-mail that quotes
    it is leaving) and return it with the command that checks it."""
    anchor = anchor_record(client=client, at=at, purpose=ANCHOR_PURPOSE, reference=reference)
    return Head(
        seq=anchor.seq,
        hash=anchor.hash,
        verify_command=verify_command(client, anchor.seq, anchor.hash),
    )


def verify_command(client: Client, seq: int, digest: str) -> str:
    """The command that checks a client's ledger against a head it was shown."""
    return f"heeded ledger verify --client {client.slug} --anchor {client.slug}:{seq}:{digest}"


def render_email(name: str, context: Mapping[str, Any], *, language: str) -> Email:
    """Render ``emails/NAME`` (subject, text, HTML) in ``language`` with the branding."""
    brand = branding()
    full = {
        "brand": brand,
        "logo_src": f"cid:{LOGO_CID}" if mail_logo() else "",
        "base_url": settings.HEEDED_BASE_URL,
        "language": language,
        **context,
    }
    with translation.override(language):
        subject = " ".join(render_to_string(f"emails/{name}.subject.txt", full).split())
        full["subject"] = subject
        text = render_to_string(f"emails/{name}.txt", full)
        html = render_to_string(f"emails/{name}.html", full)
    return Email(subject=subject, text=text, html=html)


# --- the answer button's link ----------------------------------------------------------

AnswerUrl = Callable[["Contact", "list[Recommendation]", dt.datetime], str]
_answer_url: list[AnswerUrl] = []


def provide_answer_url(func: AnswerUrl) -> None:
    """Register the maker of answer links (the answers capability, at start-up)."""
    _answer_url[:] = [func]


def answer_url(contact: Contact, recs: list[Recommendation], *, now: dt.datetime) -> str:
    """A link that lets ``contact`` answer ``recs`` on one page (sealed: the token is
    made at delivery), or the portal's sign-in when no link can be made."""
    if recs and _answer_url:
        return _answer_url[0](contact, recs, now)
    return f"{settings.HEEDED_BASE_URL}/portal/sign-in/"
