"""``heeded serve``: gunicorn and the worker as one unit, on a loopback port.

These tests run real processes against a fresh SQLite database in a temporary data
directory (whatever database the suite itself uses), started from another directory.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from followup.tests.support import (
    EVENT_TIMEOUT,
    Output,
    child_env,
    closed_port,
    heeded,
    start,
    stop,
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A migrated embedded database, shared by the tests of this module."""
    path = tmp_path_factory.mktemp("serve-data")
    subprocess.run(
        [*heeded(), "migrate", "--noinput"],
        env=_env(path),
        check=True,
        capture_output=True,
        timeout=EVENT_TIMEOUT * 3,
    )
    return path


def _env(data_dir: Path) -> dict[str, str]:
    env = child_env(HEEDED_EMAIL_URL="console:", HEEDED_WORKER_IDLE_SECONDS="600")
    env["HEEDED_DATA_DIR"] = str(data_dir)
    return env


def _serve(data_dir: Path, cwd: Path, *args: str) -> tuple[Output, int]:
    port = closed_port()
    serve = start(
        [*heeded(), "serve", "--port", str(port), "--workers", "1", *args],
        env=_env(data_dir),
        cwd=cwd,
    )
    return serve, port


def _get(port: int, path: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=EVENT_TIMEOUT) as r:
        return r.status


def _refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _pids(line: str) -> dict[str, int]:
    return {name: int(pid) for name, pid in re.findall(r"(\w+) pid (\d+)", line)}


def test_serve_answers_http_and_stops_both_processes_on_sigterm(data_dir, tmp_path):
    serve, port = _serve(data_dir, tmp_path)
    try:
        banner = serve.wait_for("heeded serve: http://")
        serve.wait_for(f"Listening at: http://127.0.0.1:{port}")
        serve.wait_for("heeded worker")
        assert set(_pids(banner)) == {"web", "worker"}

        assert _get(port, "/accounts/login/") == 200

        os.kill(serve.process.pid, signal.SIGTERM)
        assert serve.process.wait(EVENT_TIMEOUT) == 0
    finally:
        stop(serve)
    output = serve.rest()
    assert "heeded serve: stopped" in output
    assert ": stopped" in output.replace("heeded serve: stopped", "")  # the worker's own line
    assert _refuses(port)


def test_serve_stops_the_web_app_and_fails_when_the_worker_dies(data_dir, tmp_path):
    serve, port = _serve(data_dir, tmp_path)
    try:
        pids = _pids(serve.wait_for("heeded serve: http://"))
        serve.wait_for(f"Listening at: http://127.0.0.1:{port}")

        os.kill(pids["worker"], signal.SIGKILL)

        assert serve.process.wait(EVENT_TIMEOUT) != 0
    finally:
        stop(serve)
    assert "the worker process exited with status -9; stopping the others" in serve.rest()
    assert _refuses(port)


def test_serve_without_worker_runs_the_web_app_alone_and_stops_on_sigint(data_dir, tmp_path):
    serve, port = _serve(data_dir, tmp_path, "--no-worker")
    try:
        assert set(_pids(serve.wait_for("heeded serve: http://"))) == {"web"}
        serve.wait_for(f"Listening at: http://127.0.0.1:{port}")
        assert _get(port, "/accounts/login/") == 200

        os.kill(serve.process.pid, signal.SIGINT)
        assert serve.process.wait(EVENT_TIMEOUT) == 0
    finally:
        stop(serve)
    assert "heeded worker" not in serve.rest()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": 0}, "--port must be between 1 and 65535, got 0"),
        ({"port": 70000}, "--port must be between 1 and 65535, got 70000"),
        ({"port": 8000, "workers": 0}, "--workers must be at least 1, got 0"),
    ],
)
def test_serve_refuses_bad_options_before_starting_anything(options, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("serve", **options)
