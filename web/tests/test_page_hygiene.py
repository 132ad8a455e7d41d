"""Every staff page answers an admin with 200, leaves no template variable unresolved
and obeys the Content-Security-Policy: no inline script, no inline style, no outside
asset.

The pages are not listed by hand: they come from the URL resolver, so a new staff page
is visited as soon as it is routed. A pattern the test cannot fill or classify fails it:
say in ``PATH_PARAMETERS`` which object of the fixture fills it, or in
``NOT_STAFF_PAGES`` why it is not a staff page.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import product
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db


class InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if "style" in names:
            self.problems.append(f"style attribute on <{tag}>")
        if any(name.startswith("on") for name in names):
            self.problems.append(f"event handler attribute on <{tag}>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and "src" not in names and not _is_data_block(attrs):
            self.problems.append("inline <script>")
        for name, value in attrs:
            if name in {"href", "src", "action"} and value and "//" in value.split("?")[0]:
                self.problems.append(f"external {name}: {value}")


def _is_data_block(attrs) -> bool:
    # A <script type="application/json"> holds data a script reads; browsers never run
    # it, so the Content-Security-Policy does not apply (allauth's e-mail page has one).
    kind = dict(attrs).get("type") or ""
    return kind.split(";")[0].strip().lower() in {"application/json", "application/ld+json"}


def inline_problems(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.problems


# A variable that does not resolve renders as this marker instead of nothing.
INVALID = "@@unresolved:%s@@"
UNRESOLVED = re.compile(r"@@unresolved:([^@]*)@@")

# Optional parameters of included templates, meant to be absent. Django renders the
# marker for them even behind `|default:` (string_if_invalid skips the filters).
OPTIONAL_INCLUDE_PARAMETERS = {
    "label",  # web/_field.html: {{ label|default:field.label }}
}


def unresolved(html: str) -> set[str]:
    return set(UNRESOLVED.findall(html)) - OPTIONAL_INCLUDE_PARAMETERS


@pytest.fixture
def strict_templates(settings):
    templates = copy.deepcopy(django_settings.TEMPLATES)
    templates[0]["OPTIONS"]["string_if_invalid"] = INVALID
    settings.TEMPLATES = templates


# --- which URL patterns are staff pages --------------------------------------------

# Whole URLconfs that hold no staff page, by module.
NOT_STAFF_URLCONFS = {
    # The REST API answers JSON to token holders; api/tests/ cover every endpoint.
    "api.v1.urls": "the API",
    # allauth's login, sign-up, password-reset and 2FA pages; the login page is checked
    # below, the pages a signed-in user reaches from the navigation in
    # test_the_account_pages_of_a_signed_in_user_are_clean.
    "allauth.account.urls": "authentication",
    "allauth.mfa.base.urls": "authentication",
    "allauth.mfa.totp.urls": "authentication",
    "allauth.mfa.recovery_codes.urls": "authentication",
    "allauth.mfa.webauthn.urls": "authentication",
}

# Single patterns that are not staff GET pages, by URL name.
NOT_STAFF_PAGES = {
    # POST-only endpoints: they redirect, or render a staff page that is visited here.
    "web:recommendation_action": "POST only; answers with the recommendation page",
    "web:recommendations_present": "POST only; redirects to the page it came from",
    "followup:ticket_action": "POST only; answers with the ticket page",
    "tracker:tracker_preview": "POST only; rendered by test_the_tracker_preview_is_clean",
    "tracker:tracker_confirm": "POST only; redirects to the tracker page",
    "tracker:tracker_remap": "POST only; the preview again with hand-mapped columns",
    # Signed by the PSA, no session: followup/tests/test_psa_callback.py.
    "followup:psa_callback": "PSA webhook",
    # Public pages behind a signed token, for a client's contacts, not for staff:
    # answers/tests/test_answer_page.py.
    "answers:answer": "public signed link",
    "answers:renew": "public signed link, POST only",
    # The client portal: contacts sign in with their own session key, not as staff;
    # answers/tests/test_portal.py.
    "answers:portal_home": "client portal",
    "answers:portal_sign_in": "client portal",
    "answers:portal_sign_in_link": "client portal",
    "answers:portal_sign_out": "client portal, POST only",
    "answers:portal_recommendation": "client portal",
    # Reports: reports/tests/test_views.py delivers one and downloads it.
    "reports:qbr_deliver": "POST only; redirects to the QBR page",
    "reports:delivered_download": "a stored file (PDF or HTML), not a page",
    # The language switch: POST only, redirects back (answers/tests/test_answer_language.py).
    "set_language": "POST only; redirects to the page it was sent from",
    # Administration: POST-only changes redirect to pages visited here.
    "web:staff_action": "POST only; redirects to the staff account's page",
    "web:client_staff": "POST only; redirects to the client's settings",
    "web:contact_deactivate": "POST only; redirects to the client's settings",
    "web:webhook_disable": "POST only; redirects to the webhooks page",
    # Reached by an invited person without a session: web/tests/test_staff_accounts.py.
    "web:staff_welcome": "public signed set-password link",
    "reports:schedule_set": "POST only; redirects to the QBR page",
    "reports:evidence_pack": "POST only; a zip, not a page",
    # Verification: verification/tests/test_staff_actions.py.
    "verification:collector_download": "the collector script, not a page",
    "verification:token_create": "POST only; rendered by test_the_new_token_page_is_clean",
    "verification:token_revoke": "POST only; redirects to the devices page",
    "verification:review_resolve": "POST only; redirects to the devices page",
    "verification:device_tags": "POST only; redirects to the device page",
}

# How to fill the path parameters of each staff page that has some, from `world`.
PATH_PARAMETERS: dict[str, Callable[[SimpleNamespace], dict[str, object]]] = {
    "web:client_detail": lambda w: {"pk": w.client.pk},
    "web:recommendation_detail": lambda w: {"pk": w.presented.pk},
    "web:recommendation_edit": lambda w: {"pk": w.presented.pk},
    "web:recommendation_timeline": lambda w: {"pk": w.presented.pk},
    "web:client_timeline": lambda w: {"pk": w.client.pk},
    "followup:ticket_detail": lambda w: {"pk": w.ticket.pk},
    "answers:inbound_detail": lambda w: {"pk": w.inbound.pk},
    "answers:meeting_create": lambda w: {"client_pk": w.client.pk},
    "answers:present_batch": lambda w: {"client_pk": w.client.pk},
    "answers:authority_edit": lambda w: {"client_pk": w.client.pk},
    "verification:device_list": lambda w: {"client_id": w.client.pk},
    "verification:device_detail": lambda w: {"pk": w.device.pk},
    "reports:qbr": lambda w: {"pk": w.client.pk},
    "web:staff_detail": lambda w: {"pk": w.technician.pk},
    "web:client_settings": lambda w: {"pk": w.client.pk},
    "web:contact_create": lambda w: {"pk": w.client.pk},
    "web:contact_edit": lambda w: {"pk": w.contact.pk},
    "web:client_policy": lambda w: {"pk": w.client.pk},
    "web:template_detail": lambda w: {"pk": w.template.template_id},
    "web:template_revise": lambda w: {"pk": w.template.template_id},
    # A large sheet's preview, queued for the worker: its progress page and poll.
    "tracker:tracker_preview_show": lambda w: {"pk": w.preview.pk},
    "tracker:tracker_preview_progress": lambda w: {"pk": w.preview.pk},
}

# The query strings a page is visited with, when not only without one ("").
QUERIES: dict[str, Callable[[SimpleNamespace], list[str]]] = {
    "web:recommendation_list": lambda w: ["", f"?client={w.client.pk}&overdue=on"],
    "web:recommendation_create": lambda w: [
        "",
        f"?template={w.template.pk}",
        f"?template={w.template.pk}&client={w.client.pk}&language=it",
        "?adhoc=1",
    ],
    "web:template_list": lambda w: ["", "?q=backup&severity=high&without_italian=on&sort=title"],
    "web:template_detail": lambda w: ["", "?version=1"],
    "web:delivery_list": lambda w: ["", "?status=pending"],
    "web:apply_template": lambda w: ["", f"?template={w.template.pk}"],
    "web:recommendations_applied": lambda w: [f"?id={w.presented.pk}"],
    "followup:ticket_list": lambda w: ["", "?status=all", "?mine=on"],
    "answers:review_queue": lambda w: ["", "?all=1"],
    # Without a format the export form is refused (400): the page is the download.
    "tracker:tracker_export": lambda w: [
        f"?format=csv&language=it&client={w.client.pk}",
        "?format=xlsx&language=en",
    ],
}


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    urlconf: str
    parameters: tuple[str, ...]


def routes(
    patterns=None, prefix: str = "", namespace: str = "", urlconf: str = ""
) -> Iterator[Route]:
    """Every URL pattern the resolver knows, with its namespaced name."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace or "") if n)
            module = getattr(pattern.urlconf_module, "__name__", urlconf)
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern), inner, module)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            regex = pattern.pattern.regex
            parameters = tuple(regex.groupindex) or tuple(f"#{i}" for i in range(regex.groups))
            yield Route(name or "", prefix + str(pattern.pattern), urlconf, parameters)


