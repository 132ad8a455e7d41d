"""The Italian strings of the reports: the compiled catalogue matches its source."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext

LOCALE = Path(__file__).resolve().parents[1] / "locale" / "it" / "LC_MESSAGES"


def test_the_compiled_mo_is_the_po_compiled():
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (Debian's gettext) is not installed")
    compiled = subprocess.run(
        [msgfmt, "--check", "-o", "-", str(LOCALE / "django.po")],
        check=True,
        capture_output=True,
    ).stdout
    assert compiled == (LOCALE / "django.mo").read_bytes(), (
        "reports/locale/it/LC_MESSAGES/django.mo is stale: run "
        "'msgfmt -o django.mo django.po' in that folder"
    )


def test_every_report_string_has_an_italian_translation():
    po = (LOCALE / "django.po").read_text(encoding="utf-8")
    assert '\nmsgstr ""\n\n' not in po.split("\n\n", 1)[1] + "\n\n"
    with translation.override("it"):
        assert gettext("Adoption rate") == "Tasso di adozione"
        assert gettext("Open risk items") == "Rischi aperti"
