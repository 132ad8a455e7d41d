"""Outbound webhooks: the Standard Webhooks test vector, delivery to a loopback
receiver with retries, chat alerts for critical items."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError

from followup.choices import OutboxKind, OutboxStatus
from followup.delivery import deliver_due
from followup.models import OutboxMessage, WebhookEndpoint
from followup.services.webhooks import webhook_endpoint_create, webhook_endpoint_disable
from followup.webhooks import sign, verify
from lib.errors import NotAllowed
from recommendations.lifecycle import LifecycleError
from recommendations.services import (
    recommendation_create,
    recommendation_present,
    recommendation_withdraw,
)

pytestmark = pytest.mark.django_db

# Published by the Standard Webhooks project (libraries/python/tests/test_webhooks.py,
# test_sign_function): secret, message id, timestamp, body and the expected signature.
VECTOR = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "msg_id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": 1614265330,
    "body": '{"test": 2432232314}',
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}


class Receiver:
    """An HTTP server on 127.0.0.1 that records requests and answers with the next
    status of ``statuses`` (200 once they run out)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], str]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _hooks(at: dt.datetime) -> list:
    """Deliver what is due; the webhook results (the presenting e-mail goes too)."""
    return [r for r in deliver_due(now=at, worker="w") if r.message.kind == OutboxKind.WEBHOOK]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def test_the_signature_matches_the_published_test_vector():
    v = VECTOR
    assert (
        sign(secret=v["secret"], msg_id=v["msg_id"], timestamp=v["timestamp"], body=v["body"])
        == (v["signature"])
    )
    assert verify(
        secret=v["secret"],
        msg_id=v["msg_id"],
        timestamp=v["timestamp"],
        body=v["body"],
        header="v1,bm90IGl0 " + v["signature"],
    )
    assert not verify(
        secret=v["secret"],
        msg_id=v["msg_id"],
        timestamp=v["timestamp"],
        body=v["body"].replace("2", "3"),
        header=v["signature"],
    )


def test_a_lifecycle_change_is_signed_delivered_and_retried_with_the_same_id(
    receiver, draft, admin, now
):
    endpoint = webhook_endpoint_create(
        name="SIEM", url=receiver.url, kind="standard", now=now, actor="cli"
    )
    recommendation_present(recommendation=draft, actor=admin, now=now)
    (message,) = OutboxMessage.objects.filter(kind=OutboxKind.WEBHOOK)

    receiver.statuses = [500]
    (first,) = _hooks(now)
    assert first.status == OutboxStatus.PENDING and first.error == "The receiver answered HTTP 500."
    (second,) = _hooks(now + dt.timedelta(minutes=2))
    assert second.status == OutboxStatus.SENT

    (h1, b1), (h2, b2) = receiver.requests
    assert h1["webhook-id"] == h2["webhook-id"] == message.payload["webhook_id"] and b1 == b2
    assert verify(
        secret=endpoint.signing_secret(),
        msg_id=h2["webhook-id"],
        timestamp=int(h2["webhook-timestamp"]),
        body=b2,
        header=h2["webhook-signature"],
    )
    event = json.loads(b2)
    assert event["type"] == "recommendation.present"
    assert (
        event["data"]["recommendation"] == draft.pk and event["data"]["to"] == "awaiting_response"
    )


def test_a_receiver_that_refuses_the_request_is_given_up_at_once(receiver, draft, admin, now):
    webhook_endpoint_create(name="SIEM", url=receiver.url, kind="standard", now=now, actor="cli")
    recommendation_present(recommendation=draft, actor=admin, now=now)
    receiver.statuses = [400]
    (result,) = _hooks(now)
    assert result.status == OutboxStatus.FAILED
    assert result.error == "The receiver answered HTTP 400."


def test_a_secret_sealed_with_a_removed_key_fails_delivery_for_good_and_says_why(
    receiver, draft, admin, now, settings
):
    from cryptography.fernet import Fernet

    endpoint = webhook_endpoint_create(
        name="SIEM", url=receiver.url, kind="standard", now=now, actor="cli"
    )
    recommendation_present(recommendation=draft, actor=admin, now=now)
    settings.HEEDED_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    (result,) = _hooks(now)
    assert result.status == OutboxStatus.FAILED
    assert f"webhook endpoint {endpoint.pk} was sealed with a key" in result.error
    assert receiver.requests == []