def staff_routes(all_routes: list[Route]) -> list[Route]:
    return [
        r
        for r in all_routes
        if r.urlconf not in NOT_STAFF_URLCONFS and r.name not in NOT_STAFF_PAGES
    ]


def urls_of(route: Route, world: SimpleNamespace) -> list[str]:
    """The URLs to visit for one staff pattern; fails the test when it cannot say."""
    if not route.name:
        pytest.fail(f"{route.route!r} has no name: name it, so this test can reverse it.")
    kwargs: dict[str, object] = {}
    if route.parameters:
        if route.name not in PATH_PARAMETERS:
            pytest.fail(
                f"{route.name} ({route.route}) takes {', '.join(route.parameters)}: say in "
                "PATH_PARAMETERS which object fills it, or in NOT_STAFF_PAGES why it is no "
                "staff page."
            )
        kwargs = PATH_PARAMETERS[route.name](world)
    url = reverse(route.name, kwargs=kwargs)
    return [url + query for query in QUERIES.get(route.name, lambda w: [""])(world)]


STAFF_ROUTES = staff_routes(list(routes()))


# --- a used database --------------------------------------------------------------------


@pytest.fixture
def world(admin, manager, technician, client_a, contact_a, client_b, contact_b, presented, now):
    """Something on every page: a client with contacts and authority rules, a presented
    recommendation with an open ticket, one decided in a meeting, a draft, deliveries
    waiting, an unverified reply in the review queue."""
    from answers.choices import Outcome
    from answers.models import AnswerLink
    from answers.services.authority import authority_replace
    from answers.services.inbound import inbound_receive
    from answers.services.meetings import MeetingDecision, meeting_record
    from catalog.services import template_create
    from clients.services import contact_create
    from followup.services.tickets import ticket_note_add, ticket_open_or_update
    from recommendations.choices import Decision
    from recommendations.services import recommendation_create, recommendation_present

    chiara = contact_create(
        client=client_a,
        name="Chiara D'Amico",
        email="chiara.damico@acme-dental.example",
        job_title="Responsabile amministrativa",
        is_escalation_contact=True,
        actor=admin,
        now=now,
    )
    authority_replace(
        client=client_a,
        rules={contact_a.pk: ["critical", "high", "medium", "low"], chiara.pk: ["low"]},
        dual_approval_reject_critical=True,
        actor=admin,
        now=now,
    )
    backup = template_create(
        key="offsite-backup",
        title="Keep an immutable off-site backup",
        body="Copy nightly backups to immutable off-site storage.",
        risk_if_ignored="Ransomware can encrypt the only backup.",
        category="backup",
        default_severity="high",
        tags=["backup"],
        custom_fields=[{"key": "servers", "label": "Servers in scope", "type": "number"}],
        now=now,
        actor=admin,
    )
    decided = recommendation_present(
        recommendation=recommendation_create(
            client=client_a,
            template_version=backup,
            actor=admin,
            now=now,
            owner=technician,
            contact=contact_a,
            field_values={"servers": 3},
        ),
        actor=admin,
        now=now,
    )
    meeting, _ = meeting_record(
        client=client_a,
        channel="meeting",
        held_on=now.date(),
        attendees="Alice Rossi, Chiara D'Amico, Ada (MSP)",
        notes="Quarterly review at the practice.",
        decisions=[
            MeetingDecision(
                recommendation=decided,
                decision=Decision.ACCEPTED,
                responder_name="Alice Rossi",
                planned_for=now.date().replace(month=4, day=30),
            )
        ],
        recorded_by=admin,
        now=now,
    )
    draft = recommendation_create(
        client=client_a,
        template_version=backup,
        actor=admin,
        now=now,
        title="Back up the X-ray PCs",
    )
    ticket, _ = ticket_open_or_update(
        recommendation=presented,
        actor="followup",
        now=now,
        note="Escalation level 1: no answer from Alice Rossi.",
        escalation_level=1,
    )
    ticket_note_add(
        ticket=ticket, actor=technician, text="Called Alice: she'll answer Friday.", now=now
    )
    link = AnswerLink.objects.get(contact=contact_a, recommendations=presented)
    raw = (
        "From: Alice Rossi <alice@acme-dental.example>\r\n"
        f"To: replies+{link.reply_token}@heeded.localhost\r\n"
        "Subject: Re: Require MFA for all remote access\r\n"
        "Date: Mon, 02 Mar 2026 09:30:00 +0100\r\n"
        "Message-ID: <hygiene-1@acme-dental.example>\r\n"
        "\r\n"
        "ACCEPT 2026-04-30\r\n"
    ).encode()
    # No DKIM signature and no DNS: kept as unverified evidence, waiting for review.
    inbound = inbound_receive(raw=raw, now=now, dnsfunc=lambda name, timeout=5: None).message
    assert inbound.outcome == Outcome.UNVERIFIED, inbound.reason
    from verification.services import Hotfix, Inventory, inventory_record

    device = inventory_record(
        client=client_a,
        inventory=Inventory(
            machine_guid="3f0c2a4e-9b1d-4c55-8e2f-7a6b1c0d9e21",
            computer_name="STUDIO-D'AMICO",
            os_caption="Microsoft Windows 11 Pro",
            os_build="10.0.26100.7623",
            tags=["workstations"],
            hotfixes=[
                Hotfix("KB5073724", "Security Update", "NT AUTHORITY\\SYSTEM", "1/13/2026"),
                Hotfix("File 1", "Update", "ACME\\José.Núñez", ""),
            ],
        ),
        document_hash="hygiene",
        source="collector",
        now=now,
    ).device
    from tracker.previews import preview_queue

    preview = preview_queue(
        owner=admin,
        data=b"Client,Recommendation,Date made\r\nAcme Dental,Rotate keys,2026-01-10\r\n",
        filename="tracker.csv",
        now=now,
        token="c" * 64,
    )
    return SimpleNamespace(
        preview=preview,
        device=device,
        client=client_a,
        presented=presented,
        decided=decided,
        draft=draft,
        template=backup,
        meeting=meeting,
        ticket=ticket,
        inbound=inbound,
        technician=technician,
        contact=chiara,
    )


