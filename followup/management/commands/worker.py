"""``heeded worker``: run the follow-up sweep, the periodic jobs (``followup.jobs``:
verify pass, compliance snapshot, scheduled reports), the work pages queue (a tracker
preview) and deliver the outbox.

The loop is a list of steps, each "do one unit of work, return whether there was
any". A pass runs the steps in turn until none finds work; between passes the worker
sleeps HEEDED_WORKER_IDLE_SECONDS. SIGTERM and SIGINT let the current unit finish
and then end the process with status 0.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone

from followup import heartbeat
from followup.delivery import deliver_due
from followup.jobs import JobRunner, take_queued
from followup.sweep import sweep

Step = Callable[[], bool]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


class Command(BaseCommand):
    help = "Deliver due outbox messages, with retries and backoff, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Run one pass (until nothing is due) and exit, e.g. from cron.",
        )
        parser.add_argument(
            "--worker-id",
            default="",
            help="Name recorded on claims and attempts (default: hostname:pid).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.worker_id = (options["worker_id"] or default_worker_id())[:100]
        self.stop_requested = threading.Event()
        self.jobs = JobRunner(self.worker_id)
        previous = {
            sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.say(f"heeded worker {self.worker_id}: started")
            if options["once"]:
                self.run_pass()
            else:
                self.loop()
            self.say(f"heeded worker {self.worker_id}: stopped")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            connections.close_all()

    # --- the loop --------------------------------------------------------------

    def steps(self) -> list[Step]:
        """The units of work, in the order a pass tries them."""
        return [self.sweep_step, self.jobs_step, self.queued_step, self.deliver_step]

    def loop(self) -> None:
        idle = settings.HEEDED_WORKER_IDLE_SECONDS
        while not self.stop_requested.is_set():
            try:
                worked = self.run_pass()
            except DatabaseError as exc:
                # The database restarting or failing over must not end the worker:
                # drop the connection and try again after the idle pause.
                self.say(f"heeded worker {self.worker_id}: database error: {exc}", err=True)
                connections.close_all()
                worked = False
            if not worked:
                # Wakes at once on SIGTERM/SIGINT: the handler sets the event.
                self.stop_requested.wait(idle)

    def run_pass(self) -> bool:
        """Run the steps round-robin until none finds work; True if any did."""
        worked = False
        while not self.stop_requested.is_set():
            close_old_connections()
            self._beat()
            found = False
            for step in self.steps():
                if self.stop_requested.is_set():
                    break
                found = step() or found
            if not found:
                break
            worked = True
        return worked

    # --- steps -----------------------------------------------------------------

    def sweep_step(self) -> bool:
        """Act on due follow-up steps and queue their notices; True if any."""
        actions = sweep(
            now=timezone.now(),
            worker=self.worker_id,
            report=lambda action: self.say(f"sweep: {action.line()}"),
        )
        return bool(actions)

    def jobs_step(self) -> bool:
        """Run the periodic jobs whose period has come; True if any ran."""
        results = self.jobs.run_due(timezone.now())
        for result in results:
            if result.summary or result.error:
                self.say(f"job: {result.describe()}", err=bool(result.error))
        return bool(results)

    def queued_step(self) -> bool:
        """Take one unit of each kind of queued work (a tracker preview); True if any."""
        lines = take_queued(timezone.now(), self.worker_id)
        for line in lines:
            self.say(f"queued: {line}")
        return bool(lines)

    def deliver_step(self) -> bool:
        """Deliver the earliest due outbox message; True if there was one."""
        results = deliver_due(now=timezone.now(), worker=self.worker_id, limit=1)
        for result in results:
            self.say(f"outbox: {result.describe()}", err=not result.ok)
        return bool(results)

    # --- plumbing --------------------------------------------------------------

    def _beat(self) -> None:
        """For /healthz: a worker that stops coming round shows as stale."""
        now = time.monotonic()
        if now - getattr(self, "_last_beat", -float("inf")) >= heartbeat.BEAT_EVERY:
            heartbeat.beat(self.worker_id)
            self._last_beat = now

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested.set()

    def say(self, line: str, *, err: bool = False) -> None:
        # Flushed line by line: under systemd, Docker or `heeded serve` stdout is a
        # pipe, and a buffered log would hide what the worker did until it exits.
        stream = self.stderr if err else self.stdout
        stream.write(line)
        stream.flush()
