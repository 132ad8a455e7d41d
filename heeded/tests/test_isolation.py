"""Tenant isolation over every route, generated from the URL configuration and the
OpenAPI document rather than hand-listed, so a new page or endpoint is covered the day it
is added.

Each route's path parameters are classified by what they name (a client, one of its
recommendations, tickets, messages, devices, stored reports…). Then, with a database in
which client B has one of everything:

- a technician assigned to client A only gets, for every route and method, exactly the
  answer a non-existent id gets, and never a success: B's objects are invisible, not
  merely forbidden (GET is a 404);
- the same technician's lists, filters, counts and exports name nothing of client B,
  even when asked for B by a filter;
- a client contact of A, signed in to the portal, reaches no staff page and none of B's
  items;
- an anonymous request gets the sign-in page (HTML) or 401/403 (API), never data.

A route whose parameter cannot be classified fails the suite: deciding what it names is
part of adding it. Public routes are listed with the reason they are public.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tokens import token_create
from answers.services.inbound import inbound_receive
from api.tests.support import drive
from followup.models import OutboxMessage
from followup.services.tickets import ticket_open_or_update
from recommendations.choices import Status
from recommendations.services import recommendation_create

MISSING = 987654321
LOGIN = "/accounts/login/"
OPENAPI = settings.BASE_DIR / "docs" / "openapi.yaml"

# What a path parameter names, by the path segment before it or by its own name.
SEGMENT_KINDS = {
    "clients": "client",
    "recommendations": "recommendation",
    "tickets": "ticket",
    "deliveries": "delivery",
    "inbound": "inbound",
    "devices": "device",
    "delivered": "stored_report",
    "contacts": "contact",
    "templates": "template",
    "catalog": "template",
    # Staff accounts and webhook endpoints belong to no client; a technician sees none.
    "staff": "staff_user",
    "webhooks": "webhook",
    "tokens": "enrollment_token",
    "reviews": "review_item",
    "enrollment-tokens": "enrollment_token",
    "device-reviews": "review_item",
    # A tracker preview belongs to the user who uploaded the sheet; nobody else sees it.
    "preview": "tracker_preview",
}
NAME_KINDS = {
    "client_pk": "client",
    "client_id": "client",
    "recommendation_id": "recommendation",
}
# Objects every staff user may read: the shared catalog is not any client's data.
SHARED_KINDS = {"template"}
# A parameter that is not an object: the action a page performs, per route.
ACTION_SLUGS = {
    "web:recommendation_action": "withdraw",
    "followup:ticket_action": "close",
    "web:staff_action": "deactivate",
    "web:client_staff": "assign",
}

# Routes anyone may call, and why. Each still must not leak: they take a secret (a
# token, a signature) and answer an unknown one like a wrong one.
PUBLIC = {
    "answers:answer": "a client answers through a signed link; the token is the key",
    "answers:renew": "asks for a fresh link for an expired token; says nothing of it",
    "answers:portal_home": "the portal's own sign-in gate (sends to the sign-in form)",
    "answers:portal_sign_in": "the portal sign-in form; says nothing of the address",
    "answers:portal_sign_in_link": "a one-time sign-in link; the token is the key",
    "answers:portal_sign_out": "ends a portal session",
    "followup:psa_callback": "the PSA calls back with an HMAC signature",
    "web:staff_welcome": "an invited colleague sets a password; the one-time token is the key",
    "set_language": "the language switch of the sign-in page; stores a choice, no data",
    "api:endpoint-reports": "collectors post with an enrollment token and a signature",
    "api:schema": "the OpenAPI document describes the API, no data",
    "api:docs": "the API reference page, no data",
}
# The portal's own pages: a signed-in contact, not a staff user, is their audience.
PORTAL = {"answers:portal_recommendation"}
# django-allauth's sign-in, MFA and password flows: the user's own account, no client
# data; their access rules are allauth's and are tested in web/tests/test_login.py.
AUTH_PREFIX = "accounts/"


@dataclass(frozen=True)
class Route:
    name: str  # namespaced, e.g. "web:client_detail"
    template: str  # "/clients/{pk}/"
    api: bool

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.template)


def _template(pattern: str) -> str:
    """A path() route or a router regex as "/clients/{pk}/"."""
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
    text = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text)
    return text.replace("^", "").replace("$", "").replace("\\.", ".")


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> list[Route]:
    routes = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            routes += _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern) and entry.name:
            template = "/" + _template(prefix + str(entry.pattern))
            routes.append(Route(namespace + entry.name, template, template.startswith("/api/")))
    return routes


def all_routes() -> list[Route]:
    return [r for r in _walk(get_resolver().url_patterns) if not r.template.startswith("/static")]


def openapi_operations() -> list[tuple[str, str]]:
    """(method, "/api/v1/…/{id}/") for every operation the document describes."""
    document = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def kind_of(template: str, param: str) -> str | None:
    if param in NAME_KINDS:
        return NAME_KINDS[param]
    before = template.split("{" + param + "}")[0].rstrip("/").rsplit("/", 1)[-1]
    return SEGMENT_KINDS.get(before)


def unclassified(route: Route) -> list[str]:
    if route.name in PUBLIC or route.template.startswith("/" + AUTH_PREFIX):
        return []
    missing = []
    for param in route.params:
        if param == "action" and route.name in ACTION_SLUGS:
            continue
        if kind_of(route.template, param) is None:
            missing.append(param)
    return missing


def _same_as_api_paths(template: str) -> str:
    return re.sub(r"{\w+}", "{}", template)


# ---------------------------------------------------------------------------------------
# The database: client B has one of everything, client A a little.


@pytest.fixture
def world(admin, technician, client_a, client_b, contact_a, contact_b, template_mfa):
    from reports.periods import parse_period
    from reports.services import report_deliver
    from verification.models import ReviewItem
    from verification.services import device_score_history_take, enrollment_token_create
    from verification.tests.test_verify_pass import report

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

    rec(client_a, contact_a, Status.AWAITING_RESPONSE, "Acme visible item")
    rec_b = rec(client_b, contact_b, Status.AWAITING_RESPONSE, "Bravo secret NAS replacement")
    rec(client_b, contact_b, Status.REJECTED, "Bravo secret firewall refusal")
    ticket, _ = ticket_open_or_update(
        recommendation=rec_b, actor=admin, now=now, note="Bravo secret ticket note"
    )
    inbound = inbound_receive(
        raw=(
            b"From: Bob Bianchi <bob@bravo-legal.example>\r\n"
            b"To: replies@heeded.localhost\r\nSubject: Re: Bravo secret NAS replacement\r\n"
            b"Message-ID: <isolation-1@bravo-legal.example>\r\n\r\nBravo secret reply.\r\n"
        ),
        now=now,
    )
    device = report(client_b, 0, 5073724, now=now, name="BRAVO-SECRET-WS").device
    # B's device compliance history (the next day's job writes the day just ended).
    device_score_history_take(now=now + dt.timedelta(days=1))
    stored = report_deliver(
        client=client_b,
        period=parse_period("2026-03"),
        fmt="html",
        now=now,
        actor=admin,
        channel="web",
    )
    from followup.services.webhooks import webhook_endpoint_create

    webhook = webhook_endpoint_create(
        name="Bravo SIEM", url="https://siem.example/h", kind="standard", now=now, actor=admin
    )
    token, _ = enrollment_token_create(client=client_b, name="Bravo RMM", actor=admin, now=now)
    review = ReviewItem.objects.create(
        client=client_b,
        machine_guid="0a1b2c3d-0000-4000-8000-0000000000ff",
        computer_name="BRAVO-SECRET-CLONE",
        reason="name_clash",
        detail="Bravo secret clash",
        document={},
        received_at=now,
    )
    from tracker.previews import preview_queue

    preview = preview_queue(
        owner=admin,
        data=b"Client,Recommendation,Date made\r\nBravo Legal,Bravo secret sheet,2025-01-10\r\n",
        filename="bravo-secret.csv",
        now=now,
        token="b" * 64,
        worker="isolation",
    )
    delivery = OutboxMessage.objects.filter(payload__to__icontains="bravo-legal").first()
    assert delivery is not None, "presenting to Bob queued no e-mail"
    return {
        "client": client_b.pk,
        "recommendation": rec_b.pk,
        "ticket": ticket.pk,
        "delivery": delivery.pk,
        "inbound": inbound.message.pk,
        "device": device.pk,
        "stored_report": stored.pk,
        "contact": contact_b.pk,
        "template": template_mfa.pk,
        "staff_user": admin.pk,
        "webhook": webhook.pk,
        "enrollment_token": token.pk,
        "review_item": review.pk,
        "tracker_preview": preview.pk,
    }


# What of client B must never appear in the technician's or contact A's answers.
LEAKS = ("Bravo", "bravo-legal", "BRAVO-SECRET")


def url_for(route: Route | str, objects: dict[str, int] | None, name: str = "") -> str:
    template = route.template if isinstance(route, Route) else route
    route_name = route.name if isinstance(route, Route) else name

    def value(match: re.Match[str]) -> str:
        param = match.group(1)
        if param == "action":
            return ACTION_SLUGS[route_name]
        kind = kind_of(template, param)
        assert kind is not None
        return str(MISSING if objects is None else objects[kind])

    return re.sub(r"{(\w+)}", value, template)


def scoped(route: Route) -> bool:
    """True for a route that names a client's object (not shared, not public)."""
    if route.name in PUBLIC or route.template.startswith("/" + AUTH_PREFIX):
        return False
    kinds = {kind_of(route.template, p) for p in route.params if p != "action"}
    return bool(kinds - SHARED_KINDS - {None})


