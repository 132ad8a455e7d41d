"""Read a client's answer out of an e-mail reply, in English or Italian.

Pure: no database, no Django models. ``reply_text`` takes the text the client wrote (the
plain part, else the HTML part turned into text) without the quoted history;
``parse_reply`` reads the decision, its date and its reason from that text.

The grammar, case-insensitive, on the first line that starts with a keyword::

    ACCEPT  | ACCETTO   <planned implementation date> [reason]
    DEFER   | RINVIO    <date after today> <reason>
    REJECT  | RIFIUTO   <reason>

The reason runs on over the following lines up to the first blank line (so a signature
after a blank line is not part of it). Dates: ISO ``2026-04-30``, day first ``30/04/2026``,
``30.04.2026``, ``30-04-26``, or with a month name in English or Italian
(``30 April 2026``, ``April 30, 2026``, ``30 aprile 2026``, ``1° apr 2026``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser

from lib.dates import MONTHS

KEYWORDS = {
    "accept": "accepted",
    "accetto": "accepted",
    "defer": "deferred",
    "rinvio": "deferred",
    "reject": "rejected",
    "rifiuto": "rejected",
}

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE_PATTERNS = (
    ("ymd", re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")),
    ("dmy", re.compile(r"(?<![\d/.-])(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?![\d/.-]?\d)")),
    (
        "d_month_y",
        re.compile(
            rf"(?<!\w)(\d{{1,2}})(?:st|nd|rd|th|°|º)?\s+(?:of\s+)?({_MONTH})\.?,?\s+(\d{{4}})(?!\d)",
            re.IGNORECASE,
        ),
    ),
    (
        "month_d_y",
        re.compile(
            rf"(?<!\w)({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)",
            re.IGNORECASE,
        ),
    ),
)
# Words that only introduce the date ("DEFER until 30/09/2026", "RINVIO al 30/09/2026") and
# weekday names before it; dropped from the reason together with the date.
_DATE_LEAD = re.compile(
    r"(?:\b(?:by|on|until|till|to|from|starting|entro|il|al|fino|a|dal|per|partire|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|"
    r"lunedi|martedi|mercoledi|giovedi|venerdi)\b[\s,]*)$",
    re.IGNORECASE,
)
_KEYWORD_LINE = re.compile(r"^[\s*_]*(" + "|".join(KEYWORDS) + r")\b[\s*_]*(.*)$", re.IGNORECASE)
_PUNCTUATION = " \t:;,.-\u2013\u2014*_"

_ON_WROTE = re.compile(r"^on\b.*\bwrote:$", re.IGNORECASE)
_IL_SCRITTO = re.compile(r"^il\b.*\bha scritto:$", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^-{2,}\s*(original message|messaggio originale|forwarded message|messaggio inoltrato)"
    r"\s*-{2,}$",
    re.IGNORECASE,
)
_FROM_LINE = re.compile(r"^(from|da):\s*\S", re.IGNORECASE)
_SENT_LINE = re.compile(r"^(sent|date|inviato|data):", re.IGNORECASE)
_SENT_INLINE = re.compile(r"\b(sent|inviato):", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^_{10,}$")


@dataclass(frozen=True)
class ParsedReply:
    """What a reply says.

    ``decision`` is "accepted", "deferred" or "rejected" as soon as a keyword was found, even
    when something is missing; ``error`` is None exactly when the answer is complete and may
    be recorded. ``date`` is the planned implementation date (accepted) or the date the
    decision is deferred to (deferred).
    """

    decision: str | None
    date: dt.date | None
    reason: str
    error: str | None


# --- The text the client wrote -------------------------------------------------------------


def reply_text(message: EmailMessage) -> str:
    """The client's own words: the text/plain part (else the HTML part as text), without
    quoted lines (">") and without everything from the first reply separator on."""
    part = message.get_body(preferencelist=("plain",))
    if part is not None:
        text = _part_text(part)
    else:
        part = message.get_body(preferencelist=("html",))
        text = html_to_text(_part_text(part)) if part is not None else ""
    return strip_quoted(text)


def _part_text(part: object) -> str:
    assert isinstance(part, EmailMessage)
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):
        content = None
    if not isinstance(content, str):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content


class _TextOnly(HTMLParser):
    """Collects text, never markup: scripts, styles and quoted blocks are dropped."""

    SKIP = frozenset({"script", "style", "head", "title", "template", "blockquote"})
    BREAK = frozenset(
        {"br", "p", "div", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BREAK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BREAK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Plain text of an HTML body; block elements become line breaks."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def strip_quoted(text: str) -> str:
    """Drop lines quoted with ">" and everything from the first reply separator on."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _is_separator(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _is_separator(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if lines[index].rstrip("\n") in ("-- ", "--"):
        return True  # RFC 3676 signature delimiter
    if _ORIGINAL.match(line):
        return True
    following = [other.strip() for other in lines[index + 1 : index + 4]]
    # Attribution lines are often wrapped: "On Mon, 2 Mar 2026 at 09:00, Heeded\n<a@b> wrote:"
    joined = line
    for count in range(3):
        if _ON_WROTE.match(joined) or _IL_SCRITTO.match(joined):
            return True
        if count < len(following) and line.lower().startswith(("on ", "il ")):
            joined = f"{joined} {following[count]}"
        else:
            break
    if _FROM_LINE.match(line):
        if _SENT_INLINE.search(line):
            return True
        return any(_SENT_LINE.match(other) for other in following if other)
    if _UNDERSCORES.match(line):
        nxt = next((other for other in following if other), "")
        return bool(_FROM_LINE.match(nxt))
    return False


