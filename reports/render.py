"""From figures to a document: the context of the report templates, their charts,
the MSP's branding, and the PDF (WeasyPrint).

One template body (``reports/_qbr_body.html``) is shown inside the staff page and
inside the standalone document that becomes the PDF or the HTML file, so the page and
the PDF cannot drift apart. Each report is rendered in its client's language.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from lib import charts
from lib.branding import Branding, branding
from recommendations.choices import Status
from recommendations.mail import severity_label, status_label
from reports.selectors import Qbr

CSS_PATH = Path(__file__).resolve().parent / "static" / "reports" / "report.css"


@cache
def _css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def reason_label(reason: str) -> str:
    labels = {
        "overdue": _("Overdue"),
        "rejected": _("Rejected"),
        "ignored": _("Ignored"),
        "deferred": _("Deferred"),
        "accepted_not_applied": _("Accepted, not applied"),
    }
    return str(labels.get(reason, reason))


def channel_label(channel: str) -> str:
    labels = {
        "signed_link": _("Signed link"),
        "portal": _("Client portal"),
        "email": _("Verified e-mail"),
        "meeting": _("Meeting / QBR"),
        "phone": _("Phone, noted by staff"),
        "staff": _("Recorded by staff"),
        "import": _("Imported spreadsheet"),
    }
    return str(labels.get(channel, channel))


def qbr_context(qbr: Qbr, *, brand: Branding) -> dict[str, Any]:
    """What the QBR body template shows; call inside the client's language."""
    status_order = [
        Status.AWAITING_RESPONSE,
        Status.ACCEPTED,
        Status.IN_PROGRESS,
        Status.DEFERRED,
        Status.REJECTED,
        Status.IGNORED,
        Status.IMPLEMENTED,
        Status.VERIFIED,
    ]
    history = [(snap.day, snap.score) for snap in qbr.history]
    today = qbr.now.astimezone(qbr.client.tz).date()
    if not history or history[-1][0] != today:
        history.append((today, qbr.compliance))
    decided_parts = [
        (status_label(k), qbr.decided[k], charts.DECISION_COLOURS[k])
        for k in ("accepted", "deferred", "rejected", "ignored")
    ]
    return {
        "qbr": qbr,
        "client": qbr.client,
        "brand": brand,
        "period": qbr.period,
        "today": today,
        "status_rows": [
            (status_label(s), qbr.status_counts[s], charts.STATUS_COLOURS[s]) for s in status_order
        ],
        "risk_groups": [
            {
                "severity": group.severity,
                "label": severity_label(group.severity),
                "count": group.count,
                "buckets": [
                    {
                        "name": name,
                        "items": [
                            {
                                "item": item,
                                "reason": reason_label(item.reason),
                                # The status only where it says more than the reason.
                                "status": _status_beside(item),
                                "owner": _person(item.rec.owner),
                                "date_label": _date_label(item),
                            }
                            for item in items
                        ],
                    }
                    for name, items in group.buckets
                ],
            }
            for group in qbr.risk_groups
        ],
        "awaiting": [
            {"rec": rec, "severity": severity_label(rec.severity)} for rec in qbr.awaiting
        ],
        "risk_counts": [(reason_label(k), n) for k, n in qbr.risk_counts.items()],
        "decision_days": [
            (
                day,
                [
                    {
                        "response": r,
                        "decision": status_label(r.decision),
                        "channel": channel_label(r.channel),
                    }
                    for r in responses
                ],
            )
            for day, responses in qbr.decisions
        ],
        "upcoming": [
            (day, _("Deferred until") if kind == "deferred_until" else _("Planned for"), rec)
            for day, kind, rec in qbr.upcoming
        ],
        "verify_command": (
            f"heeded ledger verify --client {qbr.client.slug} "
            f"--anchor {qbr.client.slug}:{qbr.head.seq}:{qbr.head.hash}"
        ),
        "chart_trend": charts.trend_line(
            history,
            title=_("Compliance score over time"),
            colour=brand.colour,
            empty_label=_("No compliance history yet"),
        ),
        "trend_charts": [
            {
                "title": str(trend.title),
                "latest": trend.latest,
                "chart": charts.trend_line(
                    trend.points,
                    title=str(trend.title),
                    colour=brand.colour,
                    empty_label=_("No history yet"),
                ),
            }
            for trend in qbr.trends
        ],
        "chart_status": charts.bars(
            [(label, n, colour) for label, n, colour in _status_bars(qbr)],
            title=_("Recommendations by status"),
        ),
        "chart_adoption": charts.stacked_bar(
            decided_parts,
            title=_("Decisions of the period"),
            empty_label=_("No decisions in this period"),
        ),
    }


