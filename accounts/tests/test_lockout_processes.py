"""Every process sees the same locks and the same rate-limit counters.

A second Python process, on this run's database, asks what the first one wrote:
with a per-process cache (LocMem) it would see nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.core.cache import cache

from followup.tests.support import database_url_of_this_run

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


def _in_another_process(code: str) -> object:
    """Run ``code`` (which sets ``result``) in a fresh interpreter; return ``result``."""
    script = (
        textwrap.dedent(
            """
        import json
        import django
        django.setup()
        from django.test.utils import setup_test_environment
        setup_test_environment()
        """
        )
        + textwrap.dedent(code)
        + "\nprint(json.dumps(result))\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HEEDED_") and k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="heeded.settings_test",
        DATABASE_URL=database_url_of_this_run(),
        HEEDED_DATA_DIR=str(settings.DATA_DIR),
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_another_process_reads_what_this_one_cached():
    cache.set("heeded-test-shared", "seen", 60)

    seen = _in_another_process(
        """
        from django.core.cache import cache
        result = cache.get("heeded-test-shared")
        """
    )

    assert seen == "seen"


def test_heeded_migrate_creates_the_cache_table_on_a_fresh_database(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HEEDED_") and k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="heeded.settings", HEEDED_DATA_DIR=str(tmp_path))
    heeded = os.path.join(os.path.dirname(sys.executable), "heeded")
    subprocess.run(
        [heeded, "migrate", "--noinput"], env=env, check=True, capture_output=True, timeout=300
    )

    with sqlite3.connect(tmp_path / "heeded.sqlite3") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "heeded_cache" in tables


def test_another_process_refuses_an_account_locked_here_under_another_spelling(
    client, admin, settings
):
    settings.AXES_ENABLED = True
    settings.ACCOUNT_RATE_LIMITS = False
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"login": "ada", "password": "wrong"})

    outcome = _in_another_process(
        f"""
        from django.test import Client, override_settings
        with override_settings(AXES_ENABLED=True, ACCOUNT_RATE_LIMITS=False):
            other = Client()
            response = other.post(
                "/accounts/login/", {{"login": "ADA@msp.example", "password": {PASSWORD!r}}}
            )
        result = [response.status_code, "_auth_user_id" in other.session]
        """
    )

    assert outcome == [429, False]
