"""Charts as SVG, drawn on the server: the same markup in the web page and the PDF.

Only what WeasyPrint draws faithfully is used: ``rect``, ``line``, ``polyline``,
``circle`` and ``text`` with plain attributes (no CSS transforms, masks, filters,
gradients or ``foreignObject``), sized in absolute units with a ``viewBox``. Labels
are escaped here; the result is marked safe for the templates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'
GRID = "#d0d5dd"
INK = "#1f2933"
MUTED = "#52606d"

# One colour per status, shared by every chart and the legend tables.
STATUS_COLOURS = {
    "draft": "#b8c2cc",
    "awaiting_response": "#7b8794",
    "accepted": "#2f80ed",
    "in_progress": "#1a5fb4",
    "deferred": "#e6a700",
    "rejected": "#d64545",
    "ignored": "#8e2a2a",
    "implemented": "#3f9142",
    "verified": "#1e6b2a",
    "withdrawn": "#d9dee3",
}
DECISION_COLOURS = {
    "accepted": "#2f80ed",
    "deferred": "#e6a700",
    "rejected": "#d64545",
    "ignored": "#8e2a2a",
}


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, title: str, body: list[str]) -> SafeString:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every label escaped above


def _text(
    x: float, y: float, label: str, *, size: float = 10, anchor: str = "start", fill: str = INK
) -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" {FONT} '
        f'text-anchor="{anchor}" fill="{fill}">{escape(label)}</text>'
    )


def trend_line(
    points: Sequence[tuple[dt.date, Decimal | float | None]],
    *,
    title: str,
    colour: str,
    empty_label: str,
    width: int = 520,
    height: int = 190,
) -> SafeString:
    """A 0-100 % line over time; days without a value break the line."""
    left, right, top, bottom = 34, 10, 12, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    body = []
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        body.append(
            f'<line x1="{left}" y1="{_num(y)}" x2="{width - right}" y2="{_num(y)}" '
            f'stroke="{GRID}" stroke-width="0.8"/>'
        )
        body.append(_text(left - 5, y + 3.5, f"{pct}%", size=9, anchor="end", fill=MUTED))
    known = [(day, float(v)) for day, v in points if v is not None]
    if not known:
        body.append(_text(left + plot_w / 2, top + plot_h / 2, empty_label, anchor="middle"))
        return _svg(width, height, title, body)
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)

    def x_of(day: dt.date) -> float:
        return left + plot_w * (day - first).days / span

    def y_of(value: float) -> float:
        return top + plot_h * (1 - max(0.0, min(100.0, value)) / 100)

    segment: list[str] = []
    segments: list[list[str]] = []
    for day, value in points:
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{_num(x_of(day))},{_num(y_of(float(value)))}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) == 1:
            cx, cy = seg[0].split(",")
            body.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
        else:
            body.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                f'stroke-width="2.2" stroke-linejoin="round"/>'
            )
    end_day, end_value = known[-1]
    body.append(
        f'<circle cx="{_num(x_of(end_day))}" cy="{_num(y_of(end_value))}" r="3.5" fill="{colour}"/>'
    )
    body.append(_text(left, height - 8, first.isoformat(), size=9, fill=MUTED))
    body.append(
        _text(width - right, height - 8, last.isoformat(), size=9, anchor="end", fill=MUTED)
    )
    return _svg(width, height, title, body)


def bars(
    values: Sequence[tuple[str, int, str]],
    *,
    title: str,
    width: int = 520,
    height: int = 190,
) -> SafeString:
    """Vertical bars: (label, count, colour), the count printed above each bar."""
    left, right, top, bottom = 8, 8, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([n for _, n, _ in values] + [1])
    slot = plot_w / max(len(values), 1)
    bar_w = slot * 0.62
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    ]
    for i, (label, n, colour) in enumerate(values):
        h = plot_h * n / peak
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h - h
        if n:
            body.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}" '
                f'fill="{colour}"/>'
            )
        body.append(_text(x + bar_w / 2, y - 4, str(n), size=10, anchor="middle"))
        # Two lines of at most ~12 characters, so long labels fit under their bar.
        words, lines, line = label.split(), [], ""
        for word in words:
            if line and len(line) + len(word) > 12:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
        for j, text in enumerate(lines[:2]):
            body.append(
                _text(x + bar_w / 2, top + plot_h + 13 + 11 * j, text, size=8.5, anchor="middle")
            )
    return _svg(width, height, title, body)


def _pct(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def stacked_bar(
    parts: Sequence[tuple[str, int, str]],
    *,
    title: str,
    empty_label: str,
    height: int = 64,
) -> SafeString:
    """One horizontal bar across the whole width of its box, split into parts (label,
    count, colour), with a legend below.

    The drawing has no ``viewBox`` and the bar's x and width are percentages of its
    width, while the legend is placed in pixels: the bar fills whatever width its box
    has (the class ``chart-fill`` sets it to 100 %) and the text keeps its size. A
    fixed 520-unit drawing filled 45 % of its box on a wide staff page and 74 % of
    the narrower PDF page; now both show the bar from edge to edge.
    """
    top, bar_h = 4, 24
    total = sum(n for _, n, _ in parts)
    body = []
    if not total:
        body.append(
            f'<rect x="0.2%" y="{top}" width="99.6%" height="{bar_h}" fill="none" stroke="{GRID}"/>'
        )
        body.append(_text_at("50%", top + 16, empty_label, anchor="middle"))
        return _fill_svg(height, title, body)
    done = 0
    for _label, n, colour in parts:
        if not n:
            continue
        # From the running total, so the parts meet and the last one ends at 100 %.
        x, w = 100 * done / total, 100 * n / total
        body.append(
            f'<rect x="{_pct(x)}" y="{top}" width="{_pct(w)}" height="{bar_h}" fill="{colour}"/>'
        )
        done += n
    lx = 0.0
    for label, n, colour in parts:
        body.append(
            f'<rect x="{_num(lx)}" y="{top + bar_h + 12}" width="10" height="10" fill="{colour}"/>'
        )
        text = f"{label}: {n}"
        body.append(_text(lx + 14, top + bar_h + 21, text, size=9.5))
        lx += 24 + 6.2 * len(text)
    return _fill_svg(height, title, body)


def _fill_svg(height: int, title: str, body: list[str]) -> SafeString:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-fill" width="100%" '
        f'height="{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every label escaped


def _text_at(x: str, y: float, label: str, *, anchor: str = "start") -> str:
    return (
        f'<text x="{x}" y="{_num(y)}" font-size="10" {FONT} text-anchor="{anchor}" '
        f'fill="{INK}">{escape(label)}</text>'
    )


def sparkline(
    points: Sequence[tuple[dt.date, Decimal | None]],
    *,
    colour: str,
    width: int = 90,
    height: int = 24,
) -> SafeString:
    """A tiny 0-100 % line for a table cell (the portfolio's trend column)."""
    known = [(d, float(v)) for d, v in points if v is not None]
    body = [
        f'<line x1="0" y1="{height - 1}" x2="{width}" y2="{height - 1}" stroke="{GRID}" '
        f'stroke-width="0.8"/>'
    ]
    if len(known) >= 2:
        first, last = known[0][0], known[-1][0]
        span = max((last - first).days, 1)
        coords = " ".join(
            f"{_num(2 + (width - 4) * (d - first).days / span)},"
            f"{_num(2 + (height - 4) * (1 - v / 100))}"
            for d, v in known
        )
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
        )
    return _svg(width, height, "trend", body)


