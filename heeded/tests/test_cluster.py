"""The scale-out deployment in miniature: two web processes and three workers, all
separate processes against one PostgreSQL database, with a real SMTP server on
loopback — the shape of deploy/docker-compose.yml and the systemd units.

A recommendation is presented through the API of the first web process; the workers
deliver the e-mail once; the client answers through the link on the second web process;
the first sees the decision. An item left unanswered for a month is swept by the
workers: each step acts once and each notice arrives once, whichever worker took it.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from typing import Any

import pytest

from accounts.tokens import token_create
from followup.models import FollowupStep
from followup.tests.support import (
    EVENT_TIMEOUT,
    SmtpServer,
    child_env,
    closed_port,
    database_url_of_this_run,
    heeded,
    start,
    stop,
)
from heeded.testing import requires_postgres
from recommendations.choices import Status
from recommendations.models import Recommendation
from recommendations.services import recommendation_create, recommendation_present

pytestmark = [pytest.mark.django_db(transaction=True), requires_postgres]

LINK_RE = re.compile(r"http://127\.0\.0\.1:\d+/answer/([A-Za-z0-9_-]+)/")
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _wait(predicate, what: str, timeout: float = EVENT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def _api(port: int, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - http on loopback
        return json.loads(answer.read() or b"null")


def _answer(port: int, token: str, fields: dict[str, str]) -> str:
    """Open the answer page like a browser (cookie and CSRF token), then post."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    url = f"http://127.0.0.1:{port}/answer/{token}/"
    page = opener.open(url, timeout=30).read().decode()
    csrf = CSRF_RE.search(page)
    assert csrf, page[:500]
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf.group(1), **fields}).encode()
    request = urllib.request.Request(url, data=data, headers={"Referer": url})
    return opener.open(request, timeout=30).read().decode()


def test_two_web_processes_and_three_workers_share_one_database(
    admin, client_a, contact_a, template_mfa, settings
):
    now = dt.datetime.now(dt.UTC)
    fresh = recommendation_create(
        client=client_a,
        template_version=template_mfa,
        actor=admin,
        now=now,
        owner=admin,
        contact=contact_a,
        title="Enable MFA on the D'Angelo laptops",
    )
    forgotten = recommendation_present(
        recommendation=recommendation_create(
            client=client_a,
            actor=admin,
            now=now - dt.timedelta(days=40),
            title="Replace the Società NAS",
            body="The NAS is out of support.",
            severity="critical",
            owner=admin,
            contact=contact_a,
        ),
        actor=admin,
        now=now - dt.timedelta(days=40),
    )
    _, api_token = token_create(user=admin, name="cluster", now=now)

    smtp = SmtpServer().start()
    ports = [closed_port(), closed_port()]
    env = child_env(
        DATABASE_URL=database_url_of_this_run(),
        HEEDED_EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        HEEDED_BASE_URL=f"http://127.0.0.1:{ports[1]}",
        HEEDED_WORKER_IDLE_SECONDS="1",
    )
    # As deploy/ runs it: static files collected once, then plain gunicorn processes.
    subprocess.run(
        [*heeded(), "collectstatic", "--noinput", "--verbosity", "0"],
        env=env,
        check=True,
        timeout=5 * EVENT_TIMEOUT,
    )
    gunicorn = [sys.executable, "-m", "gunicorn", "heeded.wsgi:application", "--workers", "1"]
    children = [
        start([*gunicorn, "--bind", f"127.0.0.1:{p}", "--no-control-socket"], env=env)
        for p in ports
    ]
    children += [start([*heeded(), "worker", "--worker-id", f"w{n}"], env=env) for n in range(3)]
    try:
        for port in ports:
            _wait(lambda port=port: _up(port), f"the web process on {port}", 3 * EVENT_TIMEOUT)

        # Presented through the first web process; a worker mails it, once.
        presented = _api(
            ports[0], api_token, "POST", f"/api/v1/recommendations/{fresh.pk}/present/", {}
        )
        assert presented["status"] == Status.AWAITING_RESPONSE
        _wait(
            lambda: any(fresh.title in str(m["Subject"]) for m in smtp.received),
            "the presentation e-mail",
        )
        # The swept item: a step and its notices, each once, whichever worker took it.
        _wait(
            lambda: FollowupStep.objects.filter(
                recommendation=forgotten, notified_at__isnull=False
            ).exists(),
            "the sweep of the forgotten item",
        )
        mail = next(m for m in smtp.received if fresh.title in str(m["Subject"]))
        token = LINK_RE.search(mail.get_body(("plain",)).get_content()).group(1)

        # Answered on the second web process, read back through the first.
        page = _answer(
            ports[1],
            token,
            {
                "decision": "accepted",
                "planned_for": (now + dt.timedelta(days=60)).date().isoformat(),
                "typed_name": "Alice Rossi",
                "consent": "on",
            },
        )
        assert "your answer was recorded" in page
        read = _api(ports[0], api_token, "GET", f"/api/v1/recommendations/{fresh.pk}/")
        assert read["status"] == Status.ACCEPTED
        time.sleep(3)  # three more idle passes of every worker: nothing is sent again
    finally:
        for child in children:
            stop(child)
        smtp.stop()

    counts = smtp.message_ids()
    assert counts and max(counts.values()) == 1, counts
    assert Recommendation.objects.get(pk=fresh.pk).status == Status.ACCEPTED
    steps = FollowupStep.objects.filter(recommendation=forgotten)
    assert steps.count() == len({s.name for s in steps})  # one row per step
    workers = {s.worker for s in FollowupStep.objects.all()}
    print(f"steps by worker: {workers}; messages: {len(counts)}")
