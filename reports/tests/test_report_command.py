"""``heeded report``: good runs and every bad argument (exit status 2, which and why)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from ledger.models import Anchor
from reports.models import DeliveredReport

pytestmark = pytest.mark.django_db


def run(*args: str):
    return call_command("report", *args)


def test_it_writes_the_html_report_and_stores_the_same_bytes(scene, client_a, tmp_path, capsys):
    out = tmp_path / "acme.html"
    run(
        "--client",
        str(client_a.pk),
        "--period",
        "2026-01-01:2026-03-31",
        "--format",
        "html",
        "--output",
        str(out),
    )
    report = DeliveredReport.objects.get()
    assert out.read_bytes() == bytes(report.content)
    html = out.read_text()
    assert (
        "<svg" in html
        and "<script" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    assert "Separate the guests&#x27; Wi-Fi" in html
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out} (")
    assert f"sha256 {report.sha256}" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--client", "Nobody Ltd"],
            "--client: unknown client 'Nobody Ltd' (give its id, slug or name)",
        ),
        (["--period", "2026-Q7"], "--period: quarter must be Q1 to Q4, got 'Q7'"),
        (
            ["--period", "Q3"],
            "--period: expected YYYY-MM, YYYY-Qn or FROM:TO with dates as YYYY-MM-DD, got 'Q3'",
        ),
        (["--format", "docx"], "--format: expected pdf or html, got 'docx'"),
        (
            ["--output", "/nonexistent-folder/r.pdf"],
            "--output: folder '/nonexistent-folder' does not exist",
        ),
    ],
)
def test_a_bad_argument_exits_2_naming_it_and_stores_nothing(client_a, tmp_path, args, message):
    options = {
        "--client": "acme-dental",
        "--period": "2026-Q1",
        "--format": "pdf",
        "--output": str(tmp_path / "r.pdf"),
    }
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    with pytest.raises(CommandError) as caught:
        run(*[part for pair in options.items() for part in pair])
    assert str(caught.value) == message
    assert caught.value.returncode == 2
    assert not DeliveredReport.objects.exists()
    assert not Anchor.objects.exists()
    assert not (tmp_path / "r.pdf").exists()


def test_the_output_may_not_be_a_folder(client_a, tmp_path):
    with pytest.raises(CommandError) as caught:
        run(
            "--client",
            "acme-dental",
            "--period",
            "2026-Q1",
            "--format",
            "pdf",
            "--output",
            str(tmp_path),
        )
    assert str(caught.value) == f"--output: {str(tmp_path)!r} is a folder, give a file name"


def test_a_missing_argument_exits_2_on_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "heeded.cli", "report", "--client", "x"],
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "heeded.settings_test", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 2
    assert "the following arguments are required: --period, --format, --output" in result.stderr