# ---------------------------------------------------------------------------------------


def test_every_route_is_classified_and_every_api_route_is_documented():
    routes = all_routes()
    problems = [
        f"{r.name} {r.template}: {', '.join(unclassified(r))}" for r in routes if unclassified(r)
    ]
    assert not problems, (
        "routes with a parameter this suite cannot classify (add it to SEGMENT_KINDS, "
        "NAME_KINDS, ACTION_SLUGS or PUBLIC in heeded/tests/test_isolation.py):\n"
        + "\n".join(problems)
    )
    documented = {_same_as_api_paths(path) for _, path in openapi_operations()}
    undocumented = [
        r.template
        for r in routes
        if r.api
        and r.name not in {"api:schema", "api:docs"}
        and _same_as_api_paths(r.template) not in documented
    ]
    assert not undocumented, f"API routes missing from docs/openapi.yaml: {undocumented}"
    assert sum(scoped(r) for r in routes) >= 20  # the walk found the app, not nothing


def _status(client: Any, method: str, url: str) -> int:
    """The status of ``method url`` with an empty body where the method takes one."""
    call = getattr(client, method.lower())
    if method not in {"POST", "PUT", "PATCH"}:
        return call(url).status_code
    if isinstance(client, APIClient):
        return call(url, {}, format="json").status_code
    return call(url, {}).status_code


