"""Bad input the API must refuse in its one JSON error shape, never with a server error
or an HTML page: each case is one finding of the hardening probe."""

from __future__ import annotations

import base64
import json

import pytest

from answers.services.inbound import inbound_receive
from api.tests.support import errors
from clients.models import Contact
from recommendations.models import Recommendation

BIG = 2**63  # one past the largest bigint


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def post_raw(client, path: str, body: str | bytes, **extra):
    return client.generic(
        "POST", path, body.encode() if isinstance(body, str) else body, "application/json", **extra
    )


@pytest.fixture
def tess(api, technician):
    return api(technician)


@pytest.fixture
def inbound(client_a, contact_a, now):
    """An unmatched reply from client A's contact, waiting in the review queue."""
    raw = (
        b"From: Alice Rossi <alice@acme-dental.example>\r\nTo: replies@heeded.localhost\r\n"
        b"Subject: Re: MFA\r\nMessage-ID: <limits-1@acme-dental.example>\r\n\r\nYes.\r\n"
    )
    message = inbound_receive(raw=raw, now=now).message
    message.client = client_a
    message.save(update_fields=["client"])
    return message


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/contacts/",
        "/api/v1/recommendations/",
        "/api/v1/meetings/",
        "/api/v1/presentations/",
    ],
)
def test_json_nested_990_levels_is_refused_on_every_endpoint(tess, path):
    response = post_raw(tess, path, deep(990))

    assert response.status_code == 400
    [(field, code, message)] = errors(response)
    assert (field, code) == (None, "too_deep")
    assert message == "JSON nested deeper than 32 levels (at byte 32)."


def test_field_values_nested_500_levels_is_refused_and_nothing_stored(tess, client_a):
    body = '{"client": %d, "title": "T", "body": "B", "severity": "low", "field_values": {"a": %s}}'
    response = post_raw(tess, "/api/v1/recommendations/", body % (client_a.pk, deep(500)))

    assert response.status_code == 400
    assert errors(response)[0][1] == "too_deep"
    assert not Recommendation.objects.exists()


def test_brackets_inside_strings_do_not_count_as_nesting(tess, client_a):
    body = json.dumps({"client": client_a.pk, "name": "[" * 100, "email": "x@acme-dental.example"})

    response = post_raw(tess, "/api/v1/contacts/", body)

    assert response.status_code == 201
    assert response.json()["name"] == "[" * 100


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
def test_a_number_that_is_not_finite_is_refused(tess, number):
    response = post_raw(tess, "/api/v1/contacts/", '{"client": ' + number + ', "name": "A"}')

    assert response.status_code == 400
    [(field, code, message)] = errors(response)
    assert (field, code) == (None, "invalid_number")
    assert number in message
    assert not Contact.objects.filter(name="A").exists()


@pytest.mark.parametrize("value", [BIG, -BIG - 1, 10**30])
def test_an_id_past_the_bigint_range_in_a_body_names_its_field(tess, value):
    body = f'{{"client": {value}, "name": "A", "email": "a@acme-dental.example"}}'

    response = post_raw(tess, "/api/v1/contacts/", body)

    assert response.status_code == 400
    assert errors(response) == [("client", "does_not_exist", f"No such client (id {value}).")]


@pytest.mark.parametrize("value", ["1.5", "true", '"1"'])
def test_an_id_in_a_body_must_be_a_json_integer(tess, client_a, value):
    body = f'{{"client": {value}, "name": "A", "email": "a@acme-dental.example"}}'

    response = post_raw(tess, "/api/v1/contacts/", body)

    assert response.status_code == 400
    assert errors(response)[0][:2] == ("client", "incorrect_type")


def test_a_meeting_with_an_id_past_the_range_names_the_field(tess):
    body = {
        "client": BIG,
        "channel": "meeting",
        "held_on": "2026-03-02",
        "attendees": "",
        "decisions": [],
    }

    response = tess.post("/api/v1/meetings/", body, format="json")

    assert response.status_code == 400
    assert errors(response)[0][:2] == ("client", "max_value")


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/clients/{BIG}/",
        f"/api/v1/contacts/{BIG}/",
        f"/api/v1/recommendations/{BIG}/",
        f"/api/v1/templates/{BIG}/",
        f"/api/v1/tickets/{BIG}/",
        f"/api/v1/deliveries/{BIG}/",
        f"/api/v1/inbound/{BIG}/",
        f"/api/v1/clients/{BIG}/ledger/head/",
        f"/api/v1/clients/{BIG}/ledger/events/",
        f"/api/v1/clients/{10**40}/",
    ],
)
def test_a_path_id_past_the_bigint_range_is_not_found(tess, path):
    response = tess.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert errors(response)[0][1] == "not_found"


