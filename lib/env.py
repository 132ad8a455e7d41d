"""Strict readers for settings that come from the environment.

Each helper returns a typed value or raises ``ConfigError`` naming the variable and
what is wrong with it, so a typo in a deployment fails at start-up instead of
silently falling back to a default.  ``NAME_FILE`` is read instead of ``NAME`` when
set, for secrets mounted as files.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class ConfigError(Exception):
    """A setting from the environment is missing or malformed."""


def _raw(name: str) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {file_name!r}: {exc.strerror}") from exc
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = _raw(name)
    if value is None:
        if required:
            raise ConfigError(f"{name} is required but not set")
        if default is None:
            return ""
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name}: must be at most {maximum}, got {number}")
    return number


def env_list(name: str, default: Iterable[str] = ()) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated list of IP addresses or CIDR networks, each checked and
    written in its canonical form (``10.0.0.1`` becomes ``10.0.0.1/32``)."""
    networks = []
    for item in env_list(name):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(
                f"{name}: {item!r} is not an IP address or network (e.g. 10.0.0.0/8)"
            ) from None
    return networks


def env_choice(name: str, choices: Iterable[str], default: str) -> str:
    allowed = list(choices)
    value = _raw(name)
    if value is None:
        return default
    if value not in allowed:
        raise ConfigError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def env_colour(name: str, default: str) -> str:
    """A colour written ``#rrggbb``, returned in lower case."""
    value = _raw(name)
    if value is None:
        return default
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ConfigError(f"{name}: expected a colour as #rrggbb (e.g. #1a5fb4), got {value!r}")
    return value.lower()


def env_file(name: str, *, suffixes: Iterable[str]) -> Path | None:
    """The path of an existing, readable file with one of ``suffixes``; None if unset."""
    value = _raw(name)
    if value is None:
        return None
    path = Path(value)
    allowed = [s.lower() for s in suffixes]
    if path.suffix.lower() not in allowed:
        raise ConfigError(f"{name}: expected a {', '.join(allowed)} file, got {value!r}")
    if not path.is_file() or not os.access(path, os.R_OK):
        raise ConfigError(f"{name}: {value!r} is not a readable file")
    return path


def parse_email_url(name: str, value: str) -> dict[str, object]:
    """Turn ``smtp://user:pass@host:port?tls=1``, ``file:///dir`` or ``console:`` into
    Django e-mail settings."""
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "file":
        path = unquote(parts.path) or ""
        if not path:
            raise ConfigError(f"{name}: a file URL needs a directory, e.g. file:///var/mail")
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": path,
        }
    if scheme in {"smtp", "smtps"}:
        if not parts.hostname:
            raise ConfigError(f"{name}: an smtp URL needs a host, e.g. smtp://mail.example.com:587")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"{name}: the port is not a number") from None
        query = parse_qs(parts.query)
        unknown = set(query) - {"tls", "timeout"}
        if unknown:
            raise ConfigError(f"{name}: unknown option(s) {', '.join(sorted(unknown))}")
        use_tls = query.get("tls", ["0"])[0] in {"1", "true", "yes"}
        try:
            timeout = int(query.get("timeout", ["20"])[0])
        except ValueError:
            raise ConfigError(f"{name}: timeout must be a whole number of seconds") from None
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname,
            "EMAIL_PORT": port or (465 if scheme == "smtps" else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_SSL": scheme == "smtps",
            "EMAIL_USE_TLS": use_tls and scheme == "smtp",
            "EMAIL_TIMEOUT": timeout,
        }
    raise ConfigError(f"{name}: unsupported scheme {scheme!r}; use smtp, smtps, file or console")
