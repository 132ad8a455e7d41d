"""Every request to an answer link is logged through one service."""

from __future__ import annotations

import pytest

from answers.models import LinkAttempt
from answers.services.links import link_attempt_record

pytestmark = pytest.mark.django_db


def test_an_attempt_is_logged_with_its_texts_cut_to_their_columns(now):
    attempt = link_attempt_record(
        link=None,
        outcome="invalid",
        now=now,
        method="POST",
        detail="x" * 2000,
        ip="203.0.113.9",
        user_agent="A" * 1000,
    )
    stored = LinkAttempt.objects.get()
    assert stored.pk == attempt.pk and stored.at == now and stored.link is None
    assert (stored.method, stored.outcome, stored.ip) == ("POST", "invalid", "203.0.113.9")
    assert len(stored.detail) == 1000 and len(stored.user_agent) == 400
