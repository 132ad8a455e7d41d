"""Checks of Heeded's translations: a template's words go through the translation
machinery, and the Italian catalog is complete.

``untranslated_text`` reads a template with Django's own lexer and reports every piece
of text a person would read that is not inside ``{% translate %}`` or
``{% blocktranslate %}``: text between tags, and the attributes a browser shows or reads
aloud (``title``, ``placeholder``, ``aria-label``, ``alt``...). Words that are the same
in every language (the product's name, file formats) are in ``ALLOWED``.
Templates written for one language (``presented.it.html``) are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.base import Lexer, TokenType

# The same word in English and Italian: names, formats, units, symbols.
ALLOWED = frozenset(
    {
        "Heeded",
        "API",
        "CSV",
        "XLSX",
        "PDF",
        "HTML",
        "QBR",
        "SHA-256",
        "PSA",
        "ID",
        "IP",
        "TOTP",
        "htmx",
        "OpenAPI",
        "Swagger",
        "Swagger UI",
        # An RMM product, the example name of a collector's token.
        "NinjaOne",
        "English",
        "Italiano",
        "Heeded API",
        # Language codes in the catalog's lists, read the same in both languages.
        "EN",
        "IT",
        "EN · IT",
        # {{ message.tags|default:'info' }}: a CSS class, not words.
        "info",
    }
)

# Attributes whose value is shown or read aloud to a person.
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "aria-description", "label")

# A placeholder for each tag, variable and comment token: not text.
HOLE = "\x00"
TRANSLATING_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans"}
SKIPPED_BLOCKS = {"comment": "endcomment", "verbatim": "endverbatim"}
LANGUAGE_SUFFIX = re.compile(r"\.(en|it)\.")
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
ATTRIBUTE = re.compile(
    r"\s(" + "|".join(SHOWN_ATTRIBUTES) + r")\s*=\s*(\"[^\"]*\"|'[^']*')", re.IGNORECASE
)
NOT_TEXT = [
    re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL),
    re.compile(r"<style\b.*?</style\s*>", re.IGNORECASE | re.DOTALL),
    re.compile(r"<!--.*?-->", re.DOTALL),
    # Commands, identifiers and hashes are the same in every language.
    re.compile(r"<code\b.*?</code\s*>", re.IGNORECASE | re.DOTALL),
    # The path of a link built on a variable, as in the e-mails' {{ base_url }}/tickets/1/.
    re.compile("(?<=" + HOLE + r")/[\w./-]*"),
]
TAG = re.compile(r"<[^>]*>")
ATTRIBUTE_TEXT = re.compile(r"[\w-]+=(\"[^\"]*\"|'[^']*')")
# A literal handed to an included template as words to show: {% include ... with label="..." %}.
TAG_ARGUMENT = re.compile(
    r"\b(label|title|placeholder|help_text|heading|empty)=(\"[^\"]*\"|'[^']*')"
)
# A literal shown in place of an empty value: {{ owner|default:"nobody" }}.
FILTER_LITERAL = re.compile(r"\|default(?:_if_none)?:(\"[^\"]*\"|'[^']*')")
ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def _flatten(source: str, arguments: list[Finding]) -> tuple[str, list[int]]:
    """The template's text with every tag, variable and comment replaced by a hole,
    translated blocks and comments dropped; and the source line of every character.
    Literal words passed to an included template are added to ``arguments``."""
    out: list[str] = []
    lines: list[int] = []
    closing: str | None = None
    for token in Lexer(source).tokenize():
        line = token.lineno or 0
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents.split() else ""
            if closing is not None:
                if name == closing:
                    closing = None
                continue
            closing = TRANSLATING_BLOCKS.get(name) or SKIPPED_BLOCKS.get(name)
            for match in TAG_ARGUMENT.finditer(token.contents):
                if LETTER.search(match.group(2)):
                    arguments.append(Finding(Path(), line, f"{match.group(1)}={match.group(2)}"))
        if token.token_type == TokenType.VAR:
            for match in FILTER_LITERAL.finditer(token.contents):
                if LETTER.search(match.group(1)) and match.group(1)[1:-1] not in ALLOWED:
                    arguments.append(Finding(Path(), line, f"default:{match.group(1)}"))
        if closing is not None or token.token_type != TokenType.TEXT:
            out.append(HOLE)
            lines.append(line)
            continue
        for offset, char in enumerate(token.contents):
            out.append(char)
            lines.append(line + token.contents.count("\n", 0, offset))
    return "".join(out), lines


def _blank(text: str, pattern: re.Pattern[str], fill: str = " ") -> str:
    # Keep offsets (and so line numbers) by blanking matches instead of removing them.
    return pattern.sub(lambda m: re.sub(r"[^\n]", fill, m.group(0)), text)


def _words(fragment: str) -> Iterator[str]:
    for piece in ENTITY.sub(" ", fragment).split(HOLE):
        piece = " ".join(piece.split())
        core = re.sub(r"^\W+|\W+$", "", piece)
        if LETTER.search(piece) and core not in ALLOWED:
            yield piece


def untranslated_text(path: Path) -> list[Finding]:
    """Every piece of text in the template at ``path`` a person would read untranslated."""
    arguments: list[Finding] = []
    text, lines = _flatten(path.read_text(encoding="utf-8"), arguments)
    for pattern in NOT_TEXT:
        text = _blank(text, pattern)
    findings = [Finding(path, found.line, found.text) for found in arguments]
    for match in ATTRIBUTE.finditer(text):
        for word in _words(match.group(2)[1:-1]):
            findings.append(Finding(path, lines[match.start(2)], f"{match.group(1)}={word}"))
    # Attributes of a tag split by template tags ({% block body_class %}) are not text.
    text = _blank(_blank(text, TAG, HOLE), ATTRIBUTE_TEXT, HOLE)
    for match in re.finditer(r"[^\s" + HOLE + r"][^" + HOLE + r"]*", text):
        for word in _words(match.group(0)):
            findings.append(Finding(path, lines[match.start()], word))
    return findings


def template_files() -> list[Path]:
    """Every template of the project (not of installed packages), one language's
    templates (``*.it.html``) left out."""
    root = Path(settings.BASE_DIR)
    found = []
    for folder in [root / "templates", *root.glob("*/templates")]:
        for path in sorted(folder.rglob("*")):
            if path.suffix in {".html", ".txt"} and not LANGUAGE_SUFFIX.search(path.name):
                found.append(path)
    return found
