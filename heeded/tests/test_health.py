"""/healthz, and a plain 503 instead of a traceback when the database is down."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

from followup import heartbeat

pytestmark = pytest.mark.django_db


def _refuse(*args, **kwargs):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: refused')


def test_healthy_without_a_worker_ever_seen(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "migrations": "ok",
        "worker": {"status": "none"},
    }


def test_a_recent_heartbeat_is_healthy_and_a_stale_one_is_not(client, settings):
    heartbeat.beat("node-1:4242", now=time.time() - 20)
    body = client.get("/healthz").json()
    assert body["worker"]["status"] == "ok"
    assert 19 <= body["worker"]["heartbeat_age_seconds"] <= 25

    heartbeat.beat("node-1:4242", now=time.time() - settings.HEEDED_HEALTH_WORKER_MAX_AGE - 5)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "fail"
    assert response.json()["worker"]["status"] == "stale"


def test_healthz_touches_no_session_and_sets_no_cookie(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # SELECT 1 and the heartbeat
        response = client.get("/healthz", HTTP_HOST="10.0.0.5")  # a balancer's own address
    assert response.status_code == 200
    assert not response.cookies
    assert "X-Request-ID" in response


def test_healthz_ignores_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


def test_healthz_holds_nothing_secret(client, settings):
    heartbeat.beat("node-1:4242")
    text = client.get("/healthz").content.decode()
    for secret in [settings.SECRET_KEY, settings.DATABASES["default"]["NAME"], "node-1"]:
        assert str(secret) not in text


def test_pending_migrations_fail_the_check(client, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    from heeded import health

    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: ["0001"])
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["migrations"] == "pending"


def test_an_unreachable_database_fails_the_check(client, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(BaseDatabaseWrapper, "cursor", _refuse)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "fail", "database": "unreachable"}


def test_a_page_answers_a_plain_503_when_the_database_is_down(client, manager):
    client.force_login(manager)
    client.raise_request_exception = False
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseDatabaseWrapper, "cursor", _refuse)
        response = client.get("/clients/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    text = response.content.decode()
    assert "Temporarily unavailable" in text
    assert "Traceback" not in text and "5432" not in text
    # Recovery needs no restart: the next request works.
    assert client.get("/clients/").status_code == 200


def test_the_api_answers_its_json_error_when_the_database_is_down(client, manager):
    client.force_login(manager)
    client.raise_request_exception = False
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseDatabaseWrapper, "cursor", _refuse)
        response = client.get("/api/v1/clients/")
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "unavailable"


def test_the_worker_beats(monkeypatch):
    from followup.management.commands.worker import Command

    command = Command()
    command.worker_id = "test:1"
    command._beat()
    assert heartbeat.last_beat() == pytest.approx(time.time(), abs=5)