def test_another_clients_objects_answer_like_missing_ones_on_every_page(world, technician, client):
    client.force_login(technician)
    checked, failures = 0, []
    for route in all_routes():
        if route.api or route.name in PORTAL or not scoped(route):
            continue
        for method in ("GET", "POST"):
            theirs = _status(client, method, url_for(route, world))
            missing = _status(client, method, url_for(route, None))
            checked += 1
            if theirs != missing or theirs < 400 or (method == "GET" and theirs not in {404, 405}):
                failures.append(
                    f"{method} {url_for(route, world)}: {theirs} (missing id: {missing})"
                )
    assert not failures, "\n".join(failures)
    assert checked >= 2 * 14


def test_another_clients_objects_answer_like_missing_ones_on_every_api_operation(
    world, technician, now
):
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(user=technician, name='t', now=now)[1]}"
    )
    operations = [
        (method, path)
        for method, path in openapi_operations()
        if scoped(Route("api:" + path, path, True))
    ]
    failures = []
    for method, path in operations:
        theirs = _status(api, method, url_for(path, world, "api"))
        missing = _status(api, method, url_for(path, None, "api"))
        if theirs != missing or theirs < 400 or (method == "GET" and theirs != 404):
            failures.append(
                f"{method} {url_for(path, world, 'api')}: {theirs} (missing id: {missing})"
            )
    assert not failures, "\n".join(failures)
    assert len(operations) >= 15


