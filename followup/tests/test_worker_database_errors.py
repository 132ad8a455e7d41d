"""A database error in a pass does not end the worker: it says so and tries again."""

from __future__ import annotations

import io

import pytest
from django.db import OperationalError

from followup.management.commands.worker import Command


class FlakyWorker(Command):
    """A worker whose only step fails once with a database error, then finds no work."""

    def __init__(self) -> None:
        super().__init__(stdout=io.StringIO(), stderr=io.StringIO())
        self.worker_id = "test:1"
        self.calls = 0

    def steps(self):
        return [self.flaky_step]

    def flaky_step(self) -> bool:
        self.calls += 1
        if self.calls == 1:
            raise OperationalError("server closed the connection unexpectedly")
        self.stop_requested.set()
        return False


# The loop closes connections between passes, which a test transaction would not survive.
@pytest.mark.django_db(transaction=True)
def test_the_loop_survives_a_database_error_and_runs_the_next_pass(settings):
    import threading

    settings.HEEDED_WORKER_IDLE_SECONDS = 0
    worker = FlakyWorker()
    worker.stop_requested = threading.Event()
    worker.loop()
    assert worker.calls == 2
    assert "heeded worker test:1: database error: server closed the connection unexpectedly" in (
        worker.stderr.getvalue()
    )
