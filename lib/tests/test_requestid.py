"""Every response carries X-Request-ID, and log lines of the request carry the same."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from lib.requestid import RequestIdFilter, current

pytestmark = pytest.mark.django_db


def test_a_response_carries_a_fresh_request_id(client: Client) -> None:
    first = client.get("/accounts/login/")["X-Request-ID"]
    second = client.get("/accounts/login/")["X-Request-ID"]

    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


def test_an_id_offered_by_the_proxy_is_kept(client: Client) -> None:
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-7f3a.91_c")
    assert response["X-Request-ID"] == "lb-7f3a.91_c"


@pytest.mark.parametrize("offered", ["x\r\nSet-Cookie: a=b", 'a" b', "é", "a" * 65, ""], ids=repr)
def test_an_offered_id_that_is_not_one_is_replaced(client: Client, offered: str) -> None:
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID=offered)
    assert response["X-Request-ID"] != offered
    assert len(response["X-Request-ID"]) == 32


def test_outside_a_request_the_id_is_a_dash() -> None:
    record = logging.LogRecord("heeded", logging.INFO, __file__, 1, "x", None, None)
    RequestIdFilter().filter(record)
    assert getattr(record, "request_id", None) == "-" == current()
