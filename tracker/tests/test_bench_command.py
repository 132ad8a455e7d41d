"""``heeded tracker-bench`` runs end to end on a tiny sheet in its own throw-away
database, printing each figure with its same-run baseline, target and verdict."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_tracker_benchmark_prints_figures_baselines_and_verdicts(tmp_path):
    env = {**os.environ, "HEEDED_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "heeded.cli", "tracker-bench", "--rows", "12", "--one-by-one"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for line in (
        "database: sqlite; sheet: 12 rows, XLSX",
        "first import, rows/s",
        "raw",
        ">= 30% of executemany",
        "first import, seconds",
        "peak RSS, MiB",
        "re-import unchanged, rows/s",
        ">= 20,000 rows/s",
        "one-by-one import, rows/s",
    ):
        assert line in result.stdout, line
    assert "PASS" in result.stdout or "FAIL" in result.stdout
    assert not (tmp_path / "heeded.sqlite3").exists()
