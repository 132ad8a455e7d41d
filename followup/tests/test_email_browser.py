"""Every client e-mail, English and Italian, rendered in a real browser (Debian's
Chromium): the card, the MSP's logo and colour, one visible answer button, nothing
loaded from outside.

Set HEEDED_EMAIL_SCREENSHOTS=docs/screenshots to write the screenshots the docs show
(``docs/emails.md``).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest

from answers.models import AnswerLink
from answers.services.authority import authority_set
from answers.services.links import recommendations_present
from answers.services.portal import portal_code_request
from answers.services.recording import AnswerItem
from answers.services.submissions import answer_submit
from clients.services import contact_create
from followup.models import OutboxMessage
from followup.sweep import sweep
from lib.branding import branding
from recommendations.choices import Channel
from recommendations.mail import LOGO_CID
from recommendations.services import recommendation_create

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DAY = dt.timedelta(days=1)
BUTTON = 'a[style*="padding:12px 28px"]'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (make test installs it)",
    ),
]

TITLES = {
    "en": [
        ("Require MFA for all remote access", "critical"),
        ("Encrypt every laptop with BitLocker", "medium"),
        ("Test a restore of the file server every quarter", "low"),
    ],
    "it": [
        ("Richiedere l'MFA per ogni accesso remoto", "critical"),
        ("Cifrare tutti i portatili con BitLocker", "medium"),
        ("Provare ogni trimestre il ripristino del file server", "low"),
    ],
}
BODY = {
    "en": "Turn on multi-factor authentication for the VPN, the RDP gateway and webmail.",
    "it": "Attivare l'autenticazione a più fattori per la VPN, il gateway RDP e la webmail.",
}


def _logo(path: Path, colour: str) -> None:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 159, 159), radius=32, fill="white")
    font = ImageFont.load_default(size=84)
    draw.text((80, 82), "RF", fill=colour, font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())


def _scene(client, contact, other, admin, now, language: str) -> dict[str, dict]:
    """Make every kind of client e-mail for ``client`` and return the latest of each."""
    authority_set(
        client=client, contact=contact, severities=["low", "medium"], actor=admin, now=now
    )
    authority_set(client=client, contact=other, severities=["critical"], actor=admin, now=now)
    recs = [
        recommendation_create(
            client=client,
            actor=admin,
            now=now,
            title=title,
            body=BODY[language],
            risk_if_ignored=(
                "A single phished password opens the network."
                if language == "en"
                else "Una sola password rubata apre la rete."
            ),
            severity=severity,
            owner=admin,
            contact=contact,
        )
        for title, severity in TITLES[language]
    ]
    recommendations_present(recommendations=recs[:1], actor=admin, now=now)
    recommendations_present(recommendations=recs[1:], actor=admin, now=now)
    later = now + 8 * DAY
    sweep(now=later)
    critical = recs[0]
    link = AnswerLink.objects.filter(contact=contact, recommendations=critical).earliest("pk")
    answer_submit(
        contact=contact,
        items=[
            AnswerItem(
                recommendation=critical,
                decision="rejected",
                justification=(
                    "Too costly this year" if language == "en" else "Troppo costoso quest'anno"
                ),
            )
        ],
        typed_name=contact.name,
        consent=True,
        channel=Channel.SIGNED_LINK,
        now=later + dt.timedelta(hours=2),
        link=link,
    )
    portal_code_request(email=contact.email, now=later + dt.timedelta(hours=3))
    kinds = {
        "presentation": "present:",
        "presentation-batch": "present:batch:",
        "notice": "followup:client:",
        "proposal": "proposal:",
        "receipt": "answer-confirmation:",
        "sign-in": "portal-sign-in:",
    }
    found = {}
    for kind, prefix in kinds.items():
        rows = OutboxMessage.objects.filter(idempotency_key__startswith=prefix, client=client)
        if kind == "presentation":
            rows = rows.exclude(idempotency_key__startswith="present:batch:")
        found[kind] = rows.latest("id").payload
    return found


def test_every_client_email_renders_in_chromium_in_both_languages(
    client_a, client_b, contact_a, contact_b, admin, now, settings, tmp_path, monkeypatch
):
    colour = "#0b6e4f"
    logo = tmp_path / "rossi-figli.png"
    _logo(logo, colour)
    settings.HEEDED_MSP_NAME = "Rossi & Figli IT"
    settings.HEEDED_MSP_COLOUR = colour
    settings.HEEDED_MSP_LOGO = logo
    carla = {
        client: contact_create(
            client=client,
            name="Carla Verdi",
            email=f"carla@{client.slug}.example",
            is_decision_maker=True,
            actor=admin,
            now=now,
        )
        for client in (client_a, client_b)
    }
    mails = {
        "en": _scene(client_a, contact_a, carla[client_a], admin, now, "en"),
        "it": _scene(client_b, contact_b, carla[client_b], admin, now, "it"),
    }
    data_uri = branding().logo_data_uri
    folder = os.environ.get("HEEDED_EMAIL_SCREENSHOTS")

    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 720, "height": 900})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        for language, kinds in mails.items():
            for kind, payload in kinds.items():
                html = payload["html"].replace(f"cid:{LOGO_CID}", data_uri)
                page.set_content(html, wait_until="load")
                button = page.locator(BUTTON)
                assert button.count() == 1, (language, kind)
                box = button.bounding_box()
                assert box is not None and box["width"] > 100 and box["x"] + box["width"] < 680
                colour_of = "getComputedStyle(e.parentElement).backgroundColor"
                assert button.evaluate(f"e => {colour_of}") == "rgb(11, 110, 79)"
                logo_box = page.locator("img").first.bounding_box()
                assert logo_box is not None and logo_box["height"] == 40
                assert page.locator("html").get_attribute("lang") == language
                if folder:
                    Path(folder).mkdir(parents=True, exist_ok=True)
                    page.screenshot(
                        path=str(Path(folder) / f"email-{kind}-{language}.png"), full_page=True
                    )
        browser.close()
    # Nothing was fetched from outside: the logo is inline, there is no stylesheet.
    assert [u for u in requests if not re.match(r"^(data:|about:)", u)] == []
