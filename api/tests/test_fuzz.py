"""Schemathesis against the API, in-process: every operation of the committed OpenAPI
document with generated valid and invalid input, then stateful sequences of calls, as a
technician who sees one client, on a database that has been used (two clients,
recommendations in several states, a ticket, an inbound message).

Every check is on: no server error, only documented status codes and content types,
responses that match their schema, invalid input refused and valid input accepted. The
run is seeded and derandomized, so CI sees the same requests each time; a failure
prints each distinct finding with the request that reproduces it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections import Counter

import pytest
import schemathesis
from django.conf import settings
from django.utils import timezone
from schemathesis.engine import events
from schemathesis.engine import from_schema as engine_for

from accounts.tokens import token_create
from answers.services.inbound import inbound_receive
from api.tests.support import drive
from followup.services.tickets import ticket_open_or_update
from recommendations.choices import Status
from recommendations.services import recommendation_create
from verification.services import ReportRefused, enrollment_token_create
from verification.tests.test_verify_pass import report

SCHEMA = settings.BASE_DIR / "docs" / "openapi.yaml"
# Per operation, for the fuzzing phase; the coverage phase adds its own boundary cases.
MAX_EXAMPLES = 6
SEED = 20260302
POSITIVE_ACCEPTED = ["2xx", "401", "403", "404", "409"]


def _config(token: str, base_url: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "cache": {"enabled": False},
            "headers": {"Authorization": f"Bearer {token}"},
            "workers": 1,
            "checks": {"enabled": True},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                # Every CharField refuses a NUL character (PostgreSQL cannot store one),
                # which the schema does not say: keep NUL out of generated strings.
                "allow-x00": False,
            },
            "phases": {
                # Methods a path does not have: three are enough to see the 405s.
                "coverage": {"unexpected-methods": ["delete", "put", "patch"]},
                "stateful": {"max-steps": 8},
            },
            # A POST is also refused (400) by rules no schema states: an id the user may
            # not see, the lifecycle's rules (an acceptance needs planned_for, a
            # withdrawal a reason), a note that is only whitespace. Reads stay strict.
            "operations": [
                {
                    "include-method": "POST",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": [*POSITIVE_ACCEPTED, "400"]
                        }
                    },
                }
            ],
        }
    )


@pytest.fixture
def used_database(admin, technician, client_a, client_b, contact_a, contact_b, template_mfa):
    """What a technician of client A meets on a working day: recommendations of both
    clients in several states, an open ticket, an inbound e-mail waiting for review,
    devices, an enrollment token and a refused endpoint report."""
    now = timezone.now()

    def rec(client, contact, status, title):
        draft = recommendation_create(
            client=client,
            template_version=template_mfa,
            actor=admin,
            now=now,
            owner=admin,
            contact=contact,
            title=title,
        )
        return drive(draft, status, actor=admin, now=now)

    rec(client_a, contact_a, Status.DRAFT, "Draft at A")
    awaiting = rec(client_a, contact_a, Status.AWAITING_RESPONSE, "Awaiting at A")
    rec(client_a, contact_a, Status.ACCEPTED, "Accepted at A")
    rec(client_a, contact_a, Status.IMPLEMENTED, "Implemented at A")
    rec(client_b, contact_b, Status.DEFERRED, "Deferred at B")
    ticket_open_or_update(recommendation=awaiting, actor=admin, now=now, note="Chase the client.")
    raw = (
        b"From: Alice Rossi <alice@acme-dental.example>\r\n"
        b"To: replies@heeded.localhost\r\nSubject: Re: MFA\r\n"
        b"Message-ID: <fuzz-1@acme-dental.example>\r\n\r\nYes, go ahead.\r\n"
    )
    inbound_receive(raw=raw, now=now)
    # Verification: a device of each client, an enrollment token, and a report of A
    # refused because B already enrolled its MachineGuid (in A's review queue).
    report(client_a, 0, 5073724, now=now, name="ACME-RECEPTION", tags=["workstations"])
    report(client_b, 1, 5073724, now=now, name="BRAVO-WS")
    with contextlib.suppress(ReportRefused):
        report(client_a, 1, 5072653, now=now, name="ACME-CLONE")
    enrollment_token_create(client=client_a, name="NinjaOne", actor=admin, now=now)
    _, token = token_create(user=technician, name="fuzz", now=now)
    return token


def test_schemathesis_finds_nothing_wrong_with_the_api(used_database, live_server):
    # Over HTTP on loopback (pytest-django's live server), as a real client calls it:
    # schemathesis 4.32's in-process WSGI transport breaks in its fuzzing phase.
    schema = schemathesis.openapi.from_path(SCHEMA, config=_config(used_database, live_server.url))
    started = time.monotonic()
    failures: dict[tuple[str, str], str] = {}
    cases: Counter[str] = Counter()
    for event in engine_for(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases[event.phase.value] += len(event.recorder.cases)
            for checks in event.recorder.checks.values():
                for check in checks:
                    info = check.failure_info
                    if info is None:
                        continue
                    key = (check.name, f"{info.failure.operation}: {info.failure.title}")
                    failures.setdefault(key, f"{info.failure.message}\n{info.code_sample}")
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.setdefault(("error", str(event)), "")
    elapsed = dt.timedelta(seconds=round(time.monotonic() - started))
    by_check = Counter(name for name, _ in failures)
    report = "\n\n".join(f"[{name}] {what}\n{sample}" for (name, what), sample in failures.items())
    print(f"schemathesis: {cases.total()} cases {dict(cases)} in {elapsed}")
    print(f"schemathesis: failures by check: {dict(by_check)}")
    assert not failures, f"{len(failures)} distinct failures {dict(by_check)}:\n\n{report}"
