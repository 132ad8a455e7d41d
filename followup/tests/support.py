"""Real parts for the outbox tests: an SMTP server on loopback, child processes."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import queue
import socket
import subprocess
import threading
from collections import Counter
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

# Bounded waits for events (a line of output, a process ending); generous because a
# loaded CI machine may take seconds to start Django, never slept on.
EVENT_TIMEOUT = 60


class _FreePortController(Controller):
    """aiosmtpd's Controller bound to port 0: the OS picks a free port, no race."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """An SMTP server on 127.0.0.1 that records what it accepts.

    ``reply`` is what DATA answers ('250 ...' accepts, '550 ...' refuses).
    ``hold_until_in_flight`` makes each delivery wait until that many are in progress
    at once, which proves that several workers really overlapped.
    ``gate``: when set, each delivery waits until ``release()``; ``entered`` is set
    as soon as one is waiting.
    """

    def __init__(self) -> None:
        self.received: list[Message] = []
        self.reply = "250 OK: queued"
        self.hold_until_in_flight = 0
        self.gate = False
        self.entered = threading.Event()
        self.on_receive: Any = None
        self._in_flight = 0
        self._enough: asyncio.Event | None = None
        self._released: asyncio.Event | None = None
        self._controller = _FreePortController(self, hostname="127.0.0.1", port=0)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self.release()
        self._controller.stop()

    @property
    def port(self) -> int:
        return self._controller.port

    def release(self) -> None:
        loop = self._controller.loop
        if self._released is not None and loop.is_running():
            loop.call_soon_threadsafe(self._released.set)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.gate:
            if self._released is None:
                self._released = asyncio.Event()
            self.entered.set()
            await asyncio.wait_for(self._released.wait(), EVENT_TIMEOUT)
        if self.hold_until_in_flight:
            if self._enough is None:
                self._enough = asyncio.Event()
            self._in_flight += 1
            if self._in_flight >= self.hold_until_in_flight:
                self._enough.set()
            # On timeout the test sees fewer workers than expected and fails.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._enough.wait(), 30)
        if not self.reply.startswith("250"):
            return self.reply
        self.received.append(
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        )
        if self.on_receive is not None:
            self.on_receive()
        return self.reply

    def message_ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.received)


def closed_port() -> int:
    """A loopback port nobody listens on (taken from the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def heeded() -> list[str]:
    from heeded.management.commands.serve import heeded_command

    return heeded_command()


def database_url_of_this_run() -> str:
    """A DATABASE_URL that points a child process at this test run's database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a ``heeded`` child with production settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HEEDED_") and k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="heeded.settings",
        HEEDED_DATA_DIR=str(settings.DATA_DIR),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Output:
    """The merged stdout/stderr of a child, read line by line on a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = EVENT_TIMEOUT) -> str:
        """The first new line containing ``text``; fails with the output so far."""
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in:\n{self.text()}") from None
            if line is None:
                raise AssertionError(f"process ended without {text!r}:\n{self.text()}")
            self.lines.append(line)
            if text in line:
                return line

    def rest(self, timeout: float = EVENT_TIMEOUT) -> str:
        """Everything until the child closes its output."""
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return self.text()

    def text(self) -> str:
        return "\n".join(self.lines)


def start(command: list[str], *, env: dict[str, str], cwd: Path | None = None) -> Output:
    process = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return Output(process)


def stop(output: Output) -> None:
    """Make sure a child is gone at the end of a test, whatever happened."""
    if output.process.poll() is None:
        output.process.kill()
        output.process.wait(EVENT_TIMEOUT)


def someone_waits_for_a_lock() -> bool:
    """True while a session of this test database waits for a lock (PostgreSQL)."""
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL answers from one snapshot of the activity
        # view, taken at its first read: drop it so each call sees the present.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0
