"""Fixtures for the API tests: a frozen clock, clients holding real tokens, and
recommendations driven into each lifecycle status through the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tokens import token_create
from api.tests.support import drive
from recommendations.models import Recommendation


@pytest.fixture(autouse=True)
def frozen_clock(now: dt.datetime) -> Iterator[None]:
    """The API calls services with timezone.now(): pin it to the personas' `now`."""
    with time_machine.travel(now, tick=False):
        yield


@pytest.fixture
def api(now: dt.datetime) -> Callable[[User | None], APIClient]:
    """`api(user)`: an APIClient sending a fresh token of `user`; `api(None)`: anonymous."""

    def make(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, raw = token_create(user=user, name="tests", now=now)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture
def rec_in(draft, admin, now) -> Callable[[str], Recommendation]:
    """`rec_in(status)`: client A's MFA recommendation, driven into `status`."""
    return lambda status: drive(draft, status, actor=admin, now=now)
