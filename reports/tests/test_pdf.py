"""The PDF a client receives: its text (pdftotext) and its charts (pdftoppm)."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
from django.core.management import call_command

from ledger.models import Anchor, Head
from lib.charts import DECISION_COLOURS
from reports.models import DeliveredReport
from reports.services import compliance_history_backfill

from .conftest import REPORT_NOW, pdf_tool
from .pixels import rasterise_first_page

pytestmark = pytest.mark.django_db

BRAND = "#7b2cbf"


@pytest.fixture
def pdf(scene, client_a, tmp_path, time_machine, settings):
    settings.HEEDED_MSP_NAME = "Rossi & Figli IT S.r.l."
    settings.HEEDED_MSP_COLOUR = BRAND
    time_machine.move_to(REPORT_NOW, tick=False)
    compliance_history_backfill(client=client_a, now=REPORT_NOW)
    path = tmp_path / "acme-q1.pdf"
    call_command(
        "report",
        "--client",
        "acme-dental",
        "--period",
        "2026-Q1",
        "--format",
        "pdf",
        "--output",
        str(path),
    )
    return path


def text_of(path) -> str:
    """The text in the order it was drawn (-raw): a table cell's wrapped lines stay
    together, so a long title reads whole once white space is collapsed."""
    out = subprocess.run(
        [pdf_tool("pdftotext"), "-raw", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def test_the_pdf_shows_the_adoption_rate_every_open_risk_and_the_ledger_head(pdf, scene, client_a):
    text = text_of(pdf)
    flat = " ".join(text.split())
    assert "Security review: Acme Dental" in flat
    assert "Rossi & Figli IT S.r.l." in flat
    assert "ADOPTION RATE 50.0% 3 accepted of 6 decided" in flat
    assert "3 accepted of 6 decided" in flat
    for key in ("mfa", "edr", "backup", "laps", "wifi", "dmarc"):
        assert scene[key].title in flat, f"open risk item {key!r} missing from the PDF"
    assert "Costa troppo quest'anno: rivalutare a giugno" in flat
    head = Head.objects.get(client=client_a)
    # The anchor may wrap at the page's edge: compare without white space.
    assert f"acme-dental:{head.seq}:{head.hash}" in "".join(text.split())


def test_the_pdf_draws_the_device_compliance_trend_with_todays_figure(
    device_history, client_a, tmp_path, time_machine
):
    time_machine.move_to(REPORT_NOW, tick=False)
    path = tmp_path / "acme-q1-devices.pdf"
    call_command(
        "report", "--client", "acme-dental", "--period", "2026-Q1", "--format", "pdf",
        "--output", str(path),
    )  # fmt: skip

    flat = " ".join(text_of(path).split())

    assert "Device compliance over time" in flat
    assert "DEVICE COMPLIANCE OVER TIME 50.0%" in flat
    assert "2026-03-27" in flat and "2026-03-30" in flat


def test_a_client_without_devices_gets_no_device_chart(pdf):
    assert "Device compliance" not in text_of(pdf)


def test_the_delivered_pdf_is_stored_with_its_hash_and_anchored(pdf, client_a):
    report = DeliveredReport.objects.get()
    content = pdf.read_bytes()
    assert bytes(report.content) == content
    assert report.sha256 == hashlib.sha256(content).hexdigest()
    assert (report.format, report.period_label, report.channel) == ("pdf", "2026-Q1", "cli")
    anchor = Anchor.objects.exclude(purpose="client e-mail").get(client=client_a)
    head = Head.objects.get(client=client_a)
    assert (anchor.seq, anchor.hash) == (head.seq, head.hash)
    assert anchor.purpose == "qbr report"
    assert report.anchor == anchor


def test_page_one_draws_the_three_charts(pdf):
    image = rasterise_first_page(pdf_tool("pdftoppm"), pdf)
    # The charts sit between the key figures and the risk tables, below the brand
    # stripe (which has the MSP's colour too): from a fifth to three fifths down.
    charts = (0, image.height // 5, image.width, image.height * 3 // 5)
    assert image.count_near(BRAND, (0, 0, image.width, image.height // 5)) > 100, "no stripe"
    # Each chart has a colour only it uses there: the trend line the MSP's colour, the
    # status bars "verified" green, the decisions bar "deferred" amber.
    assert image.count_near(BRAND, charts) > 40, "no compliance trend line on page 1"
    assert image.count_near("#1e6b2a", charts) > 10, "no status bars on page 1"
    assert image.count_near("#e6a700", charts) > 20, "no decisions bar on page 1"
    # The decisions bar runs across its box, the width of the page's text (186 of 210
    # mm) less the box's padding, as on the staff page: at least 80 % of the page's
    # width. A drawing of fixed width filled two thirds of it.
    bar = image.widest_row([DECISION_COLOURS[k] for k in DECISION_COLOURS], charts)
    assert bar > image.width * 0.8, f"decisions bar {bar} px of a {image.width} px page"
    # And the page is not one colour: it has text, frames and charts.
    assert len(image.colours()) > 50


def test_an_italian_client_gets_the_report_in_italian(client_b, contact_b, admin, tmp_path):
    path = tmp_path / "bravo.pdf"
    call_command(
        "report",
        "--client",
        "Bravo Legal",
        "--period",
        "2026-03",
        "--format",
        "pdf",
        "--output",
        str(path),
    )
    flat = " ".join(text_of(path).split())
    assert "Revisione della sicurezza: Bravo Legal" in flat
    assert "TASSO DI ADOZIONE" in flat
    assert "Prova della registrazione" in flat


def test_a_big_client_s_pdf_lists_every_open_risk_item_and_decision(tmp_path):
    from reports import render
    from reports.bench import NOW, PERIOD, scratch_client
    from reports.periods import parse_period
    from reports.selectors import qbr_for

    client, _ = scratch_client(200)
    qbr = qbr_for(client, parse_period(PERIOD), now=NOW)
    path = tmp_path / "big.pdf"
    path.write_bytes(render.html_to_pdf(render.qbr_document(qbr)))

    flat = " ".join(text_of(path).split())
    items = [item.rec for group in qbr.risk_groups for _, part in group.buckets for item in part]
    assert len(items) == qbr.risk_total > 100
    missing = [rec.pk for rec in items + qbr.awaiting if f"#{rec.pk} {rec.title}" not in flat]
    assert not missing, f"open items missing from the PDF: {missing}"
    decided = [r for _, day in qbr.decisions for r in day]
    assert decided
    for response in decided:
        assert f"#{response.recommendation_id} {response.recommendation.title}" in flat
    assert flat.count("Budget approvato dal CdA; we'll revisit in Q4.") == 2 * len(decided)