# --- the pages -------------------------------------------------------------------------


@pytest.mark.parametrize("route", STAFF_ROUTES, ids=[r.name or r.route for r in STAFF_ROUTES])
def test_every_staff_page_answers_an_admin_with_a_clean_page(
    route, login, admin, world, strict_templates
):
    browser = login(admin)
    # htmx asks list pages for their results only (HX-Request): those fragments too.
    for url, headers in product(urls_of(route, world), [{}, {"HX-Request": "true"}]):
        response = browser.get(url, headers=headers)

        assert response.status_code == 200, (url, headers)
        if response["Content-Type"].startswith("text/html"):
            html = response.content.decode()
            assert inline_problems(html) == [], (url, headers)
            assert unresolved(html) == set(), (url, headers)


def test_an_unresolved_variable_is_caught(strict_templates):
    from django.template import engines

    html = engines["django"].from_string("{{ client.nmae }} {{ label|default:'x' }}").render({})

    assert unresolved(html) == {"client.nmae"}


def test_the_resolver_walk_finds_the_staff_pages_it_must():
    names = {r.name for r in STAFF_ROUTES}

    # Fills and queries that name no routed staff page are stale: drop them.
    assert set(PATH_PARAMETERS) | set(QUERIES) <= names
    assert {n for n in NOT_STAFF_PAGES} <= {r.name for r in routes()}
    assert {r.urlconf for r in routes()} >= set(NOT_STAFF_URLCONFS)
    assert {"web:dashboard", "followup:ticket_list", "tracker:tracker"} <= names


