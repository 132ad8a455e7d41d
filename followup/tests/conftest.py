from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from followup.tests.support import SmtpServer, closed_port


@pytest.fixture
def smtp(settings) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it."""
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 60
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_down(settings) -> int:
    """Django's SMTP backend pointed at a loopback port where nothing listens."""
    port = closed_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    return port


@pytest.fixture
def lease(settings) -> dt.timedelta:
    return dt.timedelta(seconds=settings.HEEDED_OUTBOX_LEASE_SECONDS)
