from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lib import charts

FORBIDDEN = ("transform", "mask", "filter", "foreignObject", "<script", "href=", "gradient")


def test_the_trend_line_is_a_polyline_scaled_to_0_100_with_gaps_for_missing_days() -> None:
    day = dt.date(2026, 1, 1)
    points = [
        (day, Decimal("0")),
        (day + dt.timedelta(days=1), Decimal("50")),
        (day + dt.timedelta(days=2), None),
        (day + dt.timedelta(days=3), Decimal("100")),
        (day + dt.timedelta(days=4), Decimal("100")),
    ]
    svg = charts.trend_line(points, title="Compliance", colour="#1a5fb4", empty_label="none")
    # Plot: x 34..510 over 4 days, y 12 (100 %) .. 164 (0 %).
    assert '<polyline points="34,164 153,88" ' in svg
    assert '<polyline points="391,12 510,12" ' in svg
    assert svg.count("<polyline") == 2
    assert not any(word in svg for word in FORBIDDEN)


def test_an_empty_trend_says_so() -> None:
    svg = charts.trend_line(
        [(dt.date(2026, 1, 1), None)], title="T", colour="#000000", empty_label="No history yet"
    )
    assert "No history yet" in svg and "<polyline" not in svg


def test_bars_are_proportional_and_labels_are_escaped() -> None:
    svg = charts.bars([("D'Alessandro <b>", 10, "#ff0000"), ("Half", 5, "#00ff00")], title="x")
    assert 'height="134" fill="#ff0000"' in svg
    assert 'height="67" fill="#00ff00"' in svg
    assert "D&#x27;Alessandro" in svg and "&lt;b&gt;" in svg and "<b>" not in svg
    assert not any(word in svg for word in FORBIDDEN)


def test_the_stacked_bar_splits_the_whole_width_by_count_in_percent() -> None:
    svg = charts.stacked_bar(
        [("Accepted", 2, "#2f80ed"), ("Deferred", 0, "#e6a700"), ("Rejected", 1, "#d64545")],
        title="x",
        empty_label="-",
    )
    # No viewBox and percentages: the bar fills its box at any width, in the page and
    # in the PDF alike, while the legend's text keeps its size.
    assert 'width="100%"' in svg and "viewBox" not in svg
    assert '<rect x="0%" y="4" width="66.67%" height="24" fill="#2f80ed"/>' in svg
    assert '<rect x="66.67%" y="4" width="33.33%" height="24" fill="#d64545"/>' in svg
    assert 'fill="#e6a700"/>' in svg  # a part with no count still has its legend swatch
    assert "Accepted: 2" in svg and "Deferred: 0" in svg
    assert not any(word in svg for word in FORBIDDEN)


def test_an_empty_stacked_bar_says_so_across_the_width() -> None:
    svg = charts.stacked_bar([("Accepted", 0, "#2f80ed")], title="x", empty_label="Nothing yet")
    assert 'width="99.6%"' in svg and 'x="50%"' in svg and "Nothing yet" in svg


def test_a_count_line_runs_from_zero_to_a_round_ceiling_and_prints_the_last_count() -> None:
    day = dt.date(2026, 1, 1)
    points = [(day, 3), (day + dt.timedelta(days=1), None), (day + dt.timedelta(days=2), 7)]
    svg = charts.count_line(points, title="Open risk items", colour="#d64545", empty_label="none")
    # Ceiling 10: gridlines at 0, 2.5, 5, 7.5 and 10; two segments of one point each.
    assert ">10</text>" in svg and ">2.5</text>" in svg
    assert svg.count("<polyline") == 0
    assert svg.count("<circle") == 3
    assert ">7</text>" in svg
    assert not any(word in svg for word in FORBIDDEN)


def test_stacked_rows_scale_every_row_to_the_largest_and_escape_labels() -> None:
    svg = charts.stacked_rows(
        [
            ("Critical", [("Accepted", 2, "#2f80ed"), ("Rejected", 2, "#d64545")]),
            ("Low <1>", [("Accepted", 1, "#2f80ed"), ("Rejected", 0, "#d64545")]),
        ],
        title="Status by severity",
        empty_label="none",
    )
    # The plot is 520 - 70 - 40 = 410 wide; the largest row (4) fills it.
    assert '<rect x="70" y="6" width="205" height="18" fill="#2f80ed"/>' in svg
    assert '<rect x="275" y="6" width="205" height="18" fill="#d64545"/>' in svg
    assert '<rect x="70" y="32" width="102.5" height="18" fill="#2f80ed"/>' in svg
    assert "Low &lt;1&gt;" in svg
    assert not any(word in svg for word in FORBIDDEN)


def test_empty_stacked_rows_say_so() -> None:
    svg = charts.stacked_rows(
        [("High", [("Accepted", 0, "#2f80ed")])], title="T", empty_label="Nothing yet"
    )
    assert "Nothing yet" in svg and '<rect x="70"' not in svg
