"""Where a sheet's header is and which of its columns mean what.

Sheets kept by hand often start with a title ("Tracker raccomandazioni di sicurezza —
Studio Rossi"), an "updated on" line or a blank row, and name columns in their own
words ("Stato", "Assegnato a"). The header is the first of the top rows that names
every required column; what sits above it is skipped and reported. Every other
column that is not imported is reported too, so a decision column under a name we do
not know cannot be dropped without a word.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.columns import REQUIRED, Column, Rank, fold, label, letter, recognise_ranked
from tracker.reader import HEADER_SEARCH_ROWS, UnreadableFile

# Hand-made choices: a header as the sheet writes it → the column it is, or None to
# leave it out. Headers are compared folded, like every other header.
Mapping = dict[str, Column | None]


@dataclass
class Layout:
    header_row: int
    headers: list[str]
    index: dict[Column, int] = field(default_factory=dict)
    # Positions (0-based) of named columns that are not imported.
    unused: list[int] = field(default_factory=list)
    # Positions mapped by hand, and what to: shown again on the preview page.
    mapped: dict[int, Column | None] = field(default_factory=dict)
    # Why an unused column lost: position → the column that took its meaning.
    shadowed: dict[int, Column] = field(default_factory=dict)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def name(self, column: Column) -> str:
        position = self.index.get(column)
        return self.headers[position] if position is not None else label(column).capitalize()

    def choosable(self) -> list[tuple[int, str, str, str]]:
        """The columns a person may map by hand: those not imported and those already
        mapped, as (position, "column F 'Stato'", header, mapped column or "")."""
        return [
            (p, self.describe(p), self.headers[p], (self.mapped.get(p) or ""))
            for p in sorted({*self.unused, *self.mapped})
        ]

    def describe(self, position: int) -> str:
        """``column F 'Stato'``, as the report names a column."""
        header = self.headers[position] if position < len(self.headers) else ""
        return f"column {letter(position)} {header!r}" if header else f"column {letter(position)}"


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value if value is not None else "").strip()


def _assign(headers: list[str], mapping: Mapping) -> tuple[Layout, list[str]]:
    """The layout ``headers`` give, and the sentences of any conflicts in it."""
    layout = Layout(header_row=0, headers=headers)
    best: dict[Column, tuple[Rank, list[int]]] = {}
    named: list[int] = []
    chosen = {fold(header): column for header, column in mapping.items()}
    for position, header in enumerate(headers):
        if not header:
            continue
        key = fold(header)
        if key in chosen:
            target = chosen[key]
            layout.mapped[position] = target
            if target is None:
                continue
            found: tuple[Column, Rank] | None = (target, Rank.MAPPED)
        else:
            found = recognise_ranked(header)
        named.append(position)
        if found is None:
            continue
        column, rank = found
        current = best.get(column)
        if current is None or rank < current[0]:
            best[column] = (rank, [position])
        elif rank == current[0]:
            current[1].append(position)
    conflicts = []
    for column, (_, positions) in best.items():
        layout.index[column] = positions[0]
        if len(positions) > 1:
            both = " and ".join(repr(headers[p]) for p in positions)
            conflicts.append(
                f"Columns {both} both mean {label(column)}; keep one, or choose with "
                f'--map "{headers[positions[1]]}=ignore".'
            )
    taken = set(layout.index.values())
    for position in named:
        if position in taken:
            continue
        layout.unused.append(position)
        found = recognise_ranked(headers[position])
        if found is not None and found[0] in layout.index:
            layout.shadowed[position] = found[0]
    # A sheet with a "Descrizione" column and no title column: that text is the
    # recommendation.
    if Column.RECOMMENDATION not in layout.index and Column.DETAILS in layout.index:
        layout.index[Column.RECOMMENDATION] = layout.index.pop(Column.DETAILS)
    return layout, conflicts


def locate(rows: list[tuple[int, list[object]]], mapping: Mapping | None = None) -> Layout:
    """Find the header among the first rows of ``rows`` (numbered, non-blank).

    Raise UnreadableFile when no row of the first ``HEADER_SEARCH_ROWS`` names every
    required column, or when two columns of the header mean the same thing."""
    mapping = mapping or {}
    fallback: tuple[int, Layout, list[str]] | None = None
    for offset, (number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        headers = [_cell_text(c) for c in cells]
        layout, conflicts = _assign(headers, mapping)
        layout.header_row = number
        if all(c in layout.index for c in REQUIRED):
            if conflicts:
                raise UnreadableFile(" ".join(conflicts))
            layout.skipped = [
                (n, " | ".join(t for c in above if (t := _cell_text(c))))
                for n, above in rows[:offset]
            ]
            _check_mapping(layout, mapping)
            return layout
        if fallback is None or len(layout.index) > len(fallback[1].index):
            fallback = (offset, layout, conflicts)
    assert fallback is not None  # the reader refuses a sheet with no rows
    _, layout, conflicts = fallback
    if conflicts:
        raise UnreadableFile(" ".join(conflicts))
    missing = [label(c).capitalize() for c in REQUIRED if c not in layout.index]
    where = (
        ""
        if layout.header_row == rows[0][0]
        else f" (the best candidate is row {layout.header_row})"
    )
    raise UnreadableFile(
        f"The sheet has no {' or '.join(missing)} column in its first "
        f"{HEADER_SEARCH_ROWS} rows{where}; name the columns in a header row (recognised "
        "headers include Client, Recommendation, Date made and Cliente, Raccomandazione, "
        'Data), or map yours with --map "HEADER=COLUMN".'
    )


def _check_mapping(layout: Layout, mapping: Mapping) -> None:
    present = {fold(h) for h in layout.headers}
    unknown = [repr(h) for h in mapping if fold(h) not in present]
    if unknown:
        raise UnreadableFile(
            f"--map names a column the header (row {layout.header_row}) does not have: "
            f"{', '.join(unknown)}; it has {', '.join(repr(h) for h in layout.headers if h)}."
        )
