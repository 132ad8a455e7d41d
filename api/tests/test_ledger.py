"""/api/v1/clients/{id}/ledger/events/ and /ledger/head/."""

from __future__ import annotations

import itertools

from api.tests.support import errors
from ledger.models import Event, Head
from recommendations.choices import Status


def events_url(client) -> str:
    return f"/api/v1/clients/{client.pk}/ledger/events/"


def head_url(client) -> str:
    return f"/api/v1/clients/{client.pk}/ledger/head/"


def test_the_events_come_oldest_first_and_chain_by_hash(api, rec_in, auditor, client_a):
    rec_in(Status.ACCEPTED)

    response = api(auditor).get(events_url(client_a))

    assert response.status_code == 200
    events = response.json()["results"]
    assert [e["kind"] for e in events] == [
        "client.created",
        "contact.added",
        "recommendation.created",
        "recommendation.present",
        "recommendation.accept",
    ]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert events[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(events))
    stored = Event.objects.get(client=client_a, seq=5)
    assert events[4]["hash"] == stored.compute_hash(str(client_a.uuid))
    assert events[4]["data"]["decision"] == "accepted"


def test_the_events_page_by_seq(api, rec_in, admin, client_a):
    rec_in(Status.VERIFIED)  # 8 events
    client = api(admin)

    seqs: list[int] = []
    page = client.get(events_url(client_a), {"page_size": 3}).json()
    while True:
        seqs.extend(e["seq"] for e in page["results"])
        if not page["next"]:
            break
        page = client.get(page["next"]).json()

    assert seqs == list(range(1, Head.objects.get(client=client_a).seq + 1))


def test_the_head_is_the_last_event(api, rec_in, admin, client_a):
    rec_in(Status.AWAITING_RESPONSE)

    response = api(admin).get(head_url(client_a))

    last = Event.objects.filter(client=client_a).latest("seq")
    assert response.status_code == 200
    assert response.json() == {"client": client_a.pk, "seq": last.seq, "hash": last.hash}


def test_a_technician_cannot_read_another_clients_ledger(api, technician, client_a, client_b):
    client = api(technician)

    assert client.get(events_url(client_a)).status_code == 200
    for url in (events_url(client_b), head_url(client_b)):
        response = client.get(url)
        assert response.status_code == 404
        assert errors(response) == [(None, "not_found", "No such client.")]


def test_the_ledger_cannot_be_written_through_the_api(api, admin, client_a):
    response = api(admin).post(events_url(client_a), {"kind": "forged"}, format="json")

    assert response.status_code == 405
    assert errors(response) == [(None, "method_not_allowed", 'Method "POST" not allowed.')]
    assert not Event.objects.filter(kind="forged").exists()


def test_the_events_can_be_narrowed_to_a_recommendation_or_a_kind(api, rec_in, admin, client_a):
    rec = rec_in(Status.AWAITING_RESPONSE)
    client = api(admin)

    of_rec = client.get(events_url(client_a), {"recommendation": rec.pk}).json()["results"]
    added = client.get(events_url(client_a), {"kind": "contact.added"}).json()["results"]
    bad = client.get(events_url(client_a), {"recommendation": "x"})

    assert [e["kind"] for e in of_rec] == ["recommendation.created", "recommendation.present"]
    assert [e["kind"] for e in added] == ["contact.added"]
    assert bad.status_code == 400
    assert errors(bad) == [("recommendation", "invalid", "A valid integer is required.")]
