"""Every request to an answer link is logged through one service."""

from __future__ import annotations

import pytest

from answers.models import LinkAttempt, PortalCode
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


def test_the_answer_pages_log_the_address_a_trusted_proxy_forwarded(client, settings):
    settings.HEEDED_TRUSTED_PROXIES = ["10.0.0.0/8"]
    forwarded = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7"}

    assert client.get("/answer/not-a-token/", **forwarded).status_code == 404

    assert LinkAttempt.objects.get().ip == "198.51.100.7"


def test_portal_codes_keep_the_forwarded_address_and_none_without_one(client, contact_a, settings):
    settings.HEEDED_TRUSTED_PROXIES = ["10.0.0.0/8"]
    client.post(
        "/portal/sign-in/",
        {"email": contact_a.email},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    client.post("/portal/sign-in/", {"email": contact_a.email}, REMOTE_ADDR="")

    assert list(PortalCode.objects.order_by("pk").values_list("ip", flat=True)) == [
        "198.51.100.7",
        None,
    ]
