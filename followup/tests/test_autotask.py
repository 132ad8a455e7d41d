"""The Autotask connector against a local server that checks every request body
against the vendor's published API description."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from followup.delivery import DeliveryError, PermanentDeliveryError
from followup.psa.autotask import AutotaskAdapter
from followup.tests.autotask_fake import SPEC_PATH, FakeAutotask, check, load_spec

SPEC = load_spec()
pytestmark = pytest.mark.skipif(
    SPEC is None, reason=f"the Autotask API description is not at {SPEC_PATH}"
)


@pytest.fixture
def fake() -> Iterator[FakeAutotask]:
    assert SPEC is not None
    server = FakeAutotask(SPEC)
    try:
        yield server
    finally:
        server.stop()
    assert server.errors == [], "request bodies that break the Autotask schema"


def _adapter(fake: FakeAutotask, **extra: object) -> AutotaskAdapter:
    return AutotaskAdapter(
        base_url=fake.url,
        integration_code="HEEDEDTESTCODE",
        username="api@msp.example",
        secret="s3cret",
        company_id=174,
        queue_id=29683498,
        **extra,
    )


def test_the_schema_check_catches_what_autotask_would_refuse():
    assert SPEC is not None
    errors = check(SPEC, {"$ref": "#/definitions/TicketModel"}, {"Title": 3, "Colour": "red"})
    assert errors == ["$.Title: expected a string", "$.Colour: not in the model"]
    assert check(SPEC, {"$ref": "#/definitions/TicketModel"}, {"Priority": 2**40}) == [
        "$.Priority: outside int32"
    ]


def test_a_ticket_goes_through_its_whole_life(fake):
    adapter = _adapter(fake)
    pk = adapter.create(
        key="heeded:rec:7:1", title="Follow up: MFA", description="d", priority="critical"
    )
    adapter.add_note(pk, title="Escalation level 2", text="Second notice sent.")
    adapter.update_status(pk, "waiting")
    assert adapter.fetch_status(pk) == "waiting"
    adapter.close(pk)
    assert adapter.fetch_status(pk) == "complete"
    assert fake.tickets[pk]["ExternalID"] == "heeded:rec:7:1"
    assert fake.tickets[pk]["Priority"] == 4
    assert fake.notes == [
        {
            "TicketID": pk,
            "Title": "Escalation level 2",
            "Description": "Second notice sent.",
            "NoteType": 1,
            "Publish": 1,
        }
    ]


def test_a_retry_after_a_lost_answer_finds_the_ticket_instead_of_opening_another(fake):
    adapter = _adapter(fake)
    fake.faults = [None, "lose"]  # the query passes; the create happens, its answer is lost
    with pytest.raises(DeliveryError):
        adapter.create(key="heeded:rec:9:1", title="t", description="d", priority="high")
    assert len(fake.tickets) == 1
    assert adapter.create(key="heeded:rec:9:1", title="t", description="d", priority="high") == 1
    assert len(fake.tickets) == 1


@pytest.mark.parametrize("status", [429, 500, 503])
def test_busy_or_failing_autotask_is_retried_later(fake, status):
    fake.faults = [status]
    with pytest.raises(DeliveryError) as exc:
        _adapter(fake).create(key="k", title="t", description="d", priority="low")
    assert not isinstance(exc.value, PermanentDeliveryError)
    assert str(exc.value) == (
        f"Autotask is busy or failing (HTTP {status} to GET /V1.0/Tickets/query); will retry."
    )
    assert fake.tickets == {}


def test_a_refused_request_is_not_retried(fake):
    adapter = _adapter(fake, statuses={"new": 1, "complete": 5, "waiting": 7, "in_progress": 8})
    with pytest.raises(PermanentDeliveryError, match=r"HTTP 400 to PATCH /V1\.0/Tickets"):
        adapter.update_status(404, "complete")  # no such ticket


def test_missing_credentials_are_refused(fake):
    adapter = AutotaskAdapter(
        base_url=fake.url, integration_code="", username="u", secret="s", company_id=1
    )
    with pytest.raises(PermanentDeliveryError, match="HTTP 401"):
        adapter.fetch_status(1)
