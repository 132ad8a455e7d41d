from __future__ import annotations

import datetime as dt
from decimal import Decimal

from reports import charts

FORBIDDEN = ("transform", "mask", "filter", "foreignObject", "<script", "href=", "gradient")


def test_the_trend_line_is_a_polyline_scaled_to_0_100_with_gaps_for_missing_days():
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


def test_an_empty_trend_says_so():
    svg = charts.trend_line(
        [(dt.date(2026, 1, 1), None)], title="T", colour="#000000", empty_label="No history yet"
    )
    assert "No history yet" in svg and "<polyline" not in svg


def test_bars_are_proportional_and_labels_are_escaped():
    svg = charts.bars([("D'Alessandro <b>", 10, "#ff0000"), ("Half", 5, "#00ff00")], title="x")
    assert 'height="134" fill="#ff0000"' in svg
    assert 'height="67" fill="#00ff00"' in svg
    assert "D&#x27;Alessandro" in svg and "&lt;b&gt;" in svg and "<b>" not in svg
    assert not any(word in svg for word in FORBIDDEN)


def test_the_stacked_bar_splits_the_width_by_count():
    svg = charts.stacked_bar(
        [("Accepted", 3, "#2f80ed"), ("Rejected", 1, "#d64545")], title="x", empty_label="-"
    )
    assert '<rect x="4" y="4" width="384" height="24" fill="#2f80ed"/>' in svg
    assert '<rect x="388" y="4" width="128" height="24" fill="#d64545"/>' in svg
    assert "Accepted: 3" in svg
