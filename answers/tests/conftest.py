"""Fixtures of the answers tests: the raw tokens presenting e-mails carry."""

from __future__ import annotations

import re

import pytest

from followup.models import OutboxMessage
from lib import sealed

LINK_RE = re.compile(r"/answer/([A-Za-z0-9_-]+)/")


def links_in(message: OutboxMessage) -> list[str]:
    """The answer-link tokens of a queued e-mail, in the order they appear, as the
    worker puts them in at delivery (the queued text holds placeholders)."""
    return LINK_RE.findall(sealed.expand(message.payload["text"]))


def mail_to(address: str, *, key_prefix: str = "present:") -> OutboxMessage:
    return OutboxMessage.objects.filter(
        payload__to=[address], idempotency_key__startswith=key_prefix
    ).latest("pk")


@pytest.fixture
def token_a(presented, contact_a) -> str:
    """The token of the link presenting ``presented`` to Alice."""
    return links_in(mail_to(contact_a.email))[0]


@pytest.fixture
def api(now):
    """`api(user)`: an APIClient sending a fresh token of `user`."""
    from rest_framework.test import APIClient

    from accounts.tokens import token_create

    def make(user):
        client = APIClient()
        _, raw = token_create(user=user, name="tests", now=now)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make
