"""Every page obeys the Content-Security-Policy: no inline script, no inline style."""

from html.parser import HTMLParser

import pytest

pytestmark = pytest.mark.django_db


class InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if "style" in names:
            self.problems.append(f"style attribute on <{tag}>")
        if any(name.startswith("on") for name in names):
            self.problems.append(f"event handler attribute on <{tag}>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        for name, value in attrs:
            if name in {"href", "src", "action"} and value and "//" in value.split("?")[0]:
                self.problems.append(f"external {name}: {value}")


def inline_problems(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.problems


@pytest.fixture
def pages(presented, template_fields, client_a):
    return [
        "/",
        "/clients/",
        f"/clients/{client_a.pk}/",
        "/recommendations/",
        f"/recommendations/{presented.pk}/",
        "/recommendations/new/",
        f"/recommendations/new/?template={template_fields.pk}",
        "/recommendations/new/?adhoc=1",
        "/deliveries/",
        "/does-not-exist/",
    ]


def test_no_page_has_inline_scripts_styles_or_outside_assets(login, manager, pages):
    browser = login(manager)
    for url in pages:
        response = browser.get(url)
        assert inline_problems(response.content.decode()) == [], url


def test_the_login_page_has_no_inline_scripts_or_styles(client):
    assert inline_problems(client.get("/accounts/login/").content.decode()) == []


def test_pages_send_a_strict_content_security_policy(login, manager):
    policy = login(manager).get("/")["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_the_finder_catches_what_it_looks_for():
    html = (
        '<p style="color:red" onclick="x()"></p><style>p{}</style><script>1</script>'
        '<script src="https://cdn.example/htmx.js"></script>'
    )

    assert len(inline_problems(html)) == 5


def test_htmx_is_served_from_our_own_static_files(login, manager):
    html = login(manager).get("/").content.decode()

    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in html
    assert '"includeIndicatorStyles": false' in html
