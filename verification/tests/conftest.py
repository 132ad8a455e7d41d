"""Fixtures for verification: enrollment tokens, realistic collector documents and a
signed POST, with the clock frozen at the personas' ``now``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

from api.tests.support import drive
from recommendations.choices import Status
from recommendations.models import Recommendation
from verification.services import enrollment_token_create, token_digest
from verification.signing import sign

GUID_RECEPTION = "3f0c2a4e-9b1d-4c55-8e2f-7a6b1c0d9e21"
GUID_DOCTOR = "b7e4d0a1-2c3f-4e6a-9d8b-5f1e0c7a3b42"


@pytest.fixture
def frozen(now: dt.datetime) -> Iterator[None]:
    with time_machine.travel(now, tick=False):
        yield


@pytest.fixture
def token_a(client_a, admin, now):
    return enrollment_token_create(
        client=client_a, name="NinjaOne, Acme Dental", actor=admin, now=now
    )


@pytest.fixture
def token_b(client_b, admin, now):
    return enrollment_token_create(
        client=client_b, name="Datto RMM, Bravo Legal", actor=admin, now=now
    )


def hotfix(kb: str, when: str | None = "1/13/2026 12:00:00 AM", **extra: Any) -> dict[str, Any]:
    return {
        "hotfix_id": kb,
        "description": extra.get("description", "Security Update"),
        "installed_by": extra.get("installed_by", "NT AUTHORITY\\SYSTEM"),
        "installed_on": when,
    }


def document(
    *,
    guid: str = GUID_RECEPTION,
    name: str = "ACME-RECEPTION",
    kbs: tuple[str, ...] = ("KB5073724", "KB5072653"),
    collected_at: str = "2026-03-02T08:59:12.4817365+01:00",
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "heeded.endpoint-report/1",
        "collector_version": "1.0.0",
        "collected_at": collected_at,
        "device": {
            "machine_guid": guid,
            "computer_name": name,
            "os_caption": "Microsoft Windows 11 Pro",
            "os_build": "10.0.26100.7623",
        },
        "hotfixes": [hotfix(kb) for kb in kbs],
        "checks": {
            "bitlocker_os_volume": "on",
            "smb1_enabled": False,
            "defender_realtime": True,
            "firewall": {"Domain": True, "Private": True, "Public": True},
        },
    }
    doc.update(extra)
    return doc


def body_of(doc: dict[str, Any]) -> bytes:
    # PowerShell's ConvertTo-Json -Compress output is compact and keeps non-ASCII as is.
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


@pytest.fixture
def post(client, now, frozen) -> Callable[..., Any]:
    """``post(raw_token, body, **overrides)``: a signed upload, as the collector sends it."""

    def send(raw: str, body: bytes, *, timestamp: int | None = None, **headers: str) -> Any:
        key_id = raw.split("_")[1]
        stamp = str(timestamp if timestamp is not None else int(now.timestamp()))
        signature = sign(digest=token_digest(raw), timestamp=stamp, body=body)
        meta = {
            "HTTP_X_HEEDED_KEY": key_id,
            "HTTP_X_HEEDED_TIMESTAMP": stamp,
            "HTTP_X_HEEDED_SIGNATURE": signature,
        }
        meta.update(headers)
        return client.generic(
            "POST", "/api/v1/endpoint-reports", data=body, content_type="application/json", **meta
        )

    return send


@pytest.fixture
def api_as(now):
    """``api_as(user)``: an API client sending a fresh token of ``user``."""
    from rest_framework.test import APIClient

    from accounts.tokens import token_create

    def make(user):
        api = APIClient()
        _, raw = token_create(user=user, name="tests", now=now)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return api

    return make


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@pytest.fixture
def make_rec(client_a, contact_a, admin, now):
    from catalog.services import template_create
    from recommendations.services import recommendation_create

    def make(rule: str, status: str = Status.ACCEPTED, key: str = "patch") -> Recommendation:
        template = template_create(
            key=key,
            title=f"Patch Windows ({key})",
            body="Install January's cumulative update on every workstation.",
            risk_if_ignored="Known exploited vulnerabilities stay open.",
            category="patching",
            default_severity="high",
            verification_rule=rule,
            now=now,
            actor=admin,
        )
        rec = recommendation_create(
            client=client_a,
            template_version=template,
            actor=admin,
            now=now,
            owner=admin,
            contact=contact_a,
        )
        return drive(rec, status, actor=admin, now=now)

    return make
