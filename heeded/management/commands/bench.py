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
  ``executemany`` of the same hotfix rows, and the unchanged re-ingest rate;
- the staff dashboard (p50/p95 of the whole page, read from the maintained counters)
  vs the live GROUP BY over every recommendation it replaced, measured in the same
  run on the same rows, and the unfiltered newest-first list page at a tenth of the
  rows and at all of them;
- a client's QBR as a PDF (WeasyPrint) with ``--items`` recommendations (500) vs a
  tenth of them, wall and CPU seconds (the best of three): the ratio shows how the
  layout grows with the client;
- the follow-up sweep of ``--sweep-due`` due recommendations (three in four past their
  deadline: a ticket, a ledger event each and a notice to both sides; the others a
  reminder) over 20 clients: seconds and queries per due item, against plain bulk
  inserts of the step and ticket rows it must write (target: 10,000 due in 10 s or
  less, at most 4 queries per due item).

``--only dashboard`` (or any comma-separated list of ledger, due, ingest, dashboard,
report, sweep, ledger-verify, ledger-append) runs some of them. ``--database-url``
runs them in another database (an empty PostgreSQL one you can throw away) instead of
a temporary SQLite file; ``--throwaway-postgres URL`` creates one on that server and
drops it after.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

CHILD_FLAG = "HEEDED_BENCH_CHILD"
SCENARIOS = (
    "ledger",
    "due",
    "ingest",
    "dashboard",
    "report",
    "ledger-verify",
    "ledger-append",
    "sweep",
)
SIZES = (
    "appends",
    "stored",
    "due",
    "devices",
    "kbs",
    "clients",
    "recommendations",
    "items",
    "verify_events",
    "writer_appends",
    "sweep_due",
)
WRITERS = 8
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def _timed(fn: Callable[[], Any], repeat: int = 15) -> float:
    """Median wall time of ``fn`` in seconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


@contextlib.contextmanager
def _throwaway_postgres(server_url: str) -> Iterator[str]:
    """An empty database on the server of ``server_url``, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"heeded_bench_{os.getpid()}_{secrets.token_hex(4)}"
    base, _, _ = server_url.rpartition("/")
    try:
        admin = psycopg.connect(server_url, autocommit=True)
    except psycopg.Error as exc:
        raise CommandError(f"--throwaway-postgres: cannot connect: {exc}") from None
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class Command(BaseCommand):
    help = "Run the benchmarks in a temporary SQLite database and print numbers and ratios."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action",
            nargs="?",
            choices=("run", "generate"),
            default="run",
            help="run (the default): the benchmarks in a throw-away database; generate: fill "
            "the configured (empty, migrated) database with --clients, --recommendations and "
            "--devices (ledger included) to try the pages at scale.",
        )
        parser.add_argument("--appends", type=int, default=2000, help="Ledger events to append.")
        parser.add_argument(
            "--stored", type=int, default=100_000, help="Recommendations stored at the large scale."
        )
        parser.add_argument(
            "--due", type=int, default=200, help="Recommendations due at both scales."
        )
        parser.add_argument(
            "--devices",
            type=int,
            default=None,
            help="Devices reporting (2000; generate: devices spread over the clients, 0).",
        )
        parser.add_argument(
            "--kbs", type=int, default=None, help="Hotfixes per device (150; generate: 20)."
        )
        parser.add_argument(
            "--clients", type=int, default=100, help="Clients of the dashboard scenario."
        )
        parser.add_argument(
            "--recommendations",
            type=int,
            default=100_000,
            help="Recommendations of the dashboard scenario.",
        )
        parser.add_argument(
            "--items",
            type=int,
            default=500,
            help="Recommendations of the QBR scenario's client (its baseline has a tenth).",
        )
        parser.add_argument(
            "--verify-events",
            type=int,
            default=200_000,
            help="Events in the chain of the ledger-verify scenario.",
        )
        parser.add_argument(
            "--writer-appends",
            type=int,
            default=250,
            help=f"Appends by each of the {WRITERS} writers of the ledger-append scenario.",
        )
        parser.add_argument(
            "--sweep-due",
            type=int,
            default=1000,
            help="Recommendations due in the sweep scenario.",
        )
        parser.add_argument(
            "--only",
            default=",".join(SCENARIOS),
            help=f"Comma-separated scenarios to run, of {', '.join(SCENARIOS)}.",
        )
        parser.add_argument(
            "--json",
            default="",
            help="Also write every measured row (value, baseline, ratio, target, verdict) here.",
        )
        parser.add_argument(
            "--throwaway-postgres",
            default="",
            metavar="URL",
            help="Create an empty database on this PostgreSQL server, run there, drop it.",
        )
        parser.add_argument(
            "--database-url",
            default="",
            help="Run in this (empty, throw-away) database instead of a temporary SQLite.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        generating = options["action"] == "generate"
        for name, run_default, generate_default in (("devices", 2000, 0), ("kbs", 150, 20)):
            if options[name] is None:
                options[name] = generate_default if generating else run_default
        if generating:
            self._generate(options)
            return
        for name in SIZES:
            if options[name] < 10:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 10")
        only = [name.strip() for name in options["only"].split(",") if name.strip()]
        unknown = sorted(set(only) - set(SCENARIOS))
        if unknown or not only:
            raise CommandError(f"--only: unknown scenario {', '.join(unknown) or '(none)'}")
        if os.environ.get(CHILD_FLAG) != "1":
            self._spawn(options)
            return
        call_command("migrate", verbosity=0)
        self.stdout.write(f"database: {connection.vendor}")
        self.results: list[dict[str, Any]] = []
        self.scenario = ""
        if "ledger" in only or "due" in only:
            self._bench_ledger(options["appends"])
        if "due" in only:
            self._bench_due(options["stored"], options["due"])
        if "ingest" in only:
            self._bench_ingest(options["devices"], options["kbs"])
        if "dashboard" in only:
            self._bench_dashboard(options["clients"], options["recommendations"])
        if "report" in only:
            self._bench_report(options["items"])
        if "ledger-verify" in only:
            self._bench_ledger_verify(options["verify_events"])
        if "ledger-append" in only:
            self._bench_ledger_append(options["writer_appends"])
        if "sweep" in only:
            self._bench_sweep(options["sweep_due"])
        self._summary(options["json"])

    def _generate(self, options: dict[str, Any]) -> None:
        from django.utils import timezone

        from heeded.benchgen import GenerateError, generate
        from ledger.verify import verify_all
        from lib.progress import Progress

        self.stdout.write(
            f"generating {options['clients']:,} clients, {options['recommendations']:,} "
            f"recommendations, {options['devices']:,} devices in "
            f"{connection.vendor} ({connection.settings_dict['NAME']})"
        )
        try:
            with Progress(self.stderr, "generate", unit="rows") as progress:
                made = generate(
                    clients=options["clients"],
                    recommendations=options["recommendations"],
                    devices=options["devices"],
                    kbs=options["kbs"],
                    now=timezone.now(),
                    progress=progress,
                )
        except GenerateError as exc:
            raise CommandError(f"bench generate: {exc}") from None
        self.stdout.write(
            f"generated {made.clients:,} clients, {made.recommendations:,} recommendations, "
            f"{made.responses:,} responses, {made.events:,} ledger events, {made.devices:,} "
            f"devices with {made.hotfixes:,} hotfixes in {made.seconds:.1f} s"
        )
        report = verify_all()
        if not report.ok:
            raise CommandError(f"bench generate: the ledger does not verify: {report}")
        self.stdout.write(f"ledger verified: {report.summary()}")

    def _spawn(self, options: dict[str, Any]) -> None:
        if options["throwaway_postgres"]:
            if options["database_url"]:
                raise CommandError("give --database-url or --throwaway-postgres, not both")
            with _throwaway_postgres(options["throwaway_postgres"]) as url:
                self._spawn({**options, "database_url": url, "throwaway_postgres": ""})
            return
        # A fresh database every run, never the configured one.
        with tempfile.TemporaryDirectory(prefix="heeded-bench-") as tmp:
            env = {**os.environ, CHILD_FLAG: "1", "HEEDED_DATA_DIR": tmp}
            env.pop("DATABASE_URL", None)
            if options["database_url"]:
                env["DATABASE_URL"] = options["database_url"]
            argv = [sys.executable, "-m", "heeded.cli", "bench", "--only", options["only"]]
            if options["json"]:
                argv += ["--json", str(Path(options["json"]).resolve())]
            for name in SIZES:
                argv += [f"--{name.replace('_', '-')}", str(options[name])]
            result = subprocess.run(argv, env=env, check=False)  # noqa: S603
            if result.returncode:
                raise CommandError(f"benchmark failed (exit {result.returncode})")

    def _row(
        self,
        name: str,
        value: str,
        baseline: str,
        ratio: float,
        target: str = "",
        met: bool | None = None,
    ) -> None:
        """One measured figure, its same-run baseline, their ratio, and, where the
        issue sets one, the target and whether it is met (PASS/FAIL)."""
        verdict = "" if met is None else ("PASS" if met else "FAIL")
        self.stdout.write(
            f"{name:<46} {value:>16} {baseline:>16} {ratio:>8.2f} {target:>22} {verdict:>4}"
        )
        self.results.append(
            {
                "scenario": self.scenario,
                "database": connection.vendor,
                "measure": name,
                "value": value,
                "baseline": baseline,
                "ratio": round(ratio, 4),
                "target": target,
                "verdict": verdict,
            }
        )

    def _header(self, title: str) -> None:
        self.scenario = title
        self.stdout.write(f"\n{title}")
        self.stdout.write(
            f"{'measure':<46} {'value':>16} {'baseline':>16} {'ratio':>8} {'target':>22} {'':>4}"
        )

    def _summary(self, path: str) -> None:
        verdicts = [r["verdict"] for r in self.results]
        self.stdout.write(
            f"\n{connection.vendor}: {verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} "
            f"FAIL, {verdicts.count('')} without a target"
        )
        if path:
            Path(path).write_text(json.dumps(self.results, indent=2) + "\n", encoding="utf-8")
            self.stdout.write(f"results written to {path}")

    def _bench_report(self, items: int) -> None:
        from reports.bench import scratch_client, time_qbr, warm_up

        small = max(items // 10, 1)
        big_client, responses = scratch_client(items, slug="bench-qbr-big")
        small_client, _ = scratch_client(small, slug="bench-qbr-small")
        warm_up()
        # The best of three: the least disturbed by whatever else the machine runs.
        big = min((time_qbr(big_client) for _ in range(3)), key=lambda t: t.pdf)
        base = min((time_qbr(small_client) for _ in range(3)), key=lambda t: t.pdf)
        self._header(
            f"QBR report ({items} items: {responses} responses, {big.risk_items} open risk "
            f"items, {big.pages} pages; baseline {small} items, {base.pages} pages)"
        )
        self._row(
            f"QBR PDF, s ({items} vs {small} items)",
            f"{big.pdf:.2f}",
            f"{base.pdf:.2f}",
            big.pdf / base.pdf,
            "<= 5 s",
            big.pdf <= 5.0,
        )
        self._row(
            f"QBR PDF, CPU s ({items} vs {small} items)",
            f"{big.pdf_cpu:.2f}",
            f"{base.pdf_cpu:.2f}",
            big.pdf_cpu / base.pdf_cpu,
        )
        self._row(
            f"QBR figures + HTML, s ({items} vs {small} items)",
            f"{big.figures + big.html:.2f}",
            f"{base.figures + base.html:.2f}",
            (big.figures + big.html) / (base.figures + base.html),
        )

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

    def _bench_ledger_verify(self, total: int) -> None:
        import hashlib

        from clients.services import client_create
        from ledger.models import Event
        from ledger.services import NewEvent, event_append_many
        from ledger.verify import verify_client

        client = client_create(name="Verify bench client", actor="bench", now=NOW)
        batch = 5000
        for start in range(1, total, batch):
            events = [
                NewEvent(
                    kind="recommendation.accept",
                    actor=f"contact:o'brien{n % 7}@caffè-nandù.example",
                    at=NOW + dt.timedelta(seconds=n, microseconds=n % 1_000_000),
                    data={
                        "from": "awaiting_response",
                        "to": "accepted",
                        "justification": f"Sì, procediamo: l'attività n. {n} è prioritaria.",
                        "planned_for": "2026-07-01",
                    },
                    recommendation_id=None,
                )
                for n in range(start, min(start + batch, total))
            ]
            with transaction.atomic():
                event_append_many(client=client, events=events)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        # The baseline: SHA-256 of the very bytes the chain hashes, already in memory.
        rows = Event.objects.filter(client=client).order_by("seq")
        inputs = [
            prev.encode("ascii") + bytes(body or b"")
            for prev, body in rows.values_list("prev_hash", "body_bytes").iterator(5000)
        ]
        assert len(inputs) == total

        def plain() -> None:
            for data in inputs:
                hashlib.sha256(data).hexdigest()

        baseline = _timed(plain, repeat=3)
        verify = _timed(lambda: verify_client(client), repeat=3)
        report = verify_client(client)
        if not report.ok or report.events != total:
            raise CommandError(f"the bench chain does not verify: {report.line()}")
        self._header(f"ledger-verify ({total:,} events, one client)")
        ratio = baseline / verify
        self._row(
            "verify, events/s (vs plain SHA-256 of the bytes)",
            f"{total / verify:,.0f}",
            f"{total / baseline:,.0f}",
            ratio,
            ">= 30% of SHA-256",
            ratio >= 0.30,
        )

    def _bench_ledger_append(self, per_writer: int) -> None:
        import multiprocessing

        from django.db import connections

        from clients.services import client_create
        from ledger.models import Anchor, Event
        from ledger.services import event_append
        from ledger.verify import verify_client

        if connection.vendor != "postgresql":
            self._header(f"ledger-append ({WRITERS} writers, one client)")
            self.stdout.write("skipped: concurrent writers need PostgreSQL (--database-url)")
            return
        client = client_create(name="Append bench client", actor="bench", now=NOW)
        other = client_create(name="Append baseline client", actor="bench", now=NOW)
        payload = {"decision": "accepted", "justification": "l'été à Zürich " + "x" * 60}
        # The writers are processes, as in a deployment (several web and worker
        # processes): threads of one process would measure its interpreter lock.
        context = multiprocessing.get_context("fork")

        def run(work: Callable[[int, int], None]) -> float:
            start_line = context.Barrier(WRITERS + 1)

            def writer(number: int) -> None:
                start_line.wait(timeout=60)
                for index in range(per_writer):
                    with transaction.atomic():
                        work(number, index)
                connection.close()

            # Each forked writer opens its own connection, never the parent's.
            connections.close_all()
            writers = [context.Process(target=writer, args=(n,)) for n in range(WRITERS)]
            for process in writers:
                process.start()
            start_line.wait(timeout=60)
            start = time.perf_counter()
            for process in writers:
                process.join()
            elapsed = time.perf_counter() - start
            failed = [p.exitcode for p in writers if p.exitcode]
            if failed:
                raise CommandError(f"a writer failed (exit {failed[0]})")
            return elapsed

        def plain(number: int, index: int) -> None:
            Anchor.objects.create(
                client=other,
                seq=index,
                hash="0" * 64,
                created_at=NOW,
                purpose=f"bench-{number}",
                reference="x" * 120,
            )

        def chained(number: int, index: int) -> None:
            event_append(
                client=client,
                kind="bench.event",
                actor=f"system:writer-{number}",
                at=NOW + dt.timedelta(microseconds=index),
                data=payload,
            )

        baseline = run(plain)
        appended = run(chained)
        total = WRITERS * per_writer
        # One writer's plain inserts, one commit each: the rate at which the server
        # flushes commits one after another, the ceiling of any chain whose appends
        # each wait for the previous one's commit.
        start = time.perf_counter()
        for index in range(per_writer):
            with transaction.atomic():
                plain(WRITERS, index)
        serial = per_writer / (time.perf_counter() - start)
        links = Event.objects.filter(client=client).values_list("prev_hash", flat=True)
        forks = links.count() - len(set(links))
        report = verify_client(client)
        if not report.ok:
            raise CommandError(f"the bench chain does not verify: {report.line()}")
        self._header(f"ledger-append ({WRITERS} writers x {per_writer} appends, one client)")
        self._row(
            "append, events/s (vs plain inserts, 8 writers)",
            f"{total / appended:,.0f}",
            f"{total / baseline:,.0f}",
            baseline / appended,
            ">= 500/s, 0 forks",
            total / appended >= 500 and forks == 0,
        )
        self._row(
            "append, events/s (vs one writer's commits)",
            f"{total / appended:,.0f}",
            f"{serial:,.0f}",
            total / appended / serial,
        )
        self.stdout.write(f"forks: {forks}")

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
            "ratio <= 1.5",
            large_due / small_due <= 1.5,
        )
        self._row(
            "list page of 50, ms (large vs small store)",
            f"{large_list * 1000:.2f}",
            f"{small_list * 1000:.2f}",
            large_list / small_list,
            "ratio <= 1.5",
            large_list / small_list <= 1.5,
        )
        with connection.cursor() as cursor:
            sql, params = (
                Recommendation.objects.filter(next_action_at__lte=NOW)
                .order_by("next_action_at")
                .values("pk")[:500]
                .query.sql_with_params()
            )
            explain = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
            cursor.execute(f"{explain} {sql}", params)
            plan = " | ".join(str(row[-1]).strip() for row in cursor.fetchall())
        self.stdout.write(f"due query plan: {plan}")

    def _bench_ingest(self, devices: int, kbs: int) -> None:
        from django.test.utils import CaptureQueriesContext

        from clients.services import client_create
        from verification.models import Device
        from verification.services import (
            Inventory,
            inventory_from_document,
            inventory_record,
            report_fingerprint,
        )

        ours = client_create(name="Ingest client", actor="bench", now=NOW)
        raw_client = client_create(name="Raw executemany client", actor="bench", now=NOW)

        def report(n: int, count: int = kbs, prefix: str = "", run: int = 0) -> bytes:
            """The body the collector sends for machine ``n``; ``run`` moves collected_at."""
            document = {
                "schema": "heeded.endpoint-report/1",
                "collector_version": "1.0.0",
                "collected_at": (NOW + dt.timedelta(minutes=run)).isoformat(),
                "device": {
                    "machine_guid": f"{prefix}{n:08x}-0000-4000-8000-000000000000",
                    "computer_name": f"WS-{n:05d}",
                    "os_caption": "Microsoft Windows 11 Pro",
                    "os_build": "10.0.26100.7623",
                    "tags": [],
                },
                "hotfixes": [
                    {
                        "hotfix_id": f"KB50{k:05d}",
                        "description": "Security Update",
                        "installed_by": "NT AUTHORITY\\SYSTEM",
                        "installed_on": "1/13/2026",
                    }
                    for k in range(count)
                ],
            }
            return json.dumps(document, separators=(",", ":")).encode()

        def parsed(bodies: list[bytes]) -> list[Inventory]:
            # Each request parses its own body (not timed here: the service is).
            return [inventory_from_document(json.loads(body)) for body in bodies]

        def record(body: bytes, inventory: Inventory, document_hash: str) -> str:
            """What the endpoint does once the body is checked and parsed."""
            return inventory_record(
                client=ours,
                inventory=inventory,
                document_hash=document_hash,
                source="collector",
                now=NOW,
                inventory_hash=report_fingerprint(body),
            ).outcome

        bodies = [report(n) for n in range(devices)]
        inventories = parsed(bodies)
        start = time.perf_counter()
        for n, (body, inv) in enumerate(zip(bodies, inventories, strict=True)):
            record(body, inv, f"first-{n}")
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

        # Unchanged re-ingest: fresh inventories equal to the stored ones, best of three
        # rounds (it writes nothing, so every round meets the same database).
        rounds = []
        for attempt in range(1, 4):
            again = [report(n, run=attempt) for n in range(devices)]
            inventories = parsed(again)
            start = time.perf_counter()
            for n, (body, inv) in enumerate(zip(again, inventories, strict=True)):
                outcome = record(body, inv, f"again-{attempt}-{n}")
                assert outcome == "unchanged", outcome
            rounds.append(time.perf_counter() - start)
        unchanged = min(rounds)

        # Statements per upload: a new device and a changed inventory, with ten KBs and
        # with all of them. Set-based means the same count for both.
        def statements(count: int, prefix: str) -> tuple[int, int]:
            first_body, changed_body = report(0, count, prefix), report(0, count + 1, prefix)
            with CaptureQueriesContext(connection) as first:
                record(first_body, parsed([first_body])[0], f"{prefix}-first")
            with CaptureQueriesContext(connection) as changed:
                record(changed_body, parsed([changed_body])[0], f"{prefix}-changed")
            return len(first), len(changed)

        small = statements(10, "fffffff1")
        large = statements(kbs, "fffffff2")

        rows_total = devices * kbs
        self._header(f"endpoint reports ({devices} devices x {kbs} KBs, one report each)")
        self._row(
            "ingest, hotfix rows/s (vs raw executemany)",
            f"{rows_total / ingest:,.0f}",
            f"{rows_total / raw:,.0f}",
            ingest / raw,
            ">= 50% of raw",
            raw / ingest >= 0.5,
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
            ">= 20,000/s",
            devices / unchanged >= 20_000,
        )
        self._row(
            f"statements per upload, {kbs} vs 10 KBs",
            "/".join(map(str, large)) if isinstance(large, tuple) else str(large),
            "/".join(map(str, small)) if isinstance(small, tuple) else str(small),
            1.0,
            "the same",
            small == large,
        )
        self.stdout.write(f"unchanged re-ingest: best of {len(rounds)} rounds")

    def _bench_dashboard(self, clients: int, total: int) -> None:
        import random

        from django.db.models import Case, DateField, F, When
        from django.db.models.functions import TruncDate
        from django.test import RequestFactory
        from django.utils import timezone

        from accounts.models import User
        from clients.models import Client
        from clients.services import client_create
        from recommendations import tallies
        from recommendations.choices import Status
        from recommendations.models import Recommendation
        from recommendations.selectors import recommendation_list_for, status_severity_matrix_for
        from web import dashboard as dashboard_data
        from web.views import dashboard, recommendation_list

        # The page reads the clock: the rows are made around the real now.
        moment = timezone.now()
        admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"role": "admin"})
        owners = [admin] + [
            User.objects.get_or_create(username=f"bench-owner{i}", defaults={"role": "technician"})[
                0
            ]
            for i in range(19)
        ]
        zones = ["Europe/Rome", "America/New_York", "Asia/Kolkata", "Australia/Eucla", "UTC"]
        ids = [
            client_create(
                name=f"Bench Studio {i:04d}",
                actor=admin,
                now=moment,
                time_zone=zones[i % len(zones)],
            ).pk
            for i in range(clients)
        ]
        rng = random.Random(13)
        weights = [
            (Status.DRAFT, 5),
            (Status.AWAITING_RESPONSE, 15),
            (Status.ACCEPTED, 10),
            (Status.IN_PROGRESS, 5),
            (Status.DEFERRED, 8),
            (Status.REJECTED, 7),
            (Status.IGNORED, 3),
            (Status.IMPLEMENTED, 12),
            (Status.VERIFIED, 30),
            (Status.WITHDRAWN, 5),
        ]
        statuses = [s for s, w in weights for _ in range(w)]
        day = dt.timedelta(days=1)

        def one(i: int) -> Recommendation:
            status = rng.choice(statuses)
            created = moment - dt.timedelta(
                days=rng.randint(0, 1000), seconds=rng.randint(0, 86399)
            )
            presented = None if status == Status.DRAFT else created + dt.timedelta(hours=2)
            rec = Recommendation(
                client_id=ids[i % len(ids)],
                title=f"Recommendation {i}",
                body="Body",
                text_sha256="0" * 64,
                severity=("critical", "high", "medium", "low")[rng.randrange(4)],
                status=status,
                owner_id=owners[rng.randrange(len(owners))].pk,
                created_at=created,
                updated_at=created,
                presented_at=presented,
            )
            if presented is not None:
                rec.response_due_at = presented + rng.randint(7, 30) * day
            if status == Status.AWAITING_RESPONSE:
                rec.next_action_at = rec.response_due_at
            elif status not in (Status.DRAFT, Status.WITHDRAWN):
                assert presented is not None
                rec.decided_at = presented + rng.randint(1, 20) * day
            if status in (Status.ACCEPTED, Status.IN_PROGRESS):
                rec.planned_for = (moment + rng.randint(-200, 120) * day).date()
                rec.next_action_at = moment + rng.randint(-5, 120) * day
            if status == Status.DEFERRED:
                rec.deferred_until = (moment + rng.randint(-10, 180) * day).date()
                rec.next_action_at = moment + rng.randint(-5, 180) * day
            return rec

        def fill(upto: int) -> None:
            have = Recommendation.objects.filter(client_id__in=ids).count()
            batch: list[Recommendation] = []
            for i in range(have, upto):
                batch.append(one(i))
                if len(batch) == 5000:
                    Recommendation.objects.bulk_create(batch)
                    batch = []
            Recommendation.objects.bulk_create(batch)
            # Written around the services, as a restore would: the counters are rebuilt.
            tallies.rebuild()
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

        factory = RequestFactory()

        def page(view: Callable[[Any], Any], path: str) -> Callable[[], Any]:
            def run() -> Any:
                request = factory.get(path)
                request.user = admin
                request.session = {}  # type: ignore[assignment]
                response = view(request)
                assert response.status_code == 200, response.status_code
                return response

            return run

        def percentiles(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
            samples = []
            for _ in range(repeat):
                start = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - start)
            samples.sort()
            return statistics.median(samples), samples[
                min(len(samples) - 1, int(0.95 * len(samples)))
            ]

        small = max(total // 10, 100)
        fill(small)
        list_small = _timed(page(recommendation_list, "/recommendations/"), repeat=7)
        fill(total)
        list_large = _timed(page(recommendation_list, "/recommendations/"), repeat=7)
        page(dashboard, "/")()  # warm: the weekly trend is cached from the first view
        dash50, dash95 = percentiles(page(dashboard, "/"), 30)
        _counters50, counters95 = percentiles(lambda: dashboard_data.client_scores(admin), 30)

        def old_dashboard_reads() -> None:
            # What the dashboard read before the counters, on every view: the GROUP BY
            # over every recommendation, the overdue list sorted on a computed
            # expression, its count, and the recently decided.
            matrix = status_severity_matrix_for(admin)
            overdue = recommendation_list_for(admin, overdue_at=moment)
            rows = list(
                overdue.annotate(
                    due_on=Case(
                        When(status=Status.AWAITING_RESPONSE, then=TruncDate("response_due_at")),
                        default=F("planned_for"),
                        output_field=DateField(),
                    )
                ).order_by("due_on", "response_due_at", "id")[:50]
            )
            if len(rows) == 50:
                overdue.count()
            list(
                recommendation_list_for(admin)
                .filter(decided_at__isnull=False)
                .order_by("-decided_at", "-id")[:10]
            )
            assert matrix

        base50, base95 = percentiles(lambda: status_severity_matrix_for(admin), 9)
        old50, old95 = percentiles(old_dashboard_reads, 9)
        n_clients = Client.objects.filter(pk__in=ids).count()
        self._header(f"dashboard ({n_clients} clients, {total:,} recommendations)")
        self._row(
            "dashboard page p50, ms (vs live GROUP BY p50)",
            f"{dash50 * 1000:.1f}",
            f"{base50 * 1000:.1f}",
            dash50 / base50,
        )
        self._row(
            "dashboard page p95, ms (vs live GROUP BY p95)",
            f"{dash95 * 1000:.1f}",
            f"{base95 * 1000:.1f}",
            dash95 / base95,
            "< 150 ms, ratio <= 0.1",
            dash95 < 0.150 and dash95 / base95 <= 0.1,
        )
        self._row(
            "dashboard page p95, ms (vs the old reads p95)",
            f"{dash95 * 1000:.1f}",
            f"{old95 * 1000:.1f}",
            dash95 / old95,
        )
        self._row(
            "per-client counters p95, ms (vs GROUP BY p95)",
            f"{counters95 * 1000:.1f}",
            f"{base95 * 1000:.1f}",
            counters95 / base95,
        )
        self._row(
            "unfiltered list page, ms (all vs a tenth)",
            f"{list_large * 1000:.1f}",
            f"{list_small * 1000:.1f}",
            list_large / list_small,
            "ratio <= 1.5",
            list_large / list_small <= 1.5,
        )
        self.stdout.write(
            f"dashboard page p95 is {old95 / dash95:.1f}x faster than the old reads and "
            f"{base95 / dash95:.1f}x faster than the GROUP BY alone (old reads p50 "
            f"{old50 * 1000:.1f} ms)"
        )
        wrong = tallies.differences()
        if wrong:
            raise CommandError(f"the counters differ from a recount: {wrong[:3]}")

    def _bench_sweep(self, due: int) -> None:
        from django.test.utils import CaptureQueriesContext

        from accounts.models import User
        from clients.services import client_create, contact_create
        from followup.models import FollowupStep, Ticket
        from followup.sweep import sweep
        from recommendations.choices import Status
        from recommendations.models import Recommendation

        admin = User.objects.create_user("sweep-bench", role="admin", email="ops@msp.example")
        owners = [
            User.objects.create_user(
                f"sweep-owner-{i}", role="account_manager", email=f"owner{i}@msp.example"
            )
            for i in range(5)
        ]
        clients = []
        for i in range(20):
            client = client_create(
                name=f"Sweep client {i:02d}", actor=admin, now=NOW, account_owner=admin
            )
            contact = contact_create(
                client=client,
                name=f"Decision Maker {i}",
                email=f"dm{i}@sweep-{i}.example",
                is_decision_maker=True,
                actor=admin,
                now=NOW,
            )
            clients.append((client, contact))
        rows = []
        for i in range(due):
            client, contact = clients[i % len(clients)]
            late = i % 4 != 3
            presented = NOW - dt.timedelta(days=30 if late else 20, minutes=i)
            rows.append(
                Recommendation(
                    client=client,
                    title=f"Sweep item {i}: rotate the VPN appliance's keys",
                    body="Body",
                    text_sha256="0" * 64,
                    severity=("critical", "high", "medium", "low")[i % 4],
                    status=Status.AWAITING_RESPONSE,
                    created_at=presented,
                    updated_at=presented,
                    presented_at=presented,
                    response_due_at=presented + dt.timedelta(days=14 if late else 30),
                    owner=owners[i % len(owners)],
                    contact=contact,
                    next_action_at=NOW - dt.timedelta(minutes=1 + i),
                )
            )
        Recommendation.objects.bulk_create(rows, batch_size=2000)
        # Only this scenario's rows are due (the other scenarios' rows may be).
        Recommendation.objects.exclude(title__startswith="Sweep item ").filter(
            next_action_at__isnull=False
        ).update(next_action_at=None)

        # The baseline: plain bulk inserts of the step and ticket rows the sweep writes,
        # rolled back.
        recs = list(Recommendation.objects.filter(title__startswith="Sweep item "))
        start = time.perf_counter()
        with transaction.atomic():
            FollowupStep.objects.bulk_create(
                [
                    FollowupStep(
                        recommendation=r,
                        client_id=r.client_id,
                        key=f"bench-{r.pk}",
                        cycle="bench",
                        name="escalation-1",
                        level=1,
                        due_at=NOW,
                        acted_at=NOW,
                    )
                    for r in recs
                ],
                batch_size=2000,
            )
            Ticket.objects.bulk_create(
                [
                    Ticket(
                        recommendation=r,
                        client_id=r.client_id,
                        title=f"Follow up: {r.title}",
                        status="open",
                        escalation_level=1,
                        opened_at=NOW,
                        updated_at=NOW,
                    )
                    for r in recs
                ],
                batch_size=2000,
            )
            transaction.set_rollback(True)
        baseline = time.perf_counter() - start

        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            actions = sweep(now=NOW, worker="bench")
            took = time.perf_counter() - start
        acted = FollowupStep.objects.filter(worker="bench").count()
        if acted != due:
            raise CommandError(f"the sweep acted on {acted} of {due} due items")
        notices = sum(1 for a in actions if a.text.startswith("notice"))
        per_item = len(queries) / due
        self._header(f"follow-up sweep ({due:,} due, 20 clients, {notices} notices)")
        self._row(
            "sweep, s (vs bulk insert of its steps+tickets)",
            f"{took:.2f}",
            f"{baseline:.3f}",
            took / baseline,
            "10,000 due <= 10 s",
            took * 10_000 / due <= 10,
        )
        self._row(
            "sweep, queries per due item (vs target 4)",
            f"{per_item:.2f}",
            "4.00",
            per_item / 4,
            "<= 4 per due item",
            per_item <= 4,
        )
        self.stdout.write(
            f"sweep: {due / took:,.0f} due items/s, {took * 10_000 / due:.1f} s per 10,000 due"
            f"{'' if due == 10_000 else f' (extrapolated from {due:,})'}, "
            f"{per_item:.2f} queries per due item"
        )
