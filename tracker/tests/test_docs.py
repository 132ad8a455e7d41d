"""docs/tracker.md lists the headers and synonyms the importer knows; these tests keep
the tables and tracker/columns.py from drifting apart."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from tracker.columns import HEADERS, LOOSE_SYNONYMS, SYNONYMS, Column

DOC = (Path(settings.BASE_DIR) / "docs" / "tracker.md").read_text(encoding="utf-8")


def _table_after(heading: str) -> list[list[str]]:
    lines = DOC.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _names(cell: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in cell.split(",") if n.strip())


def test_the_columns_table_gives_every_header_in_both_languages():
    rows = _table_after("### Columns")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (HEADERS["en"][c].lower(), HEADERS["en"][c], HEADERS["it"][c]) for c in Column
    ]


def test_the_synonyms_table_is_the_one_the_importer_uses():
    rows = _table_after("#### Synonyms")
    assert [r[0] for r in rows] == [HEADERS["en"][c].lower() for c in Column]
    assert {r[0]: _names(r[1]) for r in rows} == {
        HEADERS["en"][c].lower(): SYNONYMS.get(c, ()) for c in Column
    }
    assert {r[0]: _names(r[2]) for r in rows if r[2]} == {
        HEADERS["en"][c].lower(): names for c, names in LOOSE_SYNONYMS.items()
    }
