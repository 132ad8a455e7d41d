"""The strict environment readers refuse bad values with a message naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lib.env import (
    ConfigError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_networks,
    env_str,
    parse_email_url,
)


def test_a_boolean_must_be_spelled_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEEDED_X", "yes")
    assert env_bool("HEEDED_X", False) is True
    monkeypatch.setenv("HEEDED_X", "perhaps")
    with pytest.raises(ConfigError, match=r"HEEDED_X: expected true or false, got 'perhaps'"):
        env_bool("HEEDED_X", False)


def test_a_number_is_checked_for_form_and_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEEDED_N", "12")
    assert env_int("HEEDED_N", 1, minimum=1, maximum=50) == 12
    monkeypatch.setenv("HEEDED_N", "twelve")
    with pytest.raises(ConfigError, match="HEEDED_N: expected a whole number, got 'twelve'"):
        env_int("HEEDED_N", 1)
    monkeypatch.setenv("HEEDED_N", "0")
    with pytest.raises(ConfigError, match="HEEDED_N: must be at least 1, got 0"):
        env_int("HEEDED_N", 1, minimum=1)


def test_unset_and_blank_values_fall_back_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEEDED_S", raising=False)
    assert env_str("HEEDED_S", "d") == "d"
    monkeypatch.setenv("HEEDED_S", "   ")
    assert env_str("HEEDED_S", "d") == "d"
    with pytest.raises(ConfigError, match="HEEDED_S is required but not set"):
        env_str("HEEDED_S", required=True)


def test_a_secret_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("s3cret-from-file\n")
    monkeypatch.setenv("HEEDED_K_FILE", str(secret))
    assert env_str("HEEDED_K") == "s3cret-from-file"
    monkeypatch.setenv("HEEDED_K_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="HEEDED_K_FILE: cannot read"):
        env_str("HEEDED_K")


def test_lists_and_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEEDED_L", "a, b,,c ")
    assert env_list("HEEDED_L") == ["a", "b", "c"]
    monkeypatch.setenv("HEEDED_C", "LOUD")
    with pytest.raises(ConfigError, match="HEEDED_C: expected one of INFO, DEBUG, got 'LOUD'"):
        env_choice("HEEDED_C", ["INFO", "DEBUG"], "INFO")


def test_networks_are_checked_and_written_canonically(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEEDED_P", "10.0.0.1, 172.16.0.0/12,2001:db8::/32")
    assert env_networks("HEEDED_P") == ["10.0.0.1/32", "172.16.0.0/12", "2001:db8::/32"]
    monkeypatch.setenv("HEEDED_P", "10.0.0.0/8,proxy.local")
    with pytest.raises(ConfigError, match=r"HEEDED_P: 'proxy\.local' is not an IP address"):
        env_networks("HEEDED_P")


def test_email_urls_become_django_settings() -> None:
    smtp = parse_email_url("E", "smtp://user%40x:p%3Ass@mail.example.com:587?tls=1")
    assert smtp["EMAIL_HOST"] == "mail.example.com"
    assert smtp["EMAIL_PORT"] == 587
    assert smtp["EMAIL_HOST_USER"] == "user@x"
    assert smtp["EMAIL_HOST_PASSWORD"] == "p:ss"
    assert smtp["EMAIL_USE_TLS"] is True
    assert parse_email_url("E", "smtps://h")["EMAIL_PORT"] == 465
    assert parse_email_url("E", "file:///var/mail")["EMAIL_FILE_PATH"] == "/var/mail"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("gopher://x", "E: unsupported scheme 'gopher'"),
        ("smtp://", "E: an smtp URL needs a host"),
        ("smtp://h:port", "E: the port is not a number"),
        ("smtp://h?tsl=1", "E: unknown option(s) tsl"),
        ("file://", "E: a file URL needs a directory"),
    ],
)
def test_bad_email_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_email_url("E", url)
    assert str(refused.value).startswith(message)


def test_the_heeded_command_refuses_a_bad_setting_with_a_clear_message(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HEEDED_DATA_DIR": str(tmp_path), "HEEDED_DEBUG": "maybe"}
    result = subprocess.run(
        [sys.executable, "-m", "heeded.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert (
        "heeded: configuration error: HEEDED_DEBUG: expected true or false, got 'maybe'"
        in result.stderr
    )


def test_a_database_url_other_than_sqlite_or_postgres_is_refused(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HEEDED_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "mysql://root@127.0.0.1/x",
    }
    result = subprocess.run(
        [sys.executable, "-m", "heeded.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "DATABASE_URL: Heeded supports sqlite:// and postgres:// URLs" in result.stderr
