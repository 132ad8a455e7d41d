"""The ``heeded`` console command works from any directory with Heeded's settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def heeded_script() -> str:
    script = Path(sys.executable).with_name("heeded")
    if not script.exists():
        found = shutil.which("heeded")
        if not found:
            pytest.skip("the heeded console script is not installed in this environment")
        return found
    return str(script)


def test_heeded_runs_from_any_directory_and_lists_its_commands(tmp_path):
    env = {**os.environ, "HEEDED_DATA_DIR": str(tmp_path / "data")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [heeded_script(), "help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in ("ledger", "recommendation", "worker", "serve", "demo", "token"):
        assert f"    {command}\n" in result.stdout


def test_every_heeded_command_has_help(tmp_path):
    env = {**os.environ, "HEEDED_DATA_DIR": str(tmp_path / "data")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [heeded_script(), "recommendation", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0
    assert "Show a recommendation or move it through its lifecycle." in result.stdout
