"""``heeded serve``: the embedded deployment in one command.

Collects static files, then runs gunicorn (the web app) and ``heeded worker`` (the
outbox) as two child processes. They live and die together: if either exits, the
other is stopped and ``serve`` exits non-zero, so a supervisor (systemd, Docker)
restarts the pair instead of leaving a web app whose e-mails pile up unsent.
SIGTERM or SIGINT stops both cleanly and exits 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lib.env import env_int

STOP_TIMEOUT_SECONDS = 30


def heeded_command() -> list[str]:
    """How to run the ``heeded`` CLI from a child process, whatever the working directory."""
    script = Path(sys.executable).with_name("heeded")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "heeded.cli"]


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


class Command(BaseCommand):
    help = "Serve the web app with gunicorn and run the outbox worker beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help="TCP port (default: $HEEDED_PORT or 8000).",
        )
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind.")
        parser.add_argument(
            "--workers", type=int, default=2, help="gunicorn worker processes (default 2)."
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start the outbox worker (run `heeded worker` elsewhere).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        if port is None:
            port = env_int("HEEDED_PORT", 8000, minimum=1, maximum=65535)
        if not 1 <= port <= 65535:
            raise CommandError(f"--port must be between 1 and 65535, got {port}")
        if options["workers"] < 1:
            raise CommandError(f"--workers must be at least 1, got {options['workers']}")

        call_command("collectstatic", interactive=False, verbosity=0)

        env = dict(os.environ)
        # The children must agree with this process on where the data lives even if a
        # relative HEEDED_DATA_DIR was given, and must load the same settings module.
        env["HEEDED_DATA_DIR"] = str(settings.DATA_DIR)
        env["DJANGO_SETTINGS_MODULE"] = settings.SETTINGS_MODULE
        env.setdefault("PYTHONUNBUFFERED", "1")

        commands = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "heeded.wsgi:application",
                "--bind",
                bind_address(options["host"], port),
                "--workers",
                str(options["workers"]),
                # Importable without installation too: the source tree goes on sys.path
                # without changing the working directory (relative paths keep meaning).
                "--pythonpath",
                str(settings.BASE_DIR),
                "--access-logfile",
                "-",
                # gunicorn's control socket lives at one path per user ($HOME), so two
                # instances would fight over it; this process is the supervisor.
                "--no-control-socket",
            ],
        }
        if not options["no_worker"]:
            commands["worker"] = [*heeded_command(), "worker"]

        self.stop_requested = threading.Event()
        self._wakeup = threading.Event()
        # SIGCHLD wakes the wait below as soon as a child ends.
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)
        previous = {sig: signal.signal(sig, self._wake) for sig in handled}
        children: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name, command in commands.items():
                children[name] = subprocess.Popen(command, env=env)  # noqa: S603
            pids = ", ".join(f"{name} pid {child.pid}" for name, child in children.items())
            self.say(f"heeded serve: http://{bind_address(options['host'], port)}/ ({pids})")
            exit_code = self._supervise(children)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._stop(children)
        if exit_code:
            raise SystemExit(exit_code)
        self.say("heeded serve: stopped")

    def _supervise(self, children: dict[str, subprocess.Popen[bytes]]) -> int:
        """Wait until asked to stop (0) or until a child ends on its own (non-zero)."""
        while True:
            # Cleared before looking, so a signal arriving during the look still
            # cuts the wait below short.
            self._wakeup.clear()
            if self.stop_requested.is_set():
                return 0
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    self.say(
                        f"heeded serve: the {name} process exited with status {code}; "
                        "stopping the others",
                        err=True,
                    )
                    return code if code > 0 else 1
            # The signal handlers (SIGCHLD included) set the event; the timeout is a
            # safety net only.
            self._wakeup.wait(1.0)

    def _wake(self, signum: int, frame: FrameType | None) -> None:
        if signum != signal.SIGCHLD:
            self.stop_requested.set()
        self._wakeup.set()

    def _stop(self, children: dict[str, subprocess.Popen[bytes]]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for name, child in children.items():
            try:
                child.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.say(f"heeded serve: the {name} process did not stop; killing it", err=True)
                child.kill()
                child.wait()

    def say(self, line: str, *, err: bool = False) -> None:
        stream = self.stderr if err else self.stdout
        stream.write(line)
        stream.flush()
