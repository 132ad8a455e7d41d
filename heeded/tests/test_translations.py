"""Italian and English: the catalog is complete, compiled, and every template's words
go through the translation machinery."""

from __future__ import annotations

import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation
from django.utils.translation import gettext as _

from heeded.i18n import Finding, template_files, untranslated_text
from lib.errors import ServiceError
from recommendations.lifecycle import Msg

LOCALE = Path(settings.BASE_DIR) / "locale"
PO = LOCALE / "it" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# The files `make messages` leaves out (keep in step with the Makefile).
MESSAGES_IGNORED = [
    ".venv/*",
    "var/*",
    "docs/*",
    "templates/emails/*.en.*",
    "templates/emails/*.it.*",
]


def _entries(text: str) -> list[dict[str, str]]:
    """The entries of a .po file: each field (msgid, msgstr[0], ...) joined, plus flags."""
    entries = []
    for block in text.split("\n\n"):
        entry: dict[str, str] = {"flags": ""}
        field = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += line[2:]
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and field:
                entry[field] += line[1:-1]
            elif " " in line:
                field, value = line.split(" ", 1)
                entry[field] = value[1:-1]
        if entry.get("msgid"):
            entries.append(entry)
    return entries


def _not_done(po: Path) -> list[str]:
    problems = []
    for entry in _entries(po.read_text(encoding="utf-8")):
        translations = [v for k, v in entry.items() if k.startswith("msgstr")]
        if "fuzzy" in entry["flags"]:
            problems.append(f"fuzzy: {entry['msgid']!r}")
        elif not translations or not all(translations):
            problems.append(f"untranslated: {entry['msgid']!r}")
    return problems


def test_the_italian_catalog_has_no_untranslated_or_fuzzy_entry():
    problems = _not_done(PO)
    assert problems == [], "translate these in locale/it/LC_MESSAGES/django.po:\n" + "\n".join(
        problems
    )


def test_the_checker_sees_untranslated_and_fuzzy_entries(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: it\\n"\n\n'
        'msgid "Done"\nmsgstr "Fatto"\n\n'
        'msgid "Open"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Close"\nmsgstr "Chiudi"\n\n'
        'msgid "%(n)s item"\nmsgid_plural "%(n)s items"\nmsgstr[0] "%(n)s elemento"\n'
        'msgstr[1] ""\n',
        encoding="utf-8",
    )
    assert _not_done(po) == [
        "untranslated: 'Open'",
        "fuzzy: 'Close'",
        "untranslated: '%(n)s item'",
    ]


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs Debian's gettext")
def test_every_translatable_string_of_the_code_is_in_the_catalog(tmp_path, monkeypatch):
    """makemessages over the project, into a copy of the catalog: a string added to the
    code or a template without its Italian shows up as untranslated.

    makemessages writes into any ``locale/`` folder of the directory it runs in, so it
    runs in a mirror of the project (symbolic links to everything but ``locale/``).
    """
    root = Path(settings.BASE_DIR)
    mirror = tmp_path / "project"
    mirror.mkdir()
    for entry in root.iterdir():
        if entry.name not in {"locale", ".venv", "var", ".git", "docs"}:
            (mirror / entry.name).symlink_to(entry)
    copy = tmp_path / "catalog" / "it" / "LC_MESSAGES" / "django.po"
    copy.parent.mkdir(parents=True)
    shutil.copy(PO, copy)
    monkeypatch.chdir(mirror)
    with override_settings(LOCALE_PATHS=[tmp_path / "catalog"]):
        call_command(
            "makemessages",
            locale=["it"],
            no_obsolete=True,
            add_location="file",
            symlinks=True,
            ignore_patterns=[*MESSAGES_IGNORED],
            verbosity=0,
        )
    assert PO.read_bytes() == (root / "locale" / "it" / "LC_MESSAGES" / "django.po").read_bytes()
    assert "Dashboard" in copy.read_text(encoding="utf-8")
    assert _not_done(copy) == [], "run `make messages` and translate the new strings"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs Debian's gettext (msgfmt)")
def test_the_committed_mo_is_the_po_compiled(tmp_path):
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(PO)], check=True)
    with fresh.open("rb") as new, MO.open("rb") as committed:
        assert gettext.GNUTranslations(committed)._catalog == (  # type: ignore[attr-defined]
            gettext.GNUTranslations(new)._catalog  # type: ignore[attr-defined]
        ), "locale/it/LC_MESSAGES/django.mo is stale: run `make messages`"


def test_italian_is_served_from_the_catalog():
    with translation.override("it"):
        assert _("Dashboard") == "Cruscotto"
        assert _("Adoption rate") == "Tasso di adozione"
        assert ServiceError(Msg.PLANNED_DATE_REQUIRED).message == (
            "Per accettare serve una data di attuazione prevista."
        )
    assert ServiceError(Msg.PLANNED_DATE_REQUIRED).message == Msg.PLANNED_DATE_REQUIRED


# --- templates ------------------------------------------------------------------------


def test_no_template_shows_words_outside_the_translation_machinery():
    findings: list[Finding] = []
    for path in template_files():
        findings += untranslated_text(path)
    assert [str(f) for f in findings] == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("<p>Hello</p>", ["Hello"]),
        ("<p>{% translate 'Hello' %}</p>", []),
        ("<p>{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}</p>", []),
        ('<input placeholder="Search">', ["placeholder=Search"]),
        ('<input placeholder="{% translate "Search" %}">', []),
        ('<img alt="" src="x.png"><span aria-label="Close">&times;</span>', ["aria-label=Close"]),
        ("<a>Heeded</a> · <code>heeded verify</code>", []),
        ("{% comment %}Not shown{% endcomment %}<script>let a = 'b';</script>", []),
        ('{% include "f.html" with label="Name" %}', ['label="Name"']),
        ('{% include "f.html" with label=_("Name") %}', []),
        ("<p>{{ count }} items</p>", ["items"]),
        ('<p>{{ owner|default:"nobody" }}</p>', ['default:"nobody"']),
        ('<p>{{ owner|default:_("nobody") }}</p>', []),
        ("{{ base_url }}/recommendations/{{ pk }}/", []),
        ("<p>{{ base_url }} recommendations</p>", ["recommendations"]),
    ],
)
def test_the_template_checker(tmp_path, source, found):
    path = tmp_path / "page.html"
    path.write_text("{% load i18n %}" + source, encoding="utf-8")
    assert [f.text for f in untranslated_text(path)] == found
