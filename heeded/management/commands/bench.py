"""``heeded bench``: the speed of the core paths, each against a baseline measured in
the same run, in a throw-away SQLite database.

Speed targets live here, never in unit tests. Numbers vary between machines; the
ratios are what to watch:

- ledger append vs a plain insert of a row of about the same size (the price of the chain);
- ledger verification vs reading the same rows without hashing;
- the follow-up "what is due" query and the staff list page with ten times more rows
  stored but the same number due/shown: a ratio near 1 means the cost follows what
  is due or shown, not what is stored;
- endpoint-report ingest (devices x KBs, each a signed collector body through
  ``collector_report_receive``, what ``POST /api/v1/endpoint-reports`` calls) vs a raw
  ``executemany`` of the same hotfix rows, the unchanged re-ingest rate, and the same
  through Django's whole request handling for scale;
- the staff dashboard (p50/p95 of the whole page, read from the maintained counters,
  asked by a signed-in account manager from a live gunicorn with two workers, 8
  connections at once) vs the live GROUP BY over every recommendation it replaced,
  asked as many at once, measured in the same run on the same rows; the unfiltered
  newest-first list page at a tenth of the rows and at all of them; and a client's
  page for a client with ten times the rows of another;
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
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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


# The dashboard is measured as it is served (deploy/: gunicorn, two sync workers) and
# asked for by this many browsers at once.
DASHBOARD_CONNECTIONS = 8
DASHBOARD_WORKERS = 2


def _percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) of ``samples``."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _at_once(fn: Callable[[], Any], connections: int, each: int) -> list[float]:
    """Run ``fn`` ``each`` times in each of ``connections`` threads started together
    (each thread has its own database connection); every call's wall time."""
    from django.db import connections as databases

    barrier = threading.Barrier(connections)
    samples: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            for _ in range(each):
                start = time.perf_counter()
                fn()
                took = time.perf_counter() - start
                with lock:
                    samples.append(took)
        except BaseException as exc:  # reported below, in the main thread
            failures.append(exc)
        finally:
            databases.close_all()

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise CommandError(f"a concurrent request failed: {failures[0]!r}")
    return samples


