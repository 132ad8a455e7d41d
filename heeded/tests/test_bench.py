"""``heeded bench`` runs end to end on a tiny scale in its own throw-away database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from followup.tests.support import database_url_of_this_run
from heeded.testing import requires_postgres


def test_the_benchmark_prints_numbers_and_ratios_without_touching_the_configured_database(
    tmp_path,
):
    env = {**os.environ, "HEEDED_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "heeded.cli",
            "bench",
            "--appends",
            "20",
            "--stored",
            "300",
            "--due",
            "10",
            "--devices",
            "20",
            "--kbs",
            "10",
            "--clients",
            "10",
            "--recommendations",
            "200",
            "--items",
            "20",
            "--sweep-due",
            "12",
            "--json",
            str(tmp_path / "bench.json"),
            "--verify-events",
            "30",
            "--writer-appends",
            "10",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for line in (
        "append, events/s",
        "verify, events/s",
        "due query, ms",
        "list page of 50, ms",
        "ingest, hotfix rows/s (vs raw executemany)",
        "unchanged re-ingest, reports/s",
        "statements per upload, 10 vs 10 KBs",
        "dashboard page p95, ms (vs live GROUP BY p95)",
        "unfiltered list page, ms (all vs a tenth)",
        "QBR PDF, s (20 vs 2 items)",
        "QBR PDF, CPU s (20 vs 2 items)",
        "verify, events/s (vs plain SHA-256 of the bytes)",
        ">= 30% of SHA-256",
        "ledger-append (8 writers",
        "sweep, s (vs bulk insert of its steps+tickets)",
        "sweep, CPU s (vs bulk insert of its steps+tickets)",
        "sweep, queries per due item (vs target 4)",
        "idle sweep, ms (vs the bare due query)",
    ):
        assert line in result.stdout
    assert "USING COVERING INDEX rec_next_action_due" in result.stdout
    assert not (tmp_path / "heeded.sqlite3").exists()
    # Every row is also written as JSON; rows with a target say PASS or FAIL.
    rows = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert {r["database"] for r in rows} == {"sqlite"}
    judged = [r for r in rows if r["target"]]
    assert judged and all(r["verdict"] in ("PASS", "FAIL") for r in judged)
    assert all(r["verdict"] == "" for r in rows if not r["target"])
    assert any(r["measure"].startswith("unchanged re-ingest") for r in judged)
    passed = sum(r["verdict"] == "PASS" for r in rows)
    failed = sum(r["verdict"] == "FAIL" for r in rows)
    assert f"sqlite: {passed} PASS, {failed} FAIL" in result.stdout


def test_the_benchmark_refuses_sizes_too_small_to_mean_anything(tmp_path):
    env = {**os.environ, "HEEDED_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "heeded.cli", "bench", "--appends", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "--appends must be at least 10" in result.stderr


def test_the_benchmark_refuses_an_unknown_scenario(tmp_path):
    env = {**os.environ, "HEEDED_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "heeded.cli", "bench", "--only", "dashbord"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "--only: unknown scenario dashbord" in result.stderr


@requires_postgres
@pytest.mark.django_db
def test_the_benchmark_runs_in_a_throwaway_postgresql_database_and_drops_it(tmp_path):
    server = database_url_of_this_run()
    env = {**os.environ, "HEEDED_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [
            *[sys.executable, "-m", "heeded.cli", "bench", "--only", "due"],
            *["--appends", "10", "--stored", "300", "--due", "10"],
            *["--throwaway-postgres", server, "--json", str(tmp_path / "pg.json")],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "database: postgresql" in result.stdout
    assert "Index Scan using rec_next_action_due" in result.stdout
    rows = json.loads((tmp_path / "pg.json").read_text(encoding="utf-8"))
    assert {r["database"] for r in rows} == {"postgresql"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'heeded_bench_%%'")
        assert cursor.fetchone()[0] == 0


@requires_postgres
@pytest.mark.django_db
def test_the_ledger_scenarios_run_on_postgresql_with_writer_processes(tmp_path):
    env = {**os.environ, "HEEDED_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [
            *[sys.executable, "-m", "heeded.cli", "bench", "--only", "ledger-verify,ledger-append"],
            *["--verify-events", "50", "--writer-appends", "10"],
            *["--throwaway-postgres", database_url_of_this_run()],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "verify, events/s (vs plain SHA-256 of the bytes)" in result.stdout
    assert "append, events/s (vs plain inserts, 8 writers)" in result.stdout
    assert "append, events/s (vs one writer's commits)" in result.stdout
    assert "forks: 0" in result.stdout
