"""Axes and allauth count attempts against the real client address.

X-Forwarded-For is read only from a trusted proxy (HEEDED_TRUSTED_PROXIES); a client
talking to Heeded directly cannot choose the address its attempts count against.
"""

from __future__ import annotations

import pytest
from allauth.account.adapter import get_adapter
from axes.models import AccessAttempt
from django.test import RequestFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def lockout_on(settings):
    settings.AXES_ENABLED = True
    settings.ACCOUNT_RATE_LIMITS = False
    settings.HEEDED_TRUSTED_PROXIES = ["10.0.0.0/8"]


def _fail(client, **meta: str) -> None:
    client.post("/accounts/login/", {"login": "ada", "password": "wrong"}, **meta)


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(client, admin):
    _fail(client, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.1")

    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["198.51.100.7"]


def test_a_forwarded_address_from_a_trusted_proxy_is_used(client, admin):
    _fail(client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")

    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["198.51.100.7"]


def test_allauth_rate_limits_use_the_same_address():
    request = RequestFactory().post(
        "/accounts/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7"
    )

    assert get_adapter(request).get_client_ip(request) == "198.51.100.7"