@pytest.mark.parametrize("pk", ["abc", "1.5", "-1", "0x10", "%F0%9F%98%80"])
def test_a_non_integer_inbound_id_is_a_json_404(tess, inbound, pk):
    response = tess.get(f"/api/v1/inbound/{pk}/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert errors(response) == [(None, "not_found", "Not found.")]


@pytest.mark.parametrize("pk", ["abc", str(BIG)])
def test_reviewing_an_inbound_message_with_a_bad_id_is_a_json_404(tess, inbound, pk):
    response = tess.post(f"/api/v1/inbound/{pk}/review/", {"note": "Seen."}, format="json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_reviewing_an_inbound_message_edge_cases(tess, inbound):
    path = f"/api/v1/inbound/{inbound.pk}/review/"

    missing = tess.post(path, {}, format="json")
    blank = tess.post(path, {"note": "   "}, format="json")
    not_json = tess.post(path, "note=x", content_type="text/plain")
    deep_note = post_raw(tess, path, '{"note": ' + deep(100) + "}")
    done = tess.post(path, {"note": "Called Alice."}, format="json")
    again = tess.post(path, {"note": "Again."}, format="json")

    assert (missing.status_code, errors(missing)[0][:2]) == (400, ("note", "required"))
    assert (blank.status_code, errors(blank)[0][:2]) == (400, ("review_note", "required"))
    assert (not_json.status_code, errors(not_json)[0][1]) == (415, "unsupported_media_type")
    assert (deep_note.status_code, errors(deep_note)[0][1]) == (400, "too_deep")
    assert done.status_code == 200
    assert again.status_code == 400
    assert errors(again)[0][1] == "already_reviewed"


def _cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [_cursor("p=abc"), _cursor(f"p={BIG}"), _cursor("p=1.5&r=1"), "not base64!"],
)
def test_a_forged_cursor_is_not_found(tess, draft, cursor):
    response = tess.get("/api/v1/recommendations/", {"cursor": cursor})

    assert response.status_code == 404
    assert errors(response) == [(None, "not_found", "Invalid cursor")]


def test_a_forged_cursor_on_the_ledger_is_not_found(tess, client_a):
    response = tess.get(f"/api/v1/clients/{client_a.pk}/ledger/events/", {"cursor": _cursor("p=x")})

    assert response.status_code == 404
    assert errors(response)[0][1] == "not_found"


@pytest.mark.parametrize("size", ["0", "-3", "abc"])
def test_a_page_size_that_is_not_a_positive_number_is_refused(tess, size):
    response = tess.get("/api/v1/clients/", {"page_size": size})

    assert response.status_code == 400
    assert errors(response)[0][0] == "page_size"


@pytest.mark.parametrize(
    ("megabytes", "limit"), [(3, "2621440"), (2, "1048576")], ids=["django", "parser"]
)
def test_a_large_body_is_refused_with_the_json_error(tess, megabytes, limit):
    # Past Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) Django refuses it before the
    # view; below that the API's own parser does, from the Content-Length.
    body = json.dumps({"name": "x" * (megabytes * 1024 * 1024)})

    response = post_raw(tess, "/api/v1/contacts/", body)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert errors(response) == [
        (None, "too_large", f"The request body is larger than {limit} bytes.")
    ]


def test_a_body_longer_than_its_content_length_says_is_cut_at_the_limit(tess, settings):
    settings.HEEDED_API_MAX_BODY_BYTES = 64
    body = json.dumps({"name": "x" * 200})

    response = post_raw(tess, "/api/v1/contacts/", body, CONTENT_LENGTH="10")

    assert response.status_code in (400, 413)
    assert response["Content-Type"] == "application/json"


def test_a_body_past_djangos_own_limit_is_the_json_error(tess, settings):
    # A view that reads request.body meets DATA_UPLOAD_MAX_MEMORY_SIZE first; the
    # handler400 of heeded/urls.py answers in the API's shape under /api/.
    from django.core.exceptions import RequestDataTooBig
    from django.test import RequestFactory

    from api.v1.errors import bad_request

    request = RequestFactory().post("/api/v1/contacts/")
    response = bad_request(request, RequestDataTooBig())

    assert response.status_code == 413
    assert json.loads(response.content)["errors"][0]["code"] == "too_large"


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here/", "/api/v1/clients/1/nope/", "/api/v1/clients/x/ledger/head/"]
)
def test_an_unknown_url_under_the_api_is_a_json_404(tess, path):
    response = tess.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert errors(response) == [(None, "not_found", "Not found.")]


def test_an_unknown_page_outside_the_api_is_still_html(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


def test_a_method_the_url_does_not_have_is_a_json_405(tess, contact_a):
    response = tess.delete(f"/api/v1/contacts/{contact_a.pk}/")

    assert response.status_code == 405
    assert errors(response)[0][1] == "method_not_allowed"


def test_a_server_error_under_the_api_is_json(tess, monkeypatch, client_a):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("api.v1.views.client_get_for", boom)
    tess.raise_request_exception = False

    response = tess.get(f"/api/v1/clients/{client_a.pk}/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert errors(response) == [(None, "server_error", "The server failed to answer this request.")]
