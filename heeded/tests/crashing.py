"""Run a ``heeded`` command that kills itself (SIGKILL) at a chosen point of its work.

The crash tests use it where no lock can hold a writer half-way through its
transaction (SQLite has one writer and no advisory locks), and on PostgreSQL too, so the
same test runs on both engines. The point is armed by wrapping a module-level function
the command calls by name; nothing in the application knows about it::

    python -m heeded.tests.crashing ledger-append:<client pk> import sheet.csv --as ada
    python -m heeded.tests.crashing restore-table:<app_label.model> restore backup.tar.gz

``ledger-append`` dies when the command first appends to that client's ledger (after
writing everything before it in the same transaction); ``restore-table`` when the
restore starts inserting that table's rows (after the tables before it). The child
prints ``crashing: armed`` once ready and ``crashing: killed with clients=N
recommendations=M`` (as its own transaction sees them) just before it dies.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

ARMED = "crashing: armed"
KILLED = "crashing: killed"


def _die() -> None:
    """Say what this process's open transaction has written so far, then die."""
    from clients.models import Client
    from recommendations.models import Recommendation

    written = f"clients={Client.objects.count()} recommendations={Recommendation.objects.count()}"
    print(f"{KILLED} with {written}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> None:
    kind, _, target = point.partition(":")
    if kind == "ledger-append":
        from ledger import services

        lock_head = services._lock_head

        def dying_lock_head(client: Any) -> Any:
            if str(client.pk) == target:
                _die()
            return lock_head(client)

        services._lock_head = dying_lock_head  # type: ignore[assignment]

        # A single append on PostgreSQL locks the head inside its one statement.
        append_one = services._append_one

        def dying_append_one(client: Any, new: Any, prefix: bytes) -> Any:
            if str(client.pk) == target:
                _die()
            return append_one(client, new, prefix)

        services._append_one = dying_append_one  # type: ignore[assignment]
    elif kind == "restore-table":
        from heeded import backup

        insert = backup._insert

        def dying_insert(table: Any, root: Any, using: str, progress: Any) -> None:
            if table.model._meta.label_lower == target:
                _die()
            insert(table, root, using, progress)

        backup._insert = dying_insert  # type: ignore[assignment]
    else:
        raise SystemExit(f"crashing: unknown point {point!r}")
    print(ARMED, flush=True)


def main() -> None:
    point, *command = sys.argv[1:]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heeded.settings")
    import django

    django.setup()
    arm(point)
    from heeded.cli import main as heeded

    heeded(["heeded", *command])


if __name__ == "__main__":
    main()
