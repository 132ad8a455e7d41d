"""``heeded bench`` runs end to end on a tiny scale in its own throw-away database."""

from __future__ import annotations

import os
import subprocess
import sys


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
        "dashboard page p95, ms (vs live GROUP BY p95)",
        "unfiltered list page, ms (all vs a tenth)",
        "verify, events/s (vs plain SHA-256 of the bytes)",
        "ledger verify vs plain SHA-256: target >= 0.30 of the baseline: ",
        "ledger-append (8 writers",
    ):
        assert line in result.stdout
    assert "USING COVERING INDEX rec_next_action_due" in result.stdout
    assert not (tmp_path / "heeded.sqlite3").exists()


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
