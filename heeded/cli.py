"""The ``heeded`` command: Django's management commands with Heeded's settings,
runnable from any directory (``heeded ledger verify``, ``heeded worker``, ...)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heeded.settings")
    from django.core.management import execute_from_command_line

    from lib.env import ConfigError

    args = list(sys.argv if argv is None else argv)
    args[0] = "heeded"
    try:
        execute_from_command_line(args)
    except ConfigError as exc:
        sys.stderr.write(f"heeded: configuration error: {exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
