"""``heeded bench``: the speed of the core paths, each against a baseline measured in
the same run, in a throw-away SQLite database.

Speed targets live here, never in unit tests. Numbers vary between machines; the
ratios are what to watch:

- ledger append vs a plain insert of a row of about the same size (the price of the chain);
- ledger verification vs reading the same rows without hashing;
- the follow-up "what is due" query and the staff list page with ten times more rows
  stored but the same number due/shown: a ratio near 1 means the cost follows what
  is due or shown, not what is stored;
- endpoint-report ingest (devices x KBs through ``inventory_record``) vs a raw
  ``executemany`` of the same hotfix rows, and the unchanged re-ingest rate.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

CHILD_FLAG = "HEEDED_BENCH_CHILD"
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def _timed(fn: Callable[[], Any], repeat: int = 15) -> float:
    """Median wall time of ``fn`` in seconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


class Command(BaseCommand):
    help = "Run the benchmarks in a temporary SQLite database and print numbers and ratios."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--appends", type=int, default=2000, help="Ledger events to append.")
        parser.add_argument(
            "--stored", type=int, default=100_000, help="Recommendations stored at the large scale."
        )
        parser.add_argument(
            "--due", type=int, default=200, help="Recommendations due at both scales."
        )
        parser.add_argument("--devices", type=int, default=2000, help="Devices reporting.")
        parser.add_argument("--kbs", type=int, default=150, help="Hotfixes per device.")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("appends", "stored", "due", "devices", "kbs"):
            if options[name] < 10:
                raise CommandError(f"--{name} must be at least 10")
        if os.environ.get(CHILD_FLAG) != "1":
            self._spawn(options)
            return
        call_command("migrate", verbosity=0)
        self._bench_ledger(options["appends"])
        self._bench_due(options["stored"], options["due"])
        self._bench_ingest(options["devices"], options["kbs"])

    def _spawn(self, options: dict[str, Any]) -> None:
        # A fresh database every run, never the configured one.
        with tempfile.TemporaryDirectory(prefix="heeded-bench-") as tmp:
            env = {**os.environ, CHILD_FLAG: "1", "HEEDED_DATA_DIR": tmp}
            env.pop("DATABASE_URL", None)
            argv = [sys.executable, "-m", "heeded.cli", "bench"]
            for name in ("appends", "stored", "due", "devices", "kbs"):
                argv += [f"--{name}", str(options[name])]
            result = subprocess.run(argv, env=env, check=False)  # noqa: S603
            if result.returncode:
                raise CommandError(f"benchmark failed (exit {result.returncode})")

    def _row(self, name: str, value: str, baseline: str, ratio: float) -> None:
        self.stdout.write(f"{name:<46} {value:>16} {baseline:>16} {ratio:>8.2f}")

    def _header(self, title: str) -> None:
        self.stdout.write(f"\n{title}")
        self.stdout.write(f"{'measure':<46} {'value':>16} {'baseline':>16} {'ratio':>8}")

    def _bench_ledger(self, appends: int) -> None:
        from accounts.models import User
        from clients.services import client_create
        from ledger.models import Anchor, Event
        from ledger.services import event_append
        from ledger.verify import verify_client

        user = User.objects.create_user("bench", role="admin")
        client = client_create(name="Bench client", actor=user, now=NOW)
        # The baseline rows go to another client, so they are not anchors of this chain.
        other = client_create(name="Baseline client", actor=user, now=NOW)
        payload = {"decision": "accepted", "justification": "x" * 80, "planned_for": "2026-07-01"}

        start = time.perf_counter()
        for i in range(appends):
            with transaction.atomic():
                Anchor.objects.create(
                    client=other,
                    seq=i,
                    hash="0" * 64,
                    created_at=NOW,
                    purpose="bench",
                    reference="x" * 120,
                )
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(appends):
            with transaction.atomic():
                event_append(
                    client=client, kind="bench.event", actor="system:bench", at=NOW, data=payload
                )
        chained = time.perf_counter() - start
        self._header(f"ledger ({appends} events, one transaction each)")
        self._row(
            "append, events/s (vs plain insert)",
            f"{appends / chained:,.0f}",
            f"{appends / baseline:,.0f}",
            chained / baseline,
        )

        read = _timed(
            lambda: sum(
                1
                for _ in Event.objects.filter(client=client)
                .order_by("seq")
                .iterator(chunk_size=2000)
            ),
            repeat=3,
        )
        verify = _timed(lambda: verify_client(client), repeat=3)
        report = verify_client(client)
        if not report.ok:
            raise CommandError(f"the bench chain does not verify: {report}")
        events = appends + 1
        self._row(
            "verify, events/s (vs reading the rows)",
            f"{events / verify:,.0f}",
            f"{events / read:,.0f}",
            verify / read,
        )

    def _bench_due(self, stored: int, due: int) -> None:
        from accounts.models import User
        from clients.models import Client
        from recommendations.choices import Status
        from recommendations.models import Recommendation
        from recommendations.selectors import recommendation_list_for

        admin = User.objects.get(username="bench")
        client = Client.objects.get(name="Bench client")
        small = max(stored // 10, due * 2)

        def fill(total: int) -> None:
            have = Recommendation.objects.count()
            rows = []
            for i in range(have, total):
                is_due = i < due
                status = Status.AWAITING_RESPONSE if i % 3 else Status.VERIFIED
                if is_due:
                    status = Status.AWAITING_RESPONSE
                rows.append(
                    Recommendation(
                        client=client,
                        title=f"Recommendation {i}",
                        body="Body",
                        text_sha256="0" * 64,
                        severity=("critical", "high", "medium", "low")[i % 4],
                        status=status,
                        created_at=NOW,
                        updated_at=NOW,
                        next_action_at=(NOW - dt.timedelta(hours=1 + i))
                        if is_due
                        else (
                            NOW + dt.timedelta(days=1 + i % 300)
                            if status != Status.VERIFIED
                            else None
                        ),
                    )
                )
                if len(rows) == 5000:
                    Recommendation.objects.bulk_create(rows)
                    rows = []
            Recommendation.objects.bulk_create(rows)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

        def due_query() -> list[int]:
            return list(
                Recommendation.objects.filter(next_action_at__lte=NOW)
                .order_by("next_action_at")
                .values_list("pk", flat=True)[:500]
            )

        def list_page() -> list[Recommendation]:
            return list(
                recommendation_list_for(
                    admin, status=Status.AWAITING_RESPONSE, client_id=client.pk
                ).order_by("-id")[:50]
            )

        fill(small)
        small_due, small_list = _timed(due_query), _timed(list_page)
        fill(stored)
        large_due, large_list = _timed(due_query), _timed(list_page)
        assert len(due_query()) == due
        self._header(f"follow-up and lists ({small:,} vs {stored:,} stored, {due} due)")
        self._row(
            "due query, ms (large vs small store)",
            f"{large_due * 1000:.2f}",
            f"{small_due * 1000:.2f}",
            large_due / small_due,
        )
        self._row(
            "list page of 50, ms (large vs small store)",
            f"{large_list * 1000:.2f}",
            f"{small_list * 1000:.2f}",
            large_list / small_list,
        )
        with connection.cursor() as cursor:
            sql, params = (
                Recommendation.objects.filter(next_action_at__lte=NOW)
                .order_by("next_action_at")
                .values("pk")[:500]
                .query.sql_with_params()
            )
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
        self.stdout.write(f"due query plan: {plan}")

    def _bench_ingest(self, devices: int, kbs: int) -> None:
        from clients.services import client_create
        from verification.models import Device
        from verification.services import Hotfix, Inventory, inventory_record

        ours = client_create(name="Ingest client", actor="bench", now=NOW)
        raw_client = client_create(name="Raw executemany client", actor="bench", now=NOW)

        def inventory(n: int) -> Inventory:
            return Inventory(
                machine_guid=f"{n:08x}-0000-4000-8000-000000000000",
                computer_name=f"WS-{n:05d}",
                os_build="10.0.26100.7623",
                hotfixes=[
                    Hotfix(f"KB50{k:05d}", "Security Update", "NT AUTHORITY\\SYSTEM", "1/13/2026")
                    for k in range(kbs)
                ],
            )

        inventories = [inventory(n) for n in range(devices)]
        start = time.perf_counter()
        for n, inv in enumerate(inventories):
            inventory_record(
                client=ours, inventory=inv, document_hash=f"first-{n}", source="collector", now=NOW
            )
        ingest = time.perf_counter() - start

        # The baseline: the same rows for as many devices of another client, written by
        # one executemany per device in its own transaction, with nothing else.
        Device.objects.bulk_create(
            [
                Device(
                    client=raw_client,
                    machine_guid=f"raw-{n}",
                    computer_name=f"RAW-{n:05d}",
                    first_seen=NOW,
                    last_seen=NOW,
                )
                for n in range(devices)
            ]
        )
        ids = list(Device.objects.filter(client=raw_client).values_list("pk", flat=True))
        sql = (
            "INSERT INTO verification_installedhotfix (device_id, hotfix_id, kb, flagged, "
            "description, installed_by, installed_on_raw, installed_on, first_seen, last_seen) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        )
        start = time.perf_counter()
        for device_id, inv in zip(ids, inventories, strict=True):
            rows = [
                (
                    device_id,
                    h.hotfix_id,
                    int(h.hotfix_id[2:]),
                    False,
                    h.description,
                    h.installed_by,
                    h.installed_on_raw,
                    dt.date(2026, 1, 13),
                    NOW,
                    NOW,
                )
                for h in inv.hotfixes
            ]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, rows)
        raw = time.perf_counter() - start

        start = time.perf_counter()
        for n, inv in enumerate(inventories):
            result = inventory_record(
                client=ours, inventory=inv, document_hash=f"again-{n}", source="collector", now=NOW
            )
            assert result.outcome == "unchanged"
        unchanged = time.perf_counter() - start

        rows_total = devices * kbs
        self._header(f"endpoint reports ({devices} devices x {kbs} KBs, one report each)")
        self._row(
            "ingest, hotfix rows/s (vs raw executemany)",
            f"{rows_total / ingest:,.0f}",
            f"{rows_total / raw:,.0f}",
            ingest / raw,
        )
        self._row(
            "ingest, reports/s (vs raw executemany)",
            f"{devices / ingest:,.0f}",
            f"{devices / raw:,.0f}",
            ingest / raw,
        )
        self._row(
            "unchanged re-ingest, reports/s (vs first)",
            f"{devices / unchanged:,.0f}",
            f"{devices / ingest:,.0f}",
            unchanged / ingest,
        )