@contextlib.contextmanager
def _live_server(workers: int) -> Iterator[int]:
    """gunicorn serving this database with ``workers`` processes on a free local
    port, as ``heeded serve`` runs it; yields the port, stops it afterwards."""
    from django.conf import settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {
        **os.environ,
        "HEEDED_DATA_DIR": str(settings.DATA_DIR),
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
    }
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "heeded.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--pythonpath",
        str(settings.BASE_DIR),
        "--no-control-socket",
        "--log-level",
        "warning",
    ]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(argv, env=env, stdout=log, stderr=log)  # noqa: S603
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    # Any answer will do: the server is up (/healthz may say 503 for a
                    # stale worker heartbeat, which does not matter here).
                    _http_request(port, "/healthz", "")
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise CommandError(
                            "the live server did not start: " + log.read().decode()[-2000:]
                        ) from None
                    time.sleep(0.2)
            yield port
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _http_request(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    """GET ``path`` from the live server over a new connection, as a browser would:
    (status, body). Raises OSError when the server cannot be reached."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Host": "localhost", "Cookie": cookie})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _http_get(port: int, path: str, cookie: str) -> bytes:
    """``_http_request``, where anything but a 200 (a redirect to the sign-in page,
    say) is an error."""
    status, body = _http_request(port, path, cookie)
    if status != 200:
        raise CommandError(f"GET {path}: {status}")
    return body


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
        from django.test import Client as HttpClient
        from django.test.utils import CaptureQueriesContext, override_settings

        from clients.services import client_create
        from verification.models import Device
        from verification.services import collector_report_receive, enrollment_token_create
        from verification.signing import sign

        ours = client_create(name="Ingest client", actor="bench", now=NOW)
        raw_client = client_create(name="Raw executemany client", actor="bench", now=NOW)
        token, _ = enrollment_token_create(client=ours, name="bench", actor="cli", now=NOW)
        stamp = str(int(NOW.timestamp()))

        def report(n: int, count: int = kbs, prefix: str = "", run: int = 0) -> bytes:
            """The body the collector sends for machine ``n``; ``run`` moves collected_at."""
            document = {
                "schema": "heeded.endpoint-report/1",
                "collector_version": "1.0.0",
                "collected_at": (NOW + dt.timedelta(minutes=run)).isoformat(),
                "device": {
                    "machine_guid": f"{n:08x}-{prefix or '0000'}-4000-8000-000000000000",
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

        def signed(bodies: list[bytes], at: str = stamp) -> list[tuple[bytes, str, str]]:
            # The collector signs; the server's work starts at the received bytes.
            return [(b, at, sign(digest=token.digest, timestamp=at, body=b)) for b in bodies]

        def receive(body: bytes, timestamp: str, signature: str) -> str:
            """What POST /api/v1/endpoint-reports does once the body is read: signature,
            fingerprint, and (unless unchanged) parse, schema, inventory_record."""
            return collector_report_receive(
                key_id=token.key_id, timestamp=timestamp, signature=signature, body=body, now=NOW
            ).outcome

        uploads = signed([report(n) for n in range(devices)])
        start = time.perf_counter()
        for upload in uploads:
            receive(*upload)
        ingest = time.perf_counter() - start
        if connection.vendor == "postgresql":
            # As autovacuum would after an enrollment this size: without statistics the
            # planner reads every device of the client instead of the fingerprint index.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

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
        hotfixes = [json.loads(body)["hotfixes"] for body, _, _ in uploads]
        start = time.perf_counter()
        for device_id, items in zip(ids, hotfixes, strict=True):
            rows = [
                (
                    device_id,
                    h["hotfix_id"],
                    int(h["hotfix_id"][2:]),
                    False,
                    h["description"],
                    h["installed_by"],
                    h["installed_on"],
                    dt.date(2026, 1, 13),
                    NOW,
                    NOW,
                )
                for h in items
            ]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, rows)
        raw = time.perf_counter() - start

        # Unchanged re-ingest: each machine sends its inventory again, collected a
        # minute later (a new body, a new signature), through the same function; best of
        # three rounds (it writes nothing, so every round meets the same database).
        rounds = []
        for attempt in range(1, 4):
            again = signed([report(n, run=attempt) for n in range(devices)])
            start = time.perf_counter()
            for upload in again:
                outcome = receive(*upload)
                assert outcome == "unchanged", outcome
            rounds.append(time.perf_counter() - start)
        unchanged = min(rounds)

        # The same through Django's whole request handling (middleware, the API view,
        # the JSON answer) for a sample of the machines, for scale: what a WSGI worker
        # can take. The view checks the signature against the real clock, so the
        # sample first reports once at the real time (its last_seen moves), untimed.
        sample = min(devices, 500)
        http = HttpClient()

        def post(body: bytes, timestamp: str, signature: str) -> str:
            response = http.generic(
                "POST",
                "/api/v1/endpoint-reports",
                data=body,
                content_type="application/json",
                secure=True,
                HTTP_X_HEEDED_KEY=token.key_id,
                HTTP_X_HEEDED_TIMESTAMP=timestamp,
                HTTP_X_HEEDED_SIGNATURE=signature,
            )
            assert response.status_code == 200, response.content
            return str(response.json()["outcome"])

        with override_settings(ALLOWED_HOSTS=["testserver"]):
            for upload in signed([report(n, run=4) for n in range(sample)], str(int(time.time()))):
                post(*upload)
            again = signed([report(n, run=5) for n in range(sample)], str(int(time.time())))
            start = time.perf_counter()
            for upload in again:
                outcome = post(*upload)
                assert outcome == "unchanged", outcome
            through_http = time.perf_counter() - start

        # Statements per upload: a new device and a changed inventory, with ten KBs and
        # with all of them. Set-based means the same count for both.
        def statements(count: int, prefix: str) -> tuple[int, int]:
            first, changed = signed([report(0, count, prefix), report(0, count + 1, prefix)])
            with CaptureQueriesContext(connection) as first_queries:
                receive(*first)
            with CaptureQueriesContext(connection) as changed_queries:
                receive(*changed)
            return len(first_queries), len(changed_queries)

        small = statements(10, "fff1")
        large = statements(kbs, "fff2")

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
            "unchanged, whole HTTP request, reports/s (vs above)",
            f"{sample / through_http:,.0f}",
            f"{devices / unchanged:,.0f}",
            through_http / sample / (unchanged / devices),
        )
        self._row(
            f"statements per upload, {kbs} vs 10 KBs",
            "/".join(map(str, large)),
            "/".join(map(str, small)),
            1.0,
            "the same",
            small == large,
        )
        self.stdout.write(
            "measured: collector_report_receive from the signed body, as the endpoint "
            f"calls it; unchanged re-ingest best of {len(rounds)} rounds; whole HTTP "
            f"request through Django's test client, {sample} reports"
        )

    def _bench_dashboard(self, clients: int, total: int) -> None:
        """The staff dashboard as a signed-in account manager gets it from a live
        server (gunicorn, as deployed), ``DASHBOARD_CONNECTIONS`` browsers at once,
        against the live GROUP BY it replaced asked as many times at once; and the
        unfiltered list page at a tenth of the rows and at all of them.

        In a database filled by ``bench generate`` (given as ``--database-url``) it
        measures those rows as they are: nothing is added, and the list is measured
        at that size only."""
        import random

        from django.conf import settings
        from django.db.models import Case, DateField, F, When
        from django.db.models.functions import TruncDate
        from django.test import Client as Browser
        from django.utils import timezone

        from accounts.choices import Role
        from accounts.models import User
        from clients.models import Client
        from clients.services import client_create
        from heeded.benchgen import generated
        from recommendations import tallies
        from recommendations.choices import Status
        from recommendations.models import Recommendation
        from recommendations.selectors import recommendation_list_for, status_severity_matrix_for
        from web import dashboard as dashboard_data

        # The page reads the clock: the rows are made around the real now.
        moment = timezone.now()
        admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"role": "admin"})
        # Who looks: an account manager (sees every client; no second factor needed).
        viewer, _ = User.objects.get_or_create(
            username="bench-dashboard-viewer", defaults={"role": Role.ACCOUNT_MANAGER}
        )
        reuse = generated()
        owners = [viewer, admin] + [
            User.objects.get_or_create(username=f"bench-owner{i}", defaults={"role": "technician"})[
                0
            ]
            for i in range(18)
        ]
        zones = ["Europe/Rome", "America/New_York", "Asia/Kolkata", "Australia/Eucla", "UTC"]
        ids = (
            []
            if reuse
            else [
                client_create(
                    name=f"Bench Studio {i:04d}",
                    actor=admin,
                    now=moment,
                    time_zone=zones[i % len(zones)],
                ).pk
                for i in range(clients)
            ]
        )
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

        def fill_client(name: str, rows: int) -> int:
            """A client of its own with ``rows`` recommendations (the counters rebuilt)."""
            pk = client_create(name=name, actor=admin, now=moment, time_zone="Europe/Rome").pk
            made = [one(i) for i in range(rows)]
            for rec in made:
                rec.client_id = pk
            Recommendation.objects.bulk_create(made, batch_size=5000)
            return int(pk)

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

        browser = Browser(HTTP_HOST="localhost")
        browser.force_login(viewer)
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
        )

        def timed_get(port: int, path: str, repeat: int) -> float:
            return _timed(lambda: _http_get(port, path, cookie), repeat=repeat)

        with _live_server(DASHBOARD_WORKERS) as port:
            list_small = client_small = client_large = None
            if not reuse:
                fill(max(total // 10, 100))
                list_small = timed_get(port, "/recommendations/", 7)
                # One client as large as the others, one with ten times its rows.
                per_client = max(total // clients, 10)
                small_pk = fill_client("Bench Studio one share", per_client)
                large_pk = fill_client("Bench Studio ten shares", 10 * per_client)
                fill(total)
                client_small = timed_get(port, f"/clients/{small_pk}/", 7)
                client_large = timed_get(port, f"/clients/{large_pk}/", 7)
            list_large = timed_get(port, "/recommendations/", 7)
            # Warm every worker: templates compiled, the weekly trend cached.
            for _ in range(DASHBOARD_WORKERS * 3):
                _http_get(port, "/", cookie)
            alone50, alone95 = _percentiles([timed_get(port, "/", 1) for _ in range(15)])
            dash50, dash95 = _percentiles(
                _at_once(lambda: _http_get(port, "/", cookie), DASHBOARD_CONNECTIONS, 8)
            )
        _counters50, counters95 = _percentiles(
            _at_once(lambda: dashboard_data.client_scores(viewer), 1, 30)
        )

        def old_dashboard_reads() -> None:
            # What the dashboard read before the counters, on every view: the GROUP BY
            # over every recommendation, the overdue list sorted on a computed
            # expression, its count, and the recently decided.
            matrix = status_severity_matrix_for(viewer)
            overdue = recommendation_list_for(viewer, overdue_at=moment)
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
                recommendation_list_for(viewer)
                .filter(decided_at__isnull=False)
                .order_by("-decided_at", "-id")[:10]
            )
            assert matrix

        # The GROUP BY the counters replaced, asked as the page is: by as many at once.
        base50, base95 = _percentiles(
            _at_once(lambda: status_severity_matrix_for(viewer), DASHBOARD_CONNECTIONS, 2)
        )
        _alone50, group_by_alone95 = _percentiles(
            _at_once(lambda: status_severity_matrix_for(viewer), 1, 9)
        )
        old50, old95 = _percentiles(_at_once(old_dashboard_reads, 1, 9))
        n_clients = Client.objects.count()
        n_recs = Recommendation.objects.count()
        self._header(
            f"dashboard ({n_clients} clients, {n_recs:,} recommendations"
            f"{', as generated' if reuse else ''}; {DASHBOARD_CONNECTIONS} connections at once, "
            f"{DASHBOARD_WORKERS} web processes)"
        )
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
            "dashboard page p95, ms (vs GROUP BY alone p95)",
            f"{dash95 * 1000:.1f}",
            f"{group_by_alone95 * 1000:.1f}",
            dash95 / group_by_alone95,
        )
        self._row(
            "dashboard page alone p95, ms (vs GROUP BY alone)",
            f"{alone95 * 1000:.1f}",
            f"{group_by_alone95 * 1000:.1f}",
            alone95 / group_by_alone95,
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
            f"{group_by_alone95 * 1000:.1f}",
            counters95 / group_by_alone95,
        )
        if list_small is not None:
            self._row(
                "unfiltered list page, ms (all vs a tenth)",
                f"{list_large * 1000:.1f}",
                f"{list_small * 1000:.1f}",
                list_large / list_small,
                "ratio <= 1.5",
                list_large / list_small <= 1.5,
            )
        if client_small is not None and client_large is not None:
            self._row(
                "client page, ms (10x rows vs 1x)",
                f"{client_large * 1000:.1f}",
                f"{client_small * 1000:.1f}",
                client_large / client_small,
                "ratio <= 1.5",
                client_large / client_small <= 1.5,
            )
        if list_small is None:
            self.stdout.write(
                f"unfiltered list page at {n_recs:,} recommendations: {list_large * 1000:.1f} ms "
                "(no tenth to compare with in a generated database)"
            )
        self.stdout.write(
            f"dashboard page p95 is {dash95 / old95:.2f}x the old reads' and "
            f"{dash95 / base95:.2f}x the GROUP BY's at {DASHBOARD_CONNECTIONS} at once "
            f"(page alone p50 {alone50 * 1000:.1f} ms; old reads p50 {old50 * 1000:.1f} ms)"
        )
        wrong = tallies.differences()
        if wrong:
            raise CommandError(f"the counters differ from a recount: {wrong[:3]}")

    def _bench_sweep(self, due: int) -> None:
        from accounts.models import User
        from clients.services import client_create, contact_create
        from followup.models import FollowupStep, Ticket
        from followup.sweep import due_ids, sweep
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
        start, cpu = time.perf_counter(), time.process_time()
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
        baseline, baseline_cpu = time.perf_counter() - start, time.process_time() - cpu

        # Queries are counted, not captured: capturing formats each statement with its
        # parameters (on SQLite a SELECT QUOTE(?) per thousand), which a real sweep
        # never pays and which a bulk insert of thousands of rows makes expensive.
        queries: list[None] = []

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            queries.append(None)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            start, cpu = time.perf_counter(), time.process_time()
            actions = sweep(now=NOW, worker="bench")
            took, took_cpu = time.perf_counter() - start, time.process_time() - cpu
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
        # The process's CPU time beside the wall time: on a shared machine the wall
        # time says as much about the other work as about the sweep.
        self._row(
            "sweep, CPU s (vs bulk insert of its steps+tickets)",
            f"{took_cpu:.2f}",
            f"{baseline_cpu:.3f}",
            took_cpu / baseline_cpu,
        )
        self._row(
            "sweep, queries per due item (vs target 4)",
            f"{per_item:.2f}",
            "4.00",
            per_item / 4,
            "<= 4 per due item",
            per_item <= 4,
        )
        # Nothing is due or unannounced any more: what every idle pass of the worker
        # costs, against the bare due query.
        cpu, passes = time.process_time(), 15
        idle = _timed(lambda: sweep(now=NOW, worker="bench"), repeat=passes)
        idle_cpu = (time.process_time() - cpu) / passes
        due_query = _timed(lambda: due_ids(NOW, 1000))
        self._row(
            "idle sweep, ms (vs the bare due query)",
            f"{idle * 1000:.2f}",
            f"{due_query * 1000:.2f}",
            idle / due_query,
            "<= 5 ms",
            idle <= 0.005,
        )
        self.stdout.write(
            f"sweep: {due / took:,.0f} due items/s, {took * 10_000 / due:.1f} s per 10,000 due"
            f"{'' if due == 10_000 else f' (extrapolated from {due:,})'}, "
            f"{per_item:.2f} queries per due item, {took_cpu:.1f} s CPU; idle sweep "
            f"{idle_cpu * 1000:.2f} ms CPU; load average {os.getloadavg()[0]:.1f}"
        )
