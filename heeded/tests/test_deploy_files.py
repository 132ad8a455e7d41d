"""deploy/ stays true to the code: every command it runs exists, the grants it applies
are the documented ones, and the settings it names are real settings."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management import get_commands
from django.utils.module_loading import import_string

from ledger.tests.test_postgres_roles import block, statements

DEPLOY = Path(settings.BASE_DIR) / "deploy"


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


def _check_command(argv: list[str]) -> None:
    program = Path(argv[0]).name
    if program == "gunicorn":
        assert callable(import_string(argv[1].replace(":", ".")))
        assert "--no-control-socket" in argv  # one control socket per user otherwise
    elif program == "heeded":
        assert argv[1] in get_commands(), f"heeded has no command {argv[1]!r}"
    elif program == "sh":
        for part in argv[2].split("&&"):
            words = shlex.split(part)
            if words[0] in {"heeded", "gunicorn"}:
                _check_command(words)
    else:
        raise AssertionError(f"unexpected program {program!r} in {argv}")


def test_the_compose_file_runs_two_web_processes_three_workers_and_real_commands():
    services = _compose()["services"]
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 3
    for name in ("migrate", "web", "worker"):
        _check_command(services[name]["command"])
    # The web and worker processes use the application role, migrate the owner.
    app_url = _compose()["x-heeded"]["environment"]["DATABASE_URL"]
    assert app_url.startswith("postgres://heeded_app:")
    assert services["migrate"]["environment"]["DATABASE_URL"].startswith("postgres://heeded_owner:")


def test_the_grants_applied_after_migrate_are_the_documented_ones():
    documented = statements(block("sql:grants"), {})
    applied = statements(
        "\n".join(
            line
            for line in (DEPLOY / "postgres-grants.sql").read_text().splitlines()
            if not line.startswith("--")
        ),
        {},
    )
    assert applied == documented
    assert "deploy/postgres-grants.sql" in " ".join(_compose()["services"]["migrate"]["command"])


def test_the_systemd_units_run_real_commands():
    for unit in (DEPLOY / "systemd").glob("*.service"):
        (exec_start,) = re.findall(r"^ExecStart=(.+)$", unit.read_text(), re.MULTILINE)
        _check_command(shlex.split(exec_start.replace("%H:%i", "host:1")))


def test_the_example_settings_are_real_settings():
    known = set(
        re.findall(
            r"^(HEEDED_\w+)=", (Path(settings.BASE_DIR) / ".env.example").read_text(), re.MULTILINE
        )
    )
    named = set(
        re.findall(r"^(HEEDED_\w+)=", (DEPLOY / "heeded.env.example").read_text(), re.MULTILINE)
    )
    assert named and named <= known, named - known


def test_the_web_health_check_asks_a_real_endpoint(client, db):
    (probe,) = [
        part for part in _compose()["services"]["web"]["healthcheck"]["test"] if "/healthz" in part
    ]
    path = re.search(r"http://127\.0\.0\.1:8000(/\S+?)'", probe).group(1)
    assert client.get(path).status_code in {200, 503}  # 503 here: no worker heartbeat yet
    assert client.get(path)["Content-Type"].startswith("application/json")