def _date_label(item: Any) -> str:
    if item.reason == "deferred":
        return str(_("deferred until"))
    if item.rec.status == Status.AWAITING_RESPONSE:
        return str(_("answer due"))
    return str(_("planned for"))


def _status_beside(item: Any) -> str:
    status = str(status_label(item.rec.status))
    return "" if status == reason_label(item.reason) else status


def _person(user: Any) -> str:
    if user is None:
        return "\u2013"  # an en dash: no one
    return str(user.get_full_name() or user.username)


def _status_bars(qbr: Qbr) -> list[tuple[str, int, str]]:
    order = [
        Status.AWAITING_RESPONSE,
        Status.ACCEPTED,
        Status.IN_PROGRESS,
        Status.DEFERRED,
        Status.REJECTED,
        Status.IGNORED,
        Status.IMPLEMENTED,
        Status.VERIFIED,
    ]
    return [(status_label(s), qbr.status_counts[s], charts.STATUS_COLOURS[s]) for s in order]


def qbr_body(qbr: Qbr, *, request: Any = None) -> str:
    """The report's body in the client's language, for the staff page."""
    with translation.override(qbr.client.language):
        return render_to_string(
            "reports/_qbr_body.html", qbr_context(qbr, brand=branding()), request=request
        )


def qbr_document(qbr: Qbr, *, only_risks: bool = False) -> str:
    """The standalone HTML document (its CSS inline) that is the HTML file and the PDF.
    ``only_risks``: the monthly open-risks report, the same document without the
    charts, decisions, coming dates and escalations."""
    with translation.override(qbr.client.language):
        context = qbr_context(qbr, brand=branding())
        context["css"] = _css()
        context["only_risks"] = only_risks
        what = _("Open risks") if only_risks else "QBR"
        context["document_title"] = f"{qbr.client.name} — {what} {qbr.period.label}"
        return render_to_string("reports/qbr_document.html", context)


def html_to_pdf(html: str) -> bytes:
    return pdf_with_pages(html)[0]


def pdf_with_pages(html: str) -> tuple[bytes, int]:
    """The PDF of a standalone document and its number of pages."""
    # Imported here: WeasyPrint loads Pango through cffi, which only PDF rendering needs.
    from weasyprint import HTML  # type: ignore[import-untyped]

    # No base URL: the document holds everything (CSS inline, logo as a data URI),
    # so rendering never reads a file or the network it was not given.
    document = HTML(string=html, base_url=None).render()
    return document.write_pdf(), len(document.pages)


def portfolio_document(rows: list[Any], *, now: dt.datetime) -> str:
    context = portfolio_context(rows, now=now)
    context["css"] = _css()
    context["document_title"] = f"{context['brand'].name} — portfolio"
    return render_to_string("reports/portfolio_document.html", context)


def portfolio_context(rows: list[Any], *, now: dt.datetime) -> dict[str, Any]:
    brand = branding()
    return {
        "brand": brand,
        "now": now,
        "rows": [
            {"row": row, "spark": charts.sparkline(row.trend, colour=brand.colour)} for row in rows
        ],
        "chart_compliance": charts.bars(
            [
                (row.client.name, int(row.compliance or 0), brand.colour)
                for row in sorted(rows, key=lambda r: r.client.name)[:12]
            ],
            title="Compliance score by client (%)",
            width=900,
        ),
    }