def _nice_ceiling(peak: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least ``peak`` (4 at least),
    so a count axis has round gridlines."""
    peak = max(peak, 4)
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= peak:
                return step * factor
        step *= 10


def count_line(
    points: Sequence[tuple[dt.date, int | None]],
    *,
    title: str,
    colour: str,
    empty_label: str,
    width: int = 520,
    height: int = 190,
) -> SafeString:
    """A count over time (open risk items per day, say) from zero to a round ceiling;
    days without a value break the line, the last value is printed at its point."""
    left, right, top, bottom = 44, 30, 12, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    known = [(day, v) for day, v in points if v is not None]
    ceiling = _nice_ceiling(max([v for _, v in known] + [0]))
    body = []
    for i in range(5):
        value = ceiling * i / 4
        y = top + plot_h * (1 - i / 4)
        body.append(
            f'<line x1="{left}" y1="{_num(y)}" x2="{width - right}" y2="{_num(y)}" '
            f'stroke="{GRID}" stroke-width="0.8"/>'
        )
        body.append(_text(left - 5, y + 3.5, _num(value), size=9, anchor="end", fill=MUTED))
    if not known:
        body.append(_text(left + plot_w / 2, top + plot_h / 2, empty_label, anchor="middle"))
        return _svg(width, height, title, body)
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)

    def x_of(day: dt.date) -> float:
        return left + plot_w * (day - first).days / span

    def y_of(value: int) -> float:
        return top + plot_h * (1 - value / ceiling)

    segments: list[list[str]] = [[]]
    for day, count in points:
        if count is None:
            segments.append([])
        else:
            segments[-1].append(f"{_num(x_of(day))},{_num(y_of(count))}")
    for seg in segments:
        if len(seg) == 1:
            cx, cy = seg[0].split(",")
            body.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
        elif seg:
            body.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                f'stroke-width="2.2" stroke-linejoin="round"/>'
            )
    end_day, end_value = known[-1]
    ex, ey = x_of(end_day), y_of(end_value)
    body.append(f'<circle cx="{_num(ex)}" cy="{_num(ey)}" r="3.5" fill="{colour}"/>')
    body.append(_text(ex + 5, ey - 5, str(end_value), size=10))
    body.append(_text(left, height - 8, first.isoformat(), size=9, fill=MUTED))
    body.append(
        _text(width - right, height - 8, last.isoformat(), size=9, anchor="end", fill=MUTED)
    )
    return _svg(width, height, title, body)


def stacked_rows(
    rows: Sequence[tuple[str, Sequence[tuple[str, int, str]]]],
    *,
    title: str,
    empty_label: str,
    width: int = 520,
) -> SafeString:
    """One horizontal bar per row (label, parts), each split into its parts (label,
    count, colour) on a common scale, the row's total printed at its end, and one
    legend of the parts below: status by severity, say."""
    label_w, right, top, bar_h, gap = 70, 40, 6, 18, 8
    plot_w = width - label_w - right
    totals = [sum(n for _, n, _ in parts) for _, parts in rows]
    peak = max([*totals, 0])
    legend: dict[str, str] = {}
    for _, parts in rows:
        for label, _, colour in parts:
            legend.setdefault(label, colour)
    legend_rows = (len(legend) + 3) // 4
    height = top + len(rows) * (bar_h + gap) + 8 + legend_rows * 16
    body = []
    for i, ((label, parts), total) in enumerate(zip(rows, totals, strict=True)):
        y = top + i * (bar_h + gap)
        body.append(_text(label_w - 6, y + 13, label, size=10, anchor="end"))
        x = float(label_w)
        for _part, n, colour in parts:
            if not n or not peak:
                continue
            w = plot_w * n / peak
            body.append(
                f'<rect x="{_num(x)}" y="{y}" width="{_num(w)}" height="{bar_h}" fill="{colour}"/>'
            )
            x += w
        body.append(_text(x + 4, y + 13, str(total), size=10))
    if not peak:
        body.append(
            _text(
                label_w + plot_w / 2,
                top + len(rows) * (bar_h + gap) / 2,
                empty_label,
                anchor="middle",
            )
        )
    base = top + len(rows) * (bar_h + gap) + 8
    for j, (label, colour) in enumerate(legend.items()):
        lx = 4 + (j % 4) * (width - 8) / 4
        ly = base + (j // 4) * 16
        body.append(f'<rect x="{_num(lx)}" y="{ly}" width="10" height="10" fill="{colour}"/>')
        body.append(_text(lx + 14, ly + 9, label, size=9.5))
    return _svg(width, height, title, body)
