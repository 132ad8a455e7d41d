"""The preview of a large sheet in a real browser: the upload goes to the worker, the
page shows rows checked of the total and the time left, then the preview itself, and
the import from it. Debian's Chromium driven by Playwright, as web/tests/test_browser.py.
"""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connections
from django.utils import timezone

from recommendations.models import Recommendation
from tracker import previews, views
from web.tests.test_browser import CHROMIUM, log_in, shoot
from web.tests.test_browser import page as page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (make test installs it)",
    ),
]

ROWS = 1_500


def _sheet() -> bytes:
    lines = ["Client,Recommendation,Date made"]
    lines += [f"Acme Dental,Patch workstation {n:04d},2025-01-10" for n in range(ROWS)]
    return ("\r\n".join(lines) + "\r\n").encode()


class Gate:
    """Holds the worker's dry run after its ``stop_at``-th progress figures are
    written, until the test has seen them on the page: the browser sees a run in the
    middle however fast the machine is."""

    def __init__(self, stop_at: int) -> None:
        self.stop_at = stop_at
        self.calls = 0
        self.reached = threading.Event()
        self.release = threading.Event()

    def wrap(self, call):  # type: ignore[no-untyped-def]
        def gated(board, done: int, total: int) -> None:
            call(board, done, total)
            self.calls += 1
            if self.calls == self.stop_at:
                self.reached.set()
                assert self.release.wait(60), "the test never released the worker"

        return gated


def _worker(errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            while previews.preview_take(timezone.now(), "browser-worker") is None:
                pass
        except BaseException as exc:  # shown by the test, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    return threading.Thread(target=run, daemon=True)


@pytest.fixture
def large(monkeypatch):
    monkeypatch.setattr(views, "INLINE_BYTES", 1024)
    monkeypatch.setattr(previews, "PROGRESS_INTERVAL", 0)


def test_a_large_sheet_shows_its_progress_then_its_preview_then_imports(
    page, large, admin, client_a, contact_a, monkeypatch, tmp_path, settings
):
    from playwright.sync_api import expect

    settings.DATA_DIR = tmp_path
    gate = Gate(stop_at=3)
    monkeypatch.setattr(
        previews.ProgressFile, "__call__", gate.wrap(previews.ProgressFile.__call__)
    )
    log_in(page, "ada")
    page.goto("/tracker/")
    page.set_input_files(
        "#id_file", files=[{"name": "sheet.csv", "mimeType": "text/csv", "buffer": _sheet()}]
    )
    page.click("#import-form button[type=submit]")
    page.wait_for_url(re.compile(r"/tracker/preview/\d+/$"))
    expect(page.locator("#preview-figures")).to_have_text(
        "Waiting for the worker to start the preview…"
    )

    errors: list[BaseException] = []
    worker = _worker(errors)
    worker.start()
    assert gate.reached.wait(30), errors
    # 100 rows counted at the first figures, 300 at the third: a rate, so a time left.
    figures = page.locator("#preview-figures")
    expect(figures).to_have_text(
        re.compile(r"^300 of 1,500 rows checked \(20%\), about \d+ (s|min) left$")
    )
    expect(page.locator("#preview-bar")).to_have_attribute("value", "300")
    expect(page.locator("#preview-bar")).to_have_attribute("max", str(ROWS))
    shoot(page, "tracker-preview-progress")

    gate.release.set()
    worker.join(60)
    assert not worker.is_alive() and not errors
    result = page.locator("#import-result")
    expect(result).to_contain_text(
        f"dry run of sheet.csv: created {ROWS}, unchanged 0, updated 0, refused 0"
    )
    expect(page.locator("#preview-progress")).to_have_count(0)
    shoot(page, "tracker-preview-done")
    assert not Recommendation.objects.exists()

    result.locator("button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text(
        f"Imported sheet.csv: created {ROWS}, unchanged 0, updated 0, refused 0."
    )
    assert Recommendation.objects.count() == ROWS
    assert page.problems == []  # no CSP violation, no script error


def test_without_javascript_the_progress_page_refreshes_to_the_preview(
    page, live_server, large, admin, client_a, contact_a, tmp_path, settings
):
    from playwright.sync_api import expect

    settings.DATA_DIR = tmp_path
    log_in(page, "ada")
    # The same signed-in session, in a browser with JavaScript off.
    plain = page.context.browser.new_context(base_url=live_server.url, java_script_enabled=False)
    plain.add_cookies(page.context.cookies())
    tab = plain.new_page()
    tab.goto("/tracker/")
    tab.set_input_files(
        "#id_file", files=[{"name": "sheet.csv", "mimeType": "text/csv", "buffer": _sheet()}]
    )
    tab.click("#import-form button[type=submit]")
    tab.wait_for_url(re.compile(r"/tracker/preview/\d+/$"))
    expect(tab.locator("#preview-refresh")).to_have_text("Refresh")
    errors: list[BaseException] = []
    worker = _worker(errors)
    worker.start()
    worker.join(60)
    assert not errors
    # The page refreshes itself (a <meta> in <noscript>); the link does the same at once.
    tab.click("#preview-refresh")
    expect(tab.locator("#import-result")).to_contain_text(f"created {ROWS}")
    plain.close()
