"""The OpenAPI description: generated without warnings, valid, and committed up to date."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS, reset_generator_stats

COMMITTED = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
REGENERATE = "heeded spectacular --file docs/openapi.yaml --validate --fail-on-warn"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> bytes:
    """The document as `heeded spectacular` writes it; generating fails on any warning,
    so an endpoint spectacular cannot describe fails here rather than in a client."""
    path = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    reset_generator_stats()
    call_command("spectacular", "--file", str(path), "--validate", "--fail-on-warn")
    assert not GENERATOR_STATS
    return path.read_bytes()


def test_the_committed_openapi_document_is_the_generated_one(generated):
    assert COMMITTED.read_bytes() == generated, f"docs/openapi.yaml is stale: run `{REGENERATE}`"


def test_every_endpoint_of_the_api_is_described(generated):
    schema = yaml.safe_load(generated)

    operations = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    actions = [
        "present",
        "responses",
        "start-work",
        "mark-implemented",
        "mark-verified",
        "withdraw",
        "edit",
        "owner",
        "contact",
    ]
    assert operations == {
        ("GET", "/api/v1/clients/"),
        ("POST", "/api/v1/clients/"),
        ("GET", "/api/v1/clients/{id}/"),
        ("GET", "/api/v1/clients/{client_id}/ledger/events/"),
        ("GET", "/api/v1/clients/{client_id}/ledger/head/"),
        ("GET", "/api/v1/contacts/"),
        ("POST", "/api/v1/contacts/"),
        ("GET", "/api/v1/contacts/{id}/"),
        ("GET", "/api/v1/templates/"),
        ("POST", "/api/v1/templates/"),
        ("GET", "/api/v1/templates/{id}/"),
        ("GET", "/api/v1/recommendations/"),
        ("POST", "/api/v1/recommendations/"),
        ("GET", "/api/v1/recommendations/{id}/"),
        *(("POST", f"/api/v1/recommendations/{{id}}/{action}/") for action in actions),
        ("GET", "/api/v1/tickets/"),
        ("GET", "/api/v1/tickets/{id}/"),
        ("POST", "/api/v1/tickets/{id}/notes/"),
        ("GET", "/api/v1/deliveries/"),
        ("GET", "/api/v1/deliveries/{id}/"),
        ("POST", "/api/v1/presentations/"),
        ("GET", "/api/v1/answer-links/"),
        ("GET", "/api/v1/inbound/"),
        ("GET", "/api/v1/inbound/{id}/"),
        ("POST", "/api/v1/inbound/{id}/review/"),
        ("POST", "/api/v1/meetings/"),
        ("POST", "/api/v1/endpoint-reports"),
        ("GET", "/api/v1/devices/"),
        ("GET", "/api/v1/devices/{id}/"),
        ("POST", "/api/v1/devices/{id}/tags/"),
        ("GET", "/api/v1/recommendations/{recommendation_id}/devices/"),
        ("GET", "/api/v1/clients/{client_id}/device-compliance/"),
        ("GET", "/api/v1/clients/{client_id}/device-compliance/history/"),
        ("GET", "/api/v1/enrollment-tokens/"),
        ("POST", "/api/v1/enrollment-tokens/"),
        ("GET", "/api/v1/enrollment-tokens/{id}/"),
        ("POST", "/api/v1/enrollment-tokens/{id}/revoke/"),
        ("GET", "/api/v1/device-reviews/"),
        ("GET", "/api/v1/device-reviews/{id}/"),
        ("POST", "/api/v1/device-reviews/{id}/resolve/"),
    }
    withdraw = schema["paths"]["/api/v1/recommendations/{id}/withdraw/"]["post"]
    assert set(withdraw["responses"]) == {"200", "400", "401", "403", "404", "409", "413", "415"}
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["tokenAuth"]["description"],
    }


def test_the_schema_is_served_to_anyone(client):
    response = client.get("/api/v1/schema/", {"format": "json"})

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Heeded API"
    assert "/api/v1/recommendations/{id}/present/" in response.json()["paths"]


def test_the_schema_is_served_as_yaml_by_default(client):
    response = client.get("/api/v1/schema/")

    assert response.status_code == 200
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")
