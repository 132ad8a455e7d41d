"""The staff top bar in a real browser: one line from 1280 px up, in English and in
Italian; the less-used pages under "More", a <details> a keyboard opens; the current
page marked inside it; and a narrow screen where everything is still reachable."""

from __future__ import annotations

import pytest

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

# The vertical middle of every part of the bar, and the bar's height.
LINE = """() => {
  const parts = [...document.querySelectorAll(
    '.topbar .brand, .nav-links > li, #nav-user, #language-switch')];
  return {
    middles: parts.map(e => { const r = e.getBoundingClientRect(); return r.top + r.height / 2; }),
    height: document.querySelector('.topbar').getBoundingClientRect().height,
    overlap: (() => {
      const last = [...document.querySelectorAll('.nav-links > li')].pop().getBoundingClientRect();
      return last.right > document.querySelector('#nav-user').getBoundingClientRect().left;
    })(),
    scroll: document.documentElement.scrollWidth,
  };
}"""


def _one_line(page) -> None:
    line = page.evaluate(LINE)
    assert len(line["middles"]) == 10  # brand, 7 entries, the user's menu, the language
    assert max(line["middles"]) - min(line["middles"]) <= 4, line
    assert line["height"] <= 60 and not line["overlap"], line


def test_the_nav_is_one_line_at_1280_px_in_english_and_italian(page, admin):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, "ada")
    _one_line(page)
    shoot(page, "nav-1280-en")
    page.select_option("#language-choice", "it")
    page.click("#language-switch button[type=submit]")
    page.wait_for_selector("html[lang=it]")
    _one_line(page)
    shoot(page, "nav-1280-it")
    assert page.problems == []


def test_more_opens_from_the_keyboard_and_marks_the_current_page(page, admin):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, "ada")
    more = page.locator("#nav-more")
    deliveries = more.locator("a", has_text="Deliveries")
    expect(deliveries).to_be_hidden()
    page.focus("#nav-more summary")
    page.keyboard.press("Enter")
    expect(deliveries).to_be_visible()
    page.keyboard.press("Tab")
    expect(deliveries).to_be_focused()
    page.keyboard.press("Escape")  # closes, and gives the focus back to "More"
    expect(deliveries).to_be_hidden()
    expect(more.locator("summary")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/deliveries/")
    expect(more.locator("a[aria-current=page]")).to_have_text("Deliveries")
    expect(page.locator(".nav-links > li > a[aria-current=page]")).to_have_count(0)
    # "More" itself is drawn as the current entry while it holds the current page.
    colour = page.evaluate(
        "getComputedStyle(document.querySelector('#nav-more summary')).borderBottomColor"
    )
    assert colour == "rgb(45, 212, 191)"
    page.click("#nav-user summary")
    expect(page.locator("#nav-user button", has_text="Log out")).to_be_visible()
    page.click("h1")  # a click elsewhere closes the menu
    expect(page.locator("#nav-user button", has_text="Log out")).to_be_hidden()
    assert page.problems == []


def test_on_a_phone_every_entry_is_reachable_without_scrolling_sideways(page, admin):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 390, "height": 800})
    log_in(page, "ada")
    assert page.evaluate(LINE)["scroll"] <= 390
    page.click("#nav-more summary")
    staff = page.locator("#nav-more a", has_text="Staff")
    expect(staff).to_be_visible()
    box = staff.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shoot(page, "nav-390-more")
    staff.click()
    page.wait_for_url("**/staff/")
    assert page.problems == []
