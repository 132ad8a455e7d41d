"""The presentation e-mail's reply examples are answers the client could send as they
stand: dates derived from the item's own deadline, never fixed dates in the past."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from answers.mail.replies import parse_reply
from answers.tests.conftest import mail_to
from recommendations.services import recommendation_create, recommendation_present

pytestmark = pytest.mark.django_db
EXAMPLE = re.compile(r"^\s+((?:ACCEPT|DEFER|ACCETTO|RINVIO) \d{4}-\d\d-\d\d.*?)\s{2,}\(", re.M)


@pytest.mark.parametrize("years_later", [0, 3])
@pytest.mark.parametrize("language", ["en", "it"])
def test_the_reply_examples_are_valid_answers_on_the_day_they_are_sent(
    client_a, client_b, contact_a, contact_b, admin, now, language, years_later
):
    client, contact = (client_a, contact_a) if language == "en" else (client_b, contact_b)
    at = now + dt.timedelta(days=365 * years_later, microseconds=314159)
    rec = recommendation_create(
        client=client,
        actor=admin,
        now=at,
        title="Cifrare i portatili",
        body="BitLocker.",
        severity="low",
    )
    rec = recommendation_present(recommendation=rec, actor=admin, now=at)
    text = mail_to(contact.email).payload["text"]
    examples = [line.replace("...", " we need the budget") for line in EXAMPLE.findall(text)]
    assert len(examples) == 2
    today = at.astimezone(client.tz).date()
    for line in examples:
        parsed = parse_reply(line, today=today)
        assert parsed.error is None, (line, parsed.error)
        # Past the answer deadline (low: 30 days), so the example is a plausible plan.
        assert parsed.date > rec.response_due_at.date()
