"""Many writers appending to one client's chain at once never fork it or leave a gap."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from heeded.testing import requires_postgres
from ledger.models import Event, Head
from ledger.services import event_append
from ledger.verify import verify_client

THREADS = 8
APPENDS = 50


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_to_one_client_form_one_contiguous_chain(client_a, now):
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        # Each thread gets its own database connection from Django; close it at the
        # end so the test database can be dropped.
        try:
            start.wait()
            for index in range(APPENDS):
                with transaction.atomic():
                    event_append(
                        client=client_a,
                        kind="note",
                        actor=f"system:writer-{number}",
                        at=now + dt.timedelta(seconds=index),
                        data={"writer": number, "n": index},
                    )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = 1 + THREADS * APPENDS  # client.created, then the writers' notes
    seqs = list(Event.objects.filter(client=client_a).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, total + 1))
    links = list(Event.objects.filter(client=client_a).values_list("prev_hash", flat=True))
    assert len(set(links)) == total, "two events share a predecessor: the chain forked"
    for number in range(THREADS):
        mine = Event.objects.filter(client=client_a, actor=f"system:writer-{number}")
        assert mine.count() == APPENDS
    assert Head.objects.get(client=client_a).seq == total
    report = verify_client(client_a)
    assert report.ok, report.line()
    assert report.events == total