def test_a_staff_page_it_cannot_fill_fails_the_test(world):
    new_page = Route("web:contact_detail", "contacts/<int:pk>/", "web.urls", ("pk",))

    with pytest.raises(pytest.fail.Exception, match=r"web:contact_detail .* takes pk: say in"):
        urls_of(new_page, world)


def test_the_tracker_preview_is_clean(login, admin, world, settings, tmp_path, strict_templates):
    settings.DATA_DIR = tmp_path
    sheet = (
        "Cliente;Raccomandazione;Data;Categoria di risposta;Giustificazione\r\n"
        "Acme Dental;Cifrare i portatili;2025-01-10;Rifiutata;Troppo costoso, se ne riparlerà\r\n"
        "Acme Dental;Backup fuori sede;2025-02-10;;\r\n"
    ).encode()
    upload = SimpleUploadedFile("Tracciamento Acme.csv", sheet, content_type="text/csv")

    response = login(admin).post(reverse("tracker:tracker_preview"), {"file": upload})

    assert response.status_code == 200
    html = response.content.decode()
    assert "dry run of Tracciamento Acme.csv" in html
    assert inline_problems(html) == []
    assert unresolved(html) == set()


def test_the_new_token_page_is_clean(login, admin, world, strict_templates):
    url = reverse("verification:token_create", kwargs={"client_id": world.client.pk})

    response = login(admin).post(url, {"name": "NinjaOne D'Angelo"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "hdc1_" in html
    assert inline_problems(html) == []
    assert unresolved(html) == set()


@pytest.mark.parametrize(
    "name", ["mfa_index", "account_reauthenticate", "account_change_password", "account_email"]
)
def test_the_account_pages_of_a_signed_in_user_are_clean(login, admin, name):
    response = login(admin).get(reverse(name))

    assert response.status_code == 200
    assert inline_problems(response.content.decode()) == []


def test_the_not_found_page_is_clean(login, admin):
    response = login(admin).get("/does-not-exist/")

    assert response.status_code == 404
    assert inline_problems(response.content.decode()) == []


def test_the_login_page_has_no_inline_scripts_or_styles(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert inline_problems(response.content.decode()) == []


def test_pages_send_a_strict_content_security_policy(login, manager):
    policy = login(manager).get("/")["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_the_finder_catches_what_it_looks_for():
    html = (
        '<p style="color:red" onclick="x()"></p><style>p{}</style><script>1</script>'
        '<script src="https://cdn.example/htmx.js"></script>'
    )

    assert len(inline_problems(html)) == 5


def test_the_finder_lets_json_data_blocks_pass_but_not_scripts_typed_otherwise():
    html = (
        '<script type="application/json">{"i18n": {}}</script>'
        '<script type="module">import("x")</script><script type="text/javascript">1</script>'
    )

    assert inline_problems(html) == ["inline <script>", "inline <script>"]


def test_htmx_is_served_from_our_own_static_files(login, manager):
    html = login(manager).get("/").content.decode()

    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in html
    assert '"includeIndicatorStyles": false' in html