def _body(answer: Any) -> bytes:
    """A response's bytes, streamed (CSV exports) or not."""
    if getattr(answer, "streaming", False):
        return b"".join(answer.streaming_content)
    return answer.content


def _leaks(answer: Any) -> list[str]:
    text = _body(answer).decode("utf-8", "replace")
    return [marker for marker in LEAKS if marker.lower() in text.lower()]


def test_lists_filters_and_exports_name_nothing_of_another_client(world, technician, client, now):
    client.force_login(technician)
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(user=technician, name='t', now=now)[1]}"
    )
    b = world["client"]
    asking_for_b = f"?client={b}&client_id={b}&q=NAS&search=NAS&format=csv"
    failures, checked = [], 0
    pages = [r for r in all_routes() if not r.params and not r.api and r.name not in PUBLIC]
    pages = [r for r in pages if not r.template.startswith("/" + AUTH_PREFIX)]
    for route in pages:
        for query in ("", asking_for_b):
            answer = client.get(route.template + query)
            checked += 1
            leaked = _leaks(answer)  # once: a streamed export can be read only once
            if answer.status_code >= 500 or leaked:
                failures.append(f"GET {route.template}{query}: {answer.status_code} {leaked}")
    lists = [p for m, p in openapi_operations() if m == "GET" and "{" not in p]
    for path in lists:
        for query in ("", asking_for_b):
            answer = api.get(path + query)
            checked += 1
            leaked = _leaks(answer)
            if answer.status_code >= 500 or leaked:
                failures.append(f"GET {path}{query}: {answer.status_code} {leaked}")
    assert not failures, "\n".join(failures)
    assert checked >= 2 * 20


def test_anonymous_requests_get_the_sign_in_page_or_401(world, client):
    failures, checked = [], 0
    for route in all_routes():
        if route.name in PUBLIC or route.template.startswith("/" + AUTH_PREFIX):
            continue
        url = url_for(route, world) if route.params else route.template
        for method in ("GET", "POST"):
            answer = (
                APIClient().generic(method, url)
                if route.api
                else getattr(client, method.lower())(url)
            )
            checked += 1
            if route.api:
                good = answer.status_code in {401, 403, 405}
            elif route.name in PORTAL:
                good = answer.status_code in {302, 404, 405} and not _leaks(answer)
            else:
                good = answer.status_code == 405 or (
                    answer.status_code == 302 and answer["Location"].startswith(LOGIN)
                )
            if not good:
                failures.append(f"{method} {url}: {answer.status_code}")
    assert not failures, "\n".join(failures)
    assert checked >= 2 * 40


def test_a_signed_in_client_contact_reaches_no_staff_page_and_no_other_clients_item(
    world, contact_a, client
):
    from answers.views import PORTAL_SESSION_KEY

    # Signed in as the portal's one-time link does (answers/tests/test_portal.py tests
    # the link itself; its rate limit is not this test's subject).
    session = client.session
    session[PORTAL_SESSION_KEY] = contact_a.pk
    session.save()
    failures = []
    for route in all_routes():
        if route.name in PUBLIC or route.template.startswith("/" + AUTH_PREFIX) or route.api:
            continue
        url = url_for(route, world) if route.params else route.template
        answer = client.get(url)
        if route.name in PORTAL:
            good = answer.status_code == 404
        else:
            good = answer.status_code in {302, 405} and (
                answer.status_code == 405 or answer["Location"].startswith(LOGIN)
            )
        if not good or _leaks(answer):
            failures.append(f"GET {url}: {answer.status_code}")
    assert not failures, "\n".join(failures)
    assert client.get("/portal/").status_code == 200  # still signed in: the checks meant it


def test_the_classifier_reads_both_route_styles():
    assert _template("^recommendations/(?P<pk>[0-9]+)/present/$") == "recommendations/{pk}/present/"
    assert _template("clients/<int:client_pk>/meeting/") == "clients/{client_pk}/meeting/"
    assert kind_of("/api/v1/clients/{client_id}/ledger/head/", "client_id") == "client"
    assert kind_of("/reports/delivered/{pk}/", "pk") == "stored_report"
    assert kind_of("/somewhere/{pk}/", "pk") is None
    assert unclassified(Route("web:new_thing", "/widgets/{pk}/", False)) == ["pk"]