def test_the_migration_seals_secrets_stored_in_the_clear(now):
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    editor = SimpleNamespace(connection=connection)
    sealing = importlib.import_module("followup.migrations.0009_webhook_secret_sealed")
    endpoint = webhook_endpoint_create(
        name="SIEM", url="https://siem.example.com/h", kind="standard", now=now, actor="cli"
    )
    plain = endpoint.signing_secret()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=plain)  # as before sealing
    sealing.seal(apps, editor)
    endpoint.refresh_from_db()
    assert "whsec_" not in endpoint.secret and endpoint.signing_secret() == plain
    sealing.seal(apps, editor)  # a second run leaves sealed secrets alone
    endpoint.refresh_from_db()
    assert endpoint.signing_secret() == plain


def test_chat_endpoints_hear_only_of_critical_items(receiver, draft, client_a, admin, now):
    webhook_endpoint_create(name="Slack", url=receiver.url, kind="slack", now=now, actor="cli")
    low = recommendation_create(
        client=client_a, actor=admin, now=now, title="Tidy DNS", body="b", severity="low"
    )
    recommendation_present(recommendation=low, actor=admin, now=now)
    recommendation_present(recommendation=draft, actor=admin, now=now)
    (result,) = _hooks(now)
    assert result.ok
    ((headers, body),) = receiver.requests
    assert "webhook-signature" not in headers
    assert json.loads(body) == {
        "text": "[Heeded] CRITICAL · Acme Dental: Require MFA for all remote access "
        "(presented, awaiting the client's decision)"
    }


def test_a_refused_change_queues_no_webhook(receiver, presented, admin, now):
    webhook_endpoint_create(name="SIEM", url=receiver.url, kind="standard", now=now, actor="cli")
    with pytest.raises(LifecycleError):
        recommendation_withdraw(recommendation=presented, actor=admin, now=now, reason=" ")
    assert not OutboxMessage.objects.filter(kind=OutboxKind.WEBHOOK).exists()


def test_a_bad_endpoint_is_refused_and_nothing_is_stored(now):
    with pytest.raises(ValidationError) as exc:
        webhook_endpoint_create(
            name="x",
            url="ftp://example.com/",
            kind="standard",
            secret="whsec_short",
            now=now,
            actor="cli",
        )
    assert exc.value.message_dict == {
        "url": ["Enter a valid http(s) URL."],
        "secret": ["A signing secret is 'whsec_' followed by base64 (24+ bytes)."],
    }
    assert not WebhookEndpoint.objects.exists()


def test_the_webhook_command_adds_lists_and_disables_endpoints(now):
    import io

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("webhook", "add", "https://siem.example/hook", "--name", "SIEM", stdout=out)
    endpoint = WebhookEndpoint.objects.get()
    assert (
        endpoint.signing_secret().startswith("whsec_")
        and endpoint.signing_secret() in out.getvalue()
    )
    with pytest.raises(CommandError, match=r"^Enter a valid http\(s\) URL\.$"):
        call_command("webhook", "add", "not a url", stdout=io.StringIO())
    call_command("webhook", "disable", str(endpoint.pk), stdout=io.StringIO())
    listing = io.StringIO()
    call_command("webhook", "list", stdout=listing)
    assert (
        listing.getvalue()
        == f"{endpoint.pk} standard disabled https://siem.example/hook (all events)\n"
    )
    assert WebhookEndpoint.objects.count() == 1
    with pytest.raises(CommandError, match=r"^No webhook endpoint 999\.$"):
        call_command("webhook", "disable", "999", stdout=io.StringIO())


def test_disabling_an_endpoint_is_for_admins_and_happens_once(admin, technician, now):
    endpoint = webhook_endpoint_create(
        name="SIEM", url="https://siem.example/hook", kind="standard", now=now, actor=admin
    )
    with pytest.raises(NotAllowed, match=r"^Only an admin may manage webhooks\.$"):
        webhook_endpoint_disable(pk=endpoint.pk, actor=technician)
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert not webhook_endpoint_disable(pk=endpoint.pk, actor=admin).is_active
    assert not webhook_endpoint_disable(pk=endpoint.pk, actor=admin).is_active


def test_the_webhook_services_name_their_actor_so_a_page_cannot_skip_the_role_check(now):
    # No default: a caller that forgets the actor fails loudly instead of acting as
    # the operator at the command line.
    with pytest.raises(TypeError, match="actor"):
        webhook_endpoint_create(name="SIEM", url="https://siem.example/h", kind="slack", now=now)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="actor"):
        webhook_endpoint_disable(pk=1)  # type: ignore[call-arg]