# --- The decision -------------------------------------------------------------------------

# The examples in a refusal are dates the client could send today, not fixed ones that
# fall into the past: a plan a month ahead, a deferral a quarter ahead.
EXAMPLE_PLAN_AFTER = dt.timedelta(days=30)
EXAMPLE_DEFERRAL_AFTER = dt.timedelta(days=91)


def parse_reply(text: str, *, today: dt.date) -> ParsedReply:
    """Read the decision from ``text`` (the output of ``reply_text``); see the module doc."""
    lines = text.replace("\r\n", "\n").split("\n")
    found: list[tuple[int, str, str]] = []
    for index, line in enumerate(lines):
        match = _KEYWORD_LINE.match(line)
        if match:
            found.append((index, match.group(1).upper(), match.group(2)))
    if not found:
        return ParsedReply(
            None,
            None,
            "",
            "The reply does not start a line with ACCEPT, DEFER or REJECT "
            "(or ACCETTO, RINVIO, RIFIUTO).",
        )
    decisions = {KEYWORDS[keyword.lower()] for _, keyword, _ in found}
    if len(decisions) > 1:
        names = ", ".join(dict.fromkeys(keyword for _, keyword, _ in found))
        return ParsedReply(
            None, None, "", f"The reply names more than one decision ({names}); send one."
        )
    index, keyword, rest = found[0]
    decision = KEYWORDS[keyword.lower()]
    for line in lines[index + 1 :]:
        if not line.strip() or _KEYWORD_LINE.match(line):
            break
        rest = f"{rest} {line.strip()}"

    if decision == "rejected":
        reason = _clean(rest)
        error = None if reason else f"{keyword} needs a reason, e.g. {keyword} we accept this risk."
        return ParsedReply(decision, None, reason, error)

    date, reason, date_error = _take_date(rest)
    if date_error:
        return ParsedReply(decision, None, reason, date_error)
    if decision == "accepted":
        if date is None:
            return ParsedReply(
                decision,
                None,
                reason,
                f"{keyword} needs a planned implementation date, e.g. {keyword} "
                f"{(today + EXAMPLE_PLAN_AFTER).isoformat()}.",
            )
        if date < today:
            return ParsedReply(
                decision,
                date,
                reason,
                f"The planned implementation date {date.isoformat()} is in the past.",
            )
        return ParsedReply(decision, date, reason, None)

    example = (
        f"e.g. {keyword} {(today + EXAMPLE_DEFERRAL_AFTER).isoformat()} "
        "the budget arrives next quarter."
    )
    if date is None and not reason:
        return ParsedReply(decision, None, "", f"{keyword} needs a date and a reason, {example}")
    if date is None:
        return ParsedReply(decision, None, reason, f"{keyword} needs a date, {example}")
    if not reason:
        return ParsedReply(
            decision, date, "", f"{keyword} needs a reason after the date, {example}"
        )
    if date <= today:
        return ParsedReply(
            decision,
            date,
            reason,
            f"The deferral date {date.isoformat()} must be after today ({today.isoformat()}).",
        )
    return ParsedReply(decision, date, reason, None)


def _take_date(text: str) -> tuple[dt.date | None, str, str | None]:
    """(date, the text without the date and its lead words, error)."""
    best: tuple[int, str, re.Match[str]] | None = None
    for kind, pattern in _DATE_PATTERNS:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), kind, match)
    if best is None:
        return None, _clean(text), None
    _, kind, match = best
    before, after = text[: match.start()], text[match.end() :]
    while (lead := _DATE_LEAD.search(before)) is not None and lead.group(0):
        before = before[: lead.start()]
    reason = _clean(f"{before.strip(_PUNCTUATION)} {after}")
    try:
        date = _to_date(kind, match)
    except ValueError:
        return None, reason, f"{match.group(0)} is not a valid date."
    return date, reason, None


def _to_date(kind: str, match: re.Match[str]) -> dt.date:
    if kind == "ymd":
        year, month, day = (int(g) for g in match.groups())
    elif kind == "dmy":
        day, month, year = (int(g) for g in match.groups())
        if year < 100:
            year += 2000
    elif kind == "d_month_y":
        day, month, year = int(match[1]), MONTHS[match[2].lower()], int(match[3])
    else:
        month, day, year = MONTHS[match[1].lower()], int(match[2]), int(match[3])
    return dt.date(year, month, day)


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).lstrip(_PUNCTUATION).rstrip(" \t,;:-\u2013\u2014*_")
