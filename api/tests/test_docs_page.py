"""/api/v1/docs/: Swagger UI from local files, working under the site's strict CSP."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

DOCS = "/api/v1/docs/"


class PageParts(HTMLParser):
    """Collects what the CSP cares about: scripts, styles and stylesheets."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.inline_script_text: list[str] = []
        self.stylesheets: list[str] = []
        self.style_blocks = 0
        self.style_attributes = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "style" in attributes or any(name.startswith("on") for name in attributes):
            self.style_attributes += 1
        if tag == "script":
            self.scripts.append(attributes.get("src"))
            self._in_script = True
        elif tag == "style":
            self.style_blocks += 1
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script_text.append(data)


def static_file_exists(url: str) -> bool:
    name = url.removeprefix(staticfiles_storage.base_url)
    return finders.find(name) is not None


def test_the_page_loads_only_local_static_files_and_no_inline_code(client):
    response = client.get(DOCS)

    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    page = PageParts()
    page.feed(response.content.decode())
    assert page.scripts, "the page must load Swagger UI"
    assert all(src and src.startswith("/static/") for src in page.scripts), page.scripts
    assert page.inline_script_text == []
    assert page.style_blocks == 0
    assert page.style_attributes == 0
    assert all(href.startswith("/static/") for href in page.stylesheets), page.stylesheets
    assert all(static_file_exists(url) for url in page.scripts + page.stylesheets)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page.scripts
    assert 'data-schema-url="/api/v1/schema/"' in response.content.decode()


def test_a_static_file_from_the_page_is_served(client):
    response = client.get("/static/api/swagger-init.js")

    assert response.status_code == 200
    assert b"SwaggerUIBundle" in b"".join(response.streaming_content)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (make chromium)")
def test_swagger_ui_renders_in_a_browser_without_csp_violations(live_server):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda message: (
                    violations.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            page.goto(f"{live_server.url}{DOCS}")
            try:
                page.wait_for_selector("text=/api/v1/recommendations/{id}/present/", timeout=15_000)
                title = page.locator(".swagger-ui .info .title").inner_text()
            except PlaywrightTimeout:
                title = "(Swagger UI did not render)"
        finally:
            browser.close()

    assert violations == []
    assert title.startswith("Heeded API")
